"""The demo's recent social tickets made social threads: the posts the webhook would have recorded
(public mentions threaded by reply chain, or private messages), each agent reply's delivery through
the platform's connector (almost all sent, a few retrying or failed), and the customer's handle as an
identity of the ticket's requester. Bulk rows in the shapes ``receive_post`` and the outbound sender
write, so a new post in reply to a demo thread joins its ticket."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Identity, IdentityKind, User
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.demo.names import slug
from opsdesk.desk.channels.social.actions import handle_identity
from opsdesk.desk.channels.social.models import DeliveryStatus, SocialDelivery, SocialPost
from opsdesk.desk.channels.social.outbound import BACKOFF
from opsdesk.desk.models import AuthorKind, Channel, Message, Ticket

# About a hundred social tickets a day at the demo's default volume: five days is a few hundred threads.
SOCIAL_DAYS = 5
PLATFORMS = ("twitter", "facebook")
PUBLIC_SHARE = 0.6
# Of the latest replies of the last few hours, the share still retrying or failed at the connector.
RECENT = timedelta(hours=3)
RETRYING, FAILED = 0.12, 0.04


class _Ids:
    """Post ids in each platform's own style, unique across the demo."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.n = int(rng.integers(10**6, 10**7))

    def next(self, platform: str) -> str:
        self.n += 1
        return f"17{self.n:017d}" if platform == "twitter" else f"1045882{self.n:09d}_{self.n * 7 % 10**9}"


def create_social_history(
    session: Session, *, rng: np.random.Generator, now: datetime, days: int = SOCIAL_DAYS
) -> int:
    """Threads for the social tickets of the last ``days`` days; returns how many."""
    tickets = session.execute(
        select(Ticket.id, Ticket.requester_id, Ticket.status, User.name)
        .join(User, User.id == Ticket.requester_id)
        .where(Ticket.channel == Channel.SOCIAL, Ticket.created_at >= now - timedelta(days=days))
        .order_by(Ticket.id)
    ).all()
    if not tickets:
        return 0
    messages: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(
        select(Message.id, Message.ticket_id, Message.author_kind, Message.body_text, Message.created_at)
        .where(
            Message.ticket_id >= tickets[0].id, Message.public.is_(True), Message.channel == Channel.SOCIAL
        )
        .order_by(Message.id)
    ):
        messages[row.ticket_id].append(row)
    requester_ids = {t.requester_id for t in tickets}
    known: dict[int, set[str]] = defaultdict(set)  # the social identities people already have
    for user_id, value in session.execute(
        select(Identity.user_id, Identity.value).where(
            Identity.kind == IdentityKind.SOCIAL, Identity.user_id.in_(requester_ids)
        )
    ):
        known[user_id].add(value)
    ids = _Ids(rng)
    identities: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    identity_id, delivery_id = next_id(session, Identity), next_id(session, SocialDelivery)
    threads = 0
    for ticket in tickets:
        transcript = messages.get(ticket.id, [])
        if not transcript or transcript[0].author_kind is not AuthorKind.REQUESTER:
            continue
        threads += 1
        mine = sorted(known[ticket.requester_id])
        if mine:  # someone the desk already knows by a handle writes from it
            platform, handle = mine[0].split(":", 1)
        else:
            platform = PLATFORMS[int(rng.random() < 0.4)]
            handle = f"{slug(ticket.name)[:20]}{ticket.requester_id}"
            identity = handle_identity(platform, handle)
            known[ticket.requester_id].add(identity)
            identities.append(
                {
                    "id": identity_id,
                    "user_id": ticket.requester_id,
                    "kind": IdentityKind.SOCIAL,
                    "value": identity,
                    "created_at": transcript[0].created_at,
                }
            )
            identity_id += 1
        public = bool(rng.random() < PUBLIC_SHARE)
        answering: str | None = None  # the customer's latest post: what an agent reply answers
        chain: str | None = None  # the thread's latest post: what the customer's next post replies to
        for i, message in enumerate(transcript):
            at = message.created_at
            if message.author_kind is not AuthorKind.AGENT:
                post_id = ids.next(platform)
                posts.append(
                    _post(
                        platform,
                        post_id,
                        chain if public else None,
                        ticket.id,
                        message.id,
                        handle,
                        False,
                        public,
                        at,
                    )
                )
                answering = chain = post_id
                continue
            latest = i == len(transcript) - 1 and at > now - RECENT
            draw = rng.random() if latest else 1.0
            delivery = {
                "id": delivery_id,
                "message_id": message.id,
                "platform": platform,
                "in_reply_to_id": answering,
                "recipient_handle": handle,
                "public": public,
                "text": message.body_text,
                "status": DeliveryStatus.SENT,
                "attempts": 1,
                "next_attempt_at": at,
                "claimed_until": None,
                "last_error": None,
                "external_post_id": None,
                "created_at": at,
                "sent_at": None,
            }
            delivery_id += 1
            deliveries.append(delivery)
            if draw < FAILED:  # the platform refused it: the agent sees why on the ticket
                reason = "403" if not public else "404"
                error = f"the connector answered {reason}"
                delivery |= {"status": DeliveryStatus.FAILED, "last_error": error}
                continue
            if draw < FAILED + RETRYING:  # the connector is down: retried with backoff
                attempts = int(rng.integers(1, 4))
                due = at + sum(BACKOFF[:attempts], timedelta())
                delivery |= {
                    "status": DeliveryStatus.PENDING,
                    "attempts": attempts,
                    "next_attempt_at": max(due, now + timedelta(seconds=30)),
                    "last_error": "the connector answered 503",
                }
                continue
            retried = rng.random() < 0.05
            sent_at = min(now, at + (BACKOFF[0] if retried else timedelta(seconds=int(rng.integers(1, 20)))))
            external = ids.next(platform)
            delivery |= {"attempts": 2 if retried else 1, "sent_at": sent_at, "external_post_id": external}
            posts.append(
                _post(platform, external, answering, ticket.id, message.id, "", True, public, sent_at)
            )
            chain = external
    first_post = next_id(session, SocialPost)
    for offset, post in enumerate(posts):
        post["id"] = first_post + offset
    bulk_insert(session, Identity, identities)
    bulk_insert(session, SocialPost, posts)
    bulk_insert(session, SocialDelivery, deliveries)
    return threads


def _post(
    platform: str,
    post_id: str,
    in_reply_to_id: str | None,
    ticket_id: int,
    message_id: int,
    handle: str,
    from_brand: bool,
    public: bool,
    at: datetime,
) -> dict[str, Any]:
    """A ``social_posts`` row as the webhook (a customer's post) or the sender (ours) records it."""
    return {
        "platform": platform,
        "post_id": post_id,
        "in_reply_to_id": in_reply_to_id,
        "ticket_id": ticket_id,
        "message_id": message_id,
        "author_handle": handle,
        "from_brand": from_brand,
        "public": public,
        "posted_at": at,
        "created_at": at,
    }
