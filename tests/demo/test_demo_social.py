"""The demo's recent social tickets are social threads: posts by the requester's handle threaded by
reply chain, each agent reply with its delivery, and a new post in reply to a thread joins its ticket
through the webhook's own action."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Identity, IdentityKind
from opsdesk.demo.loader import load_demo
from opsdesk.desk.channels.social.actions import receive_post
from opsdesk.desk.channels.social.models import DeliveryStatus, SocialDelivery, SocialPost
from opsdesk.desk.channels.social.schemas import SocialPostIn
from opsdesk.desk.models import AuthorKind, Channel, Message, Ticket


def test_recent_social_tickets_are_threads_with_deliveries(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    counts = load_demo(
        session_factory,
        clock=clock,
        organisations=100,
        tickets_per_day=40,
        history_days=20,
        success_accounts=50,
    )
    assert counts["social threads"] >= 10
    posts = db.scalars(select(SocialPost).order_by(SocialPost.id)).all()
    assert len({p.ticket_id for p in posts}) == counts["social threads"]
    assert {p.platform for p in posts} <= {"twitter", "facebook"}
    assert {p.public for p in posts} == {True, False}  # public mentions and private messages
    by_id = {(p.platform, p.post_id): p for p in posts}
    owners = {
        value: user_id
        for value, user_id in db.execute(
            select(Identity.value, Identity.user_id).where(Identity.kind == IdentityKind.SOCIAL)
        )
    }
    for post in posts:
        ticket = db.get_one(Ticket, post.ticket_id)
        assert ticket.channel is Channel.SOCIAL
        message = db.get_one(Message, post.message_id)
        assert message.ticket_id == ticket.id
        if post.from_brand:
            assert message.author_kind is AuthorKind.AGENT
        else:  # the handle is an identity of the ticket's requester
            assert message.author_kind is AuthorKind.REQUESTER
            assert owners[f"{post.platform}:{post.author_handle}"] == ticket.requester_id
        if post.in_reply_to_id is not None:  # a reply chain never leaves its ticket
            assert by_id[(post.platform, post.in_reply_to_id)].ticket_id == ticket.id
    chained = [p for p in posts if p.public and not p.from_brand and p.in_reply_to_id]
    assert chained  # customers answer our posts
    deliveries = db.scalars(select(SocialDelivery)).all()
    assert Counter(d.status for d in deliveries)[DeliveryStatus.SENT] > len(deliveries) * 0.8
    brand = {(p.platform, p.post_id) for p in posts if p.from_brand}
    for d in deliveries:
        assert db.get_one(Message, d.message_id).author_kind is AuthorKind.AGENT
        assert (d.status is DeliveryStatus.SENT) == ((d.platform, d.external_post_id) in brand)

    # A customer answers the latest post of a public thread: the webhook's action files it there.
    thread = next(p for p in reversed(posts) if p.public and p.from_brand)
    ticket = db.get_one(Ticket, thread.ticket_id)
    handle = next(p.author_handle for p in posts if p.ticket_id == ticket.id and not p.from_brand)
    before = db.query(Ticket).count()
    answer = SocialPostIn(
        platform=thread.platform,
        post_id="demo-answer-1",
        in_reply_to_id=thread.post_id,
        author_handle=f"@{handle}",
        text="Thanks, that worked",
        public=True,
        posted_at=clock.now(),
    )
    recorded = receive_post(db, post=answer, clock=clock)
    db.commit()
    assert db.query(Ticket).count() in (before, before + 1)  # a closed ticket gets a follow-up
    got = db.get_one(Ticket, recorded.ticket_id)
    assert got.id == ticket.id or got.follow_up_of_id == ticket.id
    assert got.requester_id == ticket.requester_id
