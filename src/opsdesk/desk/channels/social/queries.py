"""Reads of the social channel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.desk.channels.social.models import SocialDelivery
from opsdesk.desk.models import Message, Ticket


def deliveries_of(session: Session, ticket: Ticket) -> list[SocialDelivery]:
    """The ticket's outbound replies, oldest first."""
    return list(
        session.scalars(
            select(SocialDelivery)
            .join(Message, Message.id == SocialDelivery.message_id)
            .where(Message.ticket_id == ticket.id)
            .order_by(SocialDelivery.id)
        )
    )
