"""Follow-the-sun hand-over at a site's shift end: tickets waiting on the team move to the next site on
shift with a note; tickets waiting on the customer stay, and a chat in progress is not cut."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event
from opsdesk.desk import actions
from opsdesk.desk.channels.chat.models import ChatConversation, ChatState
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from opsdesk.desk.routing.dispatch import drain
from opsdesk.desk.routing.handover import check_shifts
from opsdesk.desk.routing.models import Handover, SiteShift
from opsdesk.desk.routing.queries import handovers_since
from opsdesk.desk.sla.actions import create_business_schedule
from tests.desk.routing.helpers import agent, requester, switch_on, ticket


def test_shift_end_hands_over_waiting_work_with_a_note(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # Dublin open (08-17 UTC), Chicago open (14-23)
    switch_on(db, clock)
    sites = {}
    for name, zone, start, end in (
        ("Dublin", "Europe/Dublin", "08:00", "17:00"),
        ("Chicago", "America/Chicago", "08:00", "17:00"),
    ):
        site = core_actions.create_site(db, name=name, timezone=zone)
        hours = create_business_schedule(
            db,
            name=name,
            timezone=zone,
            actor=None,
            clock=clock,
            intervals=[{"weekday": d, "start": start, "end": end} for d in range(7)],
        )
        db.add(SiteShift(site_id=site.id, schedule_id=hours.id, on_shift=False, checked_at=None))
        sites[name] = site
    dublin = agent(db, clock, site=sites["Dublin"], capacity={"ticket": 5, "chat": 5})
    chicago = agent(db, clock, site=sites["Chicago"], capacity={"ticket": 5, "chat": 5})
    who = requester(db, clock)
    check_shifts(db, clock=clock)
    waiting, answered, pending = (ticket(db, clock, who) for _ in range(3))
    chat = ticket(db, clock, who, channel=Channel.CHAT)
    for t in (waiting, answered, pending, chat):
        actions.assign(db, ticket=t, assignee=dublin, actor=None, clock=clock)
    actions.add_message(
        db,
        ticket=answered,
        author=dublin,
        author_kind=AuthorKind.AGENT,
        public=True,
        channel=Channel.EMAIL,
        clock=clock,
        body_text="We are checking with billing.",
    )
    actions.add_message(
        db,
        ticket=answered,
        author=who,
        author_kind=AuthorKind.REQUESTER,
        public=True,
        channel=Channel.EMAIL,
        clock=clock,
        body_text="Thanks, I need this before Friday's payroll.",
    )
    actions.change_status(db, ticket=pending, to=Status.PENDING, actor=dublin, clock=clock)
    db.add(
        ChatConversation(
            ticket_id=chat.id,
            token_hash=hashlib.sha256(b"t").hexdigest(),
            state=ChatState.ACTIVE,
            agent_id=dublin.id,
            visitor_name="Visitor",
            started_at=clock.now(),
        )
    )
    db.commit()

    clock.set(datetime(2026, 3, 2, 17, 1, tzinfo=UTC))  # Dublin's shift is over; Chicago's goes on
    handed = check_shifts(db, clock=clock)
    db.commit()
    assert {h.ticket_id for h in handed} == {waiting.id, answered.id}
    note = db.scalars(select(Handover).where(Handover.ticket_id == answered.id)).one().note
    assert note["last_customer_message"] == "Thanks, I need this before Friday's payroll."
    assert note["pending"] == "reply to the customer's latest message"
    assert note["to_site"] == "Chicago" and "sla_due_at" in note
    event = db.scalars(select(Event).where(Event.type == "handed_over", Event.subject_id == waiting.id)).one()
    assert event.data["to_site_id"] == sites["Chicago"].id and event.data["note"]["pending"]
    db.expire_all()
    assert db.get_one(Ticket, pending.id).assignee_id == dublin.id  # waits on the customer: stays
    assert db.get_one(Ticket, chat.id).assignee_id == dublin.id  # chat in progress: not cut

    drain(session_factory, clock=clock)
    db.expire_all()
    assert db.get_one(Ticket, waiting.id).assignee_id == chicago.id
    assert db.get_one(Ticket, answered.id).assignee_id == chicago.id
    [dublin_report] = [
        r for r in handovers_since(db, clock.now() - timedelta(hours=1)) if r.site.name == "Dublin"
    ]
    assert len(dublin_report.handed) == 2 and len(dublin_report.still_open) == 2

    # Checking again in the same off-shift hours hands nothing over twice.
    clock.advance(timedelta(minutes=5))
    assert check_shifts(db, clock=clock) == []
