"""Inbound social posts: each joins the ticket of its reply chain (or starts one), by a requester
found by their handle on that platform."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock, FixedClock
from opsdesk.core.errors import Conflict
from opsdesk.core.models import IdentityKind
from opsdesk.desk import actions
from opsdesk.desk.channels.social.models import SocialPost
from opsdesk.desk.channels.social.schemas import SocialPostIn
from opsdesk.desk.models import UNSOLVED, AuthorKind, Channel, Status, Ticket
from opsdesk.desk.requesters import find_or_create_requester

# A reply chain longer than this is followed no further (a loop in bad data must not spin).
MAX_CHAIN = 1000
SUBJECT_LENGTH = 80


def handle_identity(platform: str, handle: str) -> str:
    return f"{platform}:{handle}"


def _post(session: Session, platform: str, post_id: str) -> SocialPost | None:
    return session.scalars(
        select(SocialPost).where(SocialPost.platform == platform, SocialPost.post_id == post_id)
    ).first()


def _thread(session: Session, post: SocialPostIn) -> tuple[Ticket | None, list[SocialPost]]:
    """The ticket of the nearest post up the reply chain that has one, and the ticketless posts passed
    on the way (a thread our own account started before any customer spoke)."""
    passed: list[SocialPost] = []
    parent_id = post.in_reply_to_id
    while parent_id is not None and len(passed) < MAX_CHAIN:
        parent = _post(session, post.platform, parent_id)
        if parent is None:
            break
        if parent.ticket_id is not None:
            return session.get_one(Ticket, parent.ticket_id), passed
        passed.append(parent)
        parent_id = parent.in_reply_to_id
    if post.in_reply_to_id is None and not post.public and not post.from_brand:
        # A private message without a reply id continues the sender's open conversation.
        earlier = session.scalars(
            select(SocialPost)
            .join(Ticket, Ticket.id == SocialPost.ticket_id)
            .where(
                SocialPost.platform == post.platform,
                SocialPost.author_handle == post.author_handle.lower().lstrip("@"),
                SocialPost.public.is_(False),
                Ticket.status.in_(UNSOLVED),
            )
            .order_by(SocialPost.id.desc())
            .limit(1)
        ).first()
        if earlier is not None:
            return session.get_one(Ticket, earlier.ticket_id), passed
    return None, passed


def _subject(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUBJECT_LENGTH else line[: SUBJECT_LENGTH - 1] + "…"


def receive_post(session: Session, *, post: SocialPostIn, clock: Clock) -> SocialPost:
    """Record ``post`` once (a repeat returns the first record) on its thread's ticket. The ticket and
    message carry the post's own time (never later than now), so reply times are the platform's."""
    known = _post(session, post.platform, post.post_id)
    if known is not None:
        return known
    handle = post.author_handle.lower().lstrip("@")
    at: datetime = min(post.posted_at, clock.now())
    when = FixedClock(at)
    ticket, passed = _thread(session, post)
    message_id = None
    if post.from_brand:
        if ticket is not None and ticket.status is not Status.CLOSED:
            message_id = actions.add_message(
                session,
                ticket=ticket,
                author=None,
                author_kind=AuthorKind.AGENT,
                public=True,  # a private message is private on the platform, not an internal note
                channel=Channel.SOCIAL,
                clock=when,
                body_text=post.text,
                deliver=False,
            ).id
    else:
        requester = find_or_create_requester(
            session,
            kind=IdentityKind.SOCIAL,
            value=handle_identity(post.platform, handle),
            name=post.author_name or f"@{handle}",
            clock=clock,
        )
        if ticket is not None and ticket.status is not Status.CLOSED:
            message = actions.add_message(
                session,
                ticket=ticket,
                author=requester,
                author_kind=AuthorKind.REQUESTER,
                public=True,  # a private message is private on the platform, not an internal note
                channel=Channel.SOCIAL,
                clock=when,
                body_text=post.text,
            )
        else:
            ticket = actions.create_ticket(
                session,
                requester=requester,
                subject=_subject(post.text),
                body_text=post.text,
                channel=Channel.SOCIAL,
                clock=when,
                follow_up_of=ticket,
            )
            message = ticket.messages[0]
        message_id = message.id
        for earlier in passed:
            earlier.ticket_id = ticket.id
    record = SocialPost(
        platform=post.platform,
        post_id=post.post_id,
        in_reply_to_id=post.in_reply_to_id,
        ticket_id=ticket.id if ticket is not None else None,
        message_id=message_id,
        author_handle=handle,
        from_brand=post.from_brand,
        public=post.public,
        posted_at=post.posted_at,
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:  # the same post delivered twice at once: let the sender retry
        raise Conflict("this post is being recorded by another delivery; retry", field="post_id") from exc
    return record
