"""Reads of the phone channel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.desk.channels.phone.models import Call


def call_for_update(session: Session, call_id: int) -> Call | None:
    """The call, locked for a change of its state (the webhook may be moving it at the same time)."""
    return session.scalars(select(Call).where(Call.id == call_id).with_for_update()).first()
