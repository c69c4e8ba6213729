"""The platform's length limit for an agent's public reply, known before it is sent: the composer
counts down to it and the server refuses a reply over it, so an agent never learns of it from a
failed delivery minutes later."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.desk.channels.social.models import SocialPost
from opsdesk.desk.models import Channel, Ticket


@dataclass(frozen=True)
class ReplyLimit:
    platform: str
    max_length: int


def public_reply_limit(session: Session, ticket: Ticket, settings: Settings) -> ReplyLimit | None:
    """The limit when an agent's reply on ``ticket`` would go out as a public post: the ticket is
    social, its latest customer post (the one a reply answers) is public, and the platform has a
    connector. None otherwise (a private message or an email reply has no such limit)."""
    if ticket.channel is not Channel.SOCIAL:
        return None
    latest = session.execute(
        select(SocialPost.platform, SocialPost.public)
        .where(SocialPost.ticket_id == ticket.id, SocialPost.from_brand.is_(False))
        .order_by(SocialPost.posted_at.desc(), SocialPost.id.desc())
        .limit(1)
    ).first()
    if latest is None or not latest.public:
        return None
    connector = settings.social_connectors.get(latest.platform)
    return ReplyLimit(latest.platform, connector.max_length) if connector is not None else None


def check_public_reply(
    session: Session, *, ticket: Ticket, text: str, settings: Settings, field: str
) -> None:
    """Refuse (naming ``field``) a public reply longer than the platform takes."""
    limit = public_reply_limit(session, ticket, settings)
    if limit is not None and len(text) > limit.max_length:
        raise ValidationFailed(
            f"{field}: {len(text)} characters is over {limit.platform}'s limit of {limit.max_length} "
            "for a public reply",
            field=field,
        )
