"""Support signals per organisation from real tickets and their events, as known at a window's end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, Tier
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel, Status
from opsdesk.insights.account_signals import organisation_signals
from tests.factories import make_user


def test_counts_created_open_escalated_and_breached_in_the_window(db: Session, clock: FixedClock) -> None:
    acme = core.create_organisation(db, name="Acme", clock=clock)
    other = core.create_organisation(db, name="Other", clock=clock)
    quiet = core.create_organisation(db, name="Quiet", clock=clock)
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com", tier=Tier.L1)
    alice = make_user(db, clock, Role.REQUESTER, email="alice@acme.test", organisation=acme)
    bob = make_user(db, clock, Role.REQUESTER, email="bob@other.test", organisation=other)
    start = clock.now()

    def ticket(requester, subject):  # type: ignore[no-untyped-def]
        return desk.create_ticket(
            db, requester=requester, subject=subject, body_text="help", channel=Channel.EMAIL, clock=clock
        )

    old = ticket(alice, "before the window")  # created before: counts as open, not as created
    clock.advance(timedelta(days=2))
    solved = ticket(alice, "solved in the window")
    escalated = ticket(alice, "escalated")
    desk.escalate(db, ticket=escalated, reason="needs an engineer", actor=agent, clock=clock)
    append_event(db, subject_type="ticket", subject_id=escalated.id, type="sla_breached", at=clock.now())
    ticket(bob, "another customer")
    clock.advance(timedelta(hours=1))
    desk.change_status(db, ticket=solved, to=Status.SOLVED, actor=agent, clock=clock)
    clock.advance(timedelta(days=1))
    end = clock.now()
    ticket(alice, "after the window")
    desk.escalate(db, ticket=old, reason="late", actor=agent, clock=clock)
    db.flush()

    signals = organisation_signals(
        db, [acme.id, other.id, quiet.id], start=start + timedelta(days=1), end=end
    )
    assert signals[acme.id].tickets_created == 2
    assert signals[acme.id].tickets_open == 2  # "before the window" and "escalated"
    assert signals[acme.id].escalations == 1
    assert signals[acme.id].sla_breaches == 1
    assert signals[acme.id].csat_pct is None
    assert signals[other.id].tickets_created == 1 and signals[other.id].escalations == 0
    assert signals[quiet.id].tickets_created == 0 and signals[quiet.id].tickets_open == 0
    # Looking back from before the solve, the solved ticket was still open.
    earlier = organisation_signals(db, [acme.id], start=start, end=start + timedelta(days=2, minutes=30))
    assert earlier[acme.id].tickets_open == 3
    assert organisation_signals(db, [], start=start, end=end) == {}
