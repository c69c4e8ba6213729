"""An organisation's desk timeline for the account 360 page: openings, solves and ratings in the window,
newest first, with sensitive subjects hidden from readers without sensitive access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, Tier
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel, Status
from opsdesk.insights.account_timeline import HIDDEN_SUBJECT, organisation_timeline
from tests.factories import make_user


def test_tickets_solves_and_ratings_newest_first_with_sensitive_subjects_hidden(
    db: Session, clock: FixedClock
) -> None:
    acme = core.create_organisation(db, name="Acme", clock=clock)
    other = core.create_organisation(db, name="Other", clock=clock)
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com", tier=Tier.L1)
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    privacy = core.create_group(db, name="Privacy", tier=None, sensitive_access=True)
    cleared = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@example.com")
    core.add_to_group(db, group=privacy, user=cleared, clock=clock)
    alice = make_user(db, clock, Role.REQUESTER, email="alice@acme.test", organisation=acme)
    bob = make_user(db, clock, Role.REQUESTER, email="bob@other.test", organisation=other)

    def ticket(requester, subject, sensitive=False):  # type: ignore[no-untyped-def]
        return desk.create_ticket(
            db,
            requester=requester,
            subject=subject,
            body_text="help",
            channel=Channel.EMAIL,
            sensitive=sensitive,
            clock=clock,
        )

    since = clock.now()
    ticket(alice, "too old")
    clock.advance(timedelta(days=1))
    since = clock.now()
    first = ticket(alice, "Invoice question")
    clock.advance(timedelta(hours=2))
    claim = ticket(alice, "Claim for a member's diagnosis", sensitive=True)
    ticket(bob, "another customer")
    clock.advance(timedelta(hours=1))
    desk.change_status(db, ticket=first, to=Status.SOLVED, actor=agent, clock=clock)
    clock.advance(timedelta(minutes=30))
    append_event(
        db,
        subject_type="ticket",
        subject_id=first.id,
        type="csat_received",
        at=clock.now(),
        data={"rating": "good", "score": 5, "scale": "one_to_five", "via": "email", "comment": False},
    )
    db.flush()

    moments = organisation_timeline(db, acme.id, reader=csm, since=since)
    assert [(m.kind, m.ticket_number) for m in moments] == [
        ("csat_received", first.id),
        ("ticket_solved", first.id),
        ("ticket_opened", claim.id),
        ("ticket_opened", first.id),
    ]
    assert moments[0].detail == "good (5/5)"
    assert {m.subject for m in moments if m.ticket_number == claim.id} == {HIDDEN_SUBJECT}
    db.refresh(cleared)
    seen = organisation_timeline(db, acme.id, reader=cleared, since=since)
    assert "Claim for a member's diagnosis" in {m.subject for m in seen}
