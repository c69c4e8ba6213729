"""Rows waiting to be sent (outbound replies, CSAT surveys, NPS invitations): which are due, and taking
one for this run. A row is claimed by one conditional UPDATE that counts the attempt and leases the row,
so runs that overlap (two workers, a run that outlived its schedule) never send a row twice."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

CLAIM_LEASE = timedelta(minutes=10)  # a claimed row no run finished is due again after this


def due_ids(session: Session, model: Any, *, pending: Any, now: datetime, limit: int) -> list[int]:
    """Ids of ``model`` rows in the ``pending`` status whose next attempt is due, oldest first."""
    return list(
        session.scalars(
            select(model.id)
            .where(model.status == pending, model.next_attempt_at <= now)
            .order_by(model.id)
            .limit(limit)
        )
    )


def claim(session: Session, model: Any, row_id: int, *, pending: Any, now: datetime) -> Any | None:
    """The row, taken for this run (its attempt counted, leased for CLAIM_LEASE), or None when another
    run took it or it is no longer due."""
    claimed = session.execute(
        update(model)
        .where(model.id == row_id, model.status == pending, model.next_attempt_at <= now)
        .values(attempts=model.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get_one(model, row_id, populate_existing=True)


def record_failure(
    session: Session,
    model: Any,
    row_id: int,
    exc: Exception,
    *,
    retry_after: Sequence[timedelta],
    failed: Any,
    now: datetime,
) -> bool:
    """Note a failed attempt on the row: due again after its attempt's delay, or ``failed`` once the
    delays are used up. Returns whether the SMTP connection may send the next row: only when the server
    refused this message (a connection that broke or timed out is given up for this run)."""
    row = session.get_one(model, row_id)
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if row.attempts > len(retry_after):
        row.status = failed
    else:
        row.next_attempt_at = now + retry_after[row.attempts - 1]
    return isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)
