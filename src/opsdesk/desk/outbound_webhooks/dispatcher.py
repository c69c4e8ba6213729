"""Turning new events into deliveries, exactly once: one transaction reads the events after the stored
cursor, writes their deliveries and moves the cursor. A process killed at any point either committed all
three or none (the next run reads the same events again); two dispatchers serialise on the cursor row,
and the unique (subscription, event) key refuses a second delivery of the same event outright.

Event ids are taken when a transaction inserts, not when it commits: on PostgreSQL an id below the
newest visible one may still be in flight. The cursor stops before such a hole and waits up to
GAP_GRACE (wall time) for it to fill before deciding the transaction rolled back and moving past it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from opsdesk.core.clock import Clock
from opsdesk.core.models import Event
from opsdesk.desk.models import Ticket
from opsdesk.desk.outbound_webhooks.models import (
    DeliveryStatus,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from opsdesk.desk.outbound_webhooks.payloads import (
    AUTOMATION_REQUEST,
    OWN_EVENT_PREFIX,
    body_for,
    ticket_ids_of,
)

CURSOR = "events"
BATCH = 500
GAP_GRACE = timedelta(seconds=30)


def latest_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


def _locked_cursor(session: Session) -> WebhookCursor:
    """The cursor row, locked for this transaction. Made on first use where the oldest subscription
    starts (the newest event when there is none), so no history is sent and nothing is skipped."""
    cursor = session.get(WebhookCursor, CURSOR, with_for_update=True, populate_existing=True)
    if cursor is not None:
        return cursor
    start = session.scalar(select(func.min(WebhookSubscription.after_event_id)))
    try:
        with session.begin_nested():
            session.add(
                WebhookCursor(name=CURSOR, last_event_id=latest_event_id(session) if start is None else start)
            )
    except IntegrityError:
        pass  # another dispatcher created it first
    return session.get_one(WebhookCursor, CURSOR, with_for_update=True, populate_existing=True)


def _wants(subscription: WebhookSubscription, event: Event) -> bool:
    if event.id <= subscription.after_event_id:
        return False
    if event.type == AUTOMATION_REQUEST:
        return (event.data or {}).get("subscription") == subscription.name
    return "*" in subscription.event_types or event.type in subscription.event_types


def dispatch(
    session: Session,
    *,
    clock: Clock,
    limit: int = BATCH,
    grace: timedelta = GAP_GRACE,
    wall: datetime | None = None,
) -> int:
    """Enqueue deliveries for the next events after the cursor in the caller's transaction; the number
    enqueued. The caller commits (and on SQLite declared the transaction a write, so the lock is held
    from the start)."""
    cursor = _locked_cursor(session)
    after = cursor.last_event_id
    events = list(
        session.scalars(
            select(Event)
            .where(Event.id > after, ~Event.type.startswith(OWN_EVENT_PREFIX, autoescape=True))
            .order_by(Event.id)
            .limit(limit)
        )
    )
    # Own events are left out of the read, so their ids look like holes: read the ids alone to tell.
    ids = list(session.scalars(select(Event.id).where(Event.id > after).order_by(Event.id).limit(limit)))
    taken_ids = _contiguous_ids(ids, after, cursor, wall or datetime.now(UTC), grace)
    if not taken_ids:
        return 0
    last = taken_ids[-1]
    taken = [e for e in events if e.id <= last]
    subscriptions = list(
        session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))
    )
    now = clock.now()
    wanted = [(e, s) for e in taken for s in subscriptions if _wants(s, e)]
    ticket_ids = {i for e, _ in wanted for i in ticket_ids_of(e)}
    tickets = (
        {
            t.id: t
            for t in session.scalars(
                select(Ticket).where(Ticket.id.in_(ticket_ids)).options(selectinload(Ticket.tag_rows))
            )
        }
        if ticket_ids
        else {}
    )
    for event, subscription in wanted:
        session.add(
            WebhookDelivery(
                subscription_id=subscription.id,
                event_id=event.id,
                event_type=event.type,
                message_id=f"msg_{subscription.id}_{event.id}",
                body=body_for(event, tickets, allow_sensitive=subscription.allow_sensitive),
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    cursor.last_event_id = last
    session.flush()
    return len(wanted)


def _contiguous_ids(
    ids: list[int], after: int, cursor: WebhookCursor, wall: datetime, grace: timedelta
) -> list[int]:
    """The ids up to the first hole, or all of them once the hole has waited ``grace``."""
    expected = after + 1
    for index, event_id in enumerate(ids):
        if event_id != expected:
            if cursor.gap_seen_at is None:
                cursor.gap_seen_at = wall
                return ids[:index]
            if wall - cursor.gap_seen_at < grace:
                return ids[:index]
            cursor.gap_seen_at = None
            return ids
        expected += 1
    cursor.gap_seen_at = None
    return ids
