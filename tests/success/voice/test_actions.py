"""Escalations, NPS responses and feedback on real databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import PriceModel
from opsdesk.success.voice import actions, queries
from opsdesk.success.voice.models import EscalationStatus, RequestStatus, Severity
from tests.factories import make_user
from tests.success.playbooks.test_engine import book


def test_escalation_lifecycle_timeline_and_ticket_links(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    sponsor = make_user(db, clock, Role.CS_LEAD, email="vp@example.com")
    escalation = actions.open_escalation(
        db,
        account=account,
        severity=Severity.SEV2,
        title="Claims feed failing",
        clock=clock,
        executive_sponsor=sponsor,
        ticket_numbers=[42, 17, 42],
    )
    assert escalation.owner_id == account.owner_id  # the CSM by default
    assert [t.ticket_number for t in escalation.tickets] == [17, 42]
    clock.advance(timedelta(hours=2))
    actions.add_timeline_note(
        db,
        escalation=escalation,
        note="Call with their HRIS vendor",
        clock=clock,
        at=clock.now() - timedelta(hours=1),
    )
    with pytest.raises(ValidationFailed):
        actions.add_timeline_note(
            db, escalation=escalation, note="x", clock=clock, at=clock.now() + timedelta(1)
        )
    actions.update_escalation(
        db, escalation=escalation, severity=Severity.SEV1, clock=clock, ticket_numbers=[42, 99]
    )
    clock.advance(timedelta(hours=5))
    actions.update_escalation(
        db, escalation=escalation, status=EscalationStatus.MITIGATED, note="workaround", clock=clock
    )
    clock.advance(timedelta(days=2))
    actions.update_escalation(db, escalation=escalation, status=EscalationStatus.RESOLVED, clock=clock)
    db.commit()
    db.expire_all()
    assert [t.ticket_number for t in escalation.tickets] == [42, 99]
    assert [(e.kind, e.note) for e in escalation.entries] == [
        ("status", "opened as sev2"),
        ("note", "Call with their HRIS vendor"),
        ("severity", "severity sev2 -> sev1"),
        ("status", "status open -> mitigated: workaround"),
        ("status", "status mitigated -> resolved"),
    ]
    assert escalation.mitigated_at is not None and escalation.resolved_at == clock.now()
    types = db.scalars(select(Event.type).where(Event.type.like("escalation%")).order_by(Event.id)).all()
    assert types == [
        "escalation_opened",
        "escalation_severity_changed",
        "escalation_mitigated",
        "escalation_resolved",
    ]
    assert [e.id for e in queries.escalations(db, ticket_number=99)] == [escalation.id]
    assert queries.escalations(db, ticket_number=17) == []
    assert queries.escalations(db, status=EscalationStatus.OPEN) == []


def test_nps_response_replay_and_bounds(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    first = actions.record_nps_response(
        db, account=account, score=3, responded_at=clock.now(), clock=clock, external_id="survey-1"
    )
    again = actions.record_nps_response(
        db, account=account, score=3, responded_at=clock.now(), clock=clock, external_id="survey-1"
    )
    assert again.id == first.id
    assert len(db.scalars(select(Event).where(Event.type == "nps_response_recorded")).all()) == 1
    with pytest.raises(ValidationFailed):
        actions.record_nps_response(db, account=account, score=11, responded_at=clock.now(), clock=clock)


def test_feedback_ranking_uses_arr_on_the_day(db: Session, clock: FixedClock) -> None:
    big = book(db, clock)  # 1000 lives at 3.00 PEPM: 36,000.00 ARR
    small = success.create_account(db, name="Tiny Co", covered_lives=40, clock=clock)
    contracts.save_subscription(
        db,
        account=small,
        start=date(2025, 1, 1),
        end=date(2026, 12, 31),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=500_000,
        clock=clock,
    )
    sso = actions.create_request(db, title="SSO", product_area_name="Platform", clock=clock)
    content = actions.create_request(db, title="Spanish content", product_area_name="Content", clock=clock)
    actions.add_ask(db, request=sso, account=small, clock=clock, ticket_number=7)
    actions.add_ask(db, request=content, account=big, clock=clock)
    actions.add_ask(db, request=content, account=small, clock=clock)
    with pytest.raises(Conflict):
        actions.add_ask(db, request=sso, account=small, clock=clock)
    db.commit()
    areas, requests = queries.ranking(db, on=clock.now().date())
    assert requests["title"].tolist() == ["Spanish content", "SSO"]
    assert requests["arr_cents"].tolist() == [3_600_000 + 500_000, 500_000]
    assert requests["covered_lives"].tolist() == [1040, 40]
    assert areas["product_area"].tolist() == ["Content", "Platform"]
    # After the big account's term ends its ARR no longer weighs in.
    _areas, later = queries.ranking(db, on=date(2026, 6, 1))
    assert later["arr_cents"].tolist() == [500_000, 500_000]
    actions.update_request(db, request=content, status=RequestStatus.SHIPPED, clock=clock)
    _areas, open_only = queries.ranking(db, on=clock.now().date())
    assert open_only["title"].tolist() == ["SSO"]
    shipped = db.scalars(select(Event.subject_id).where(Event.type == "feedback_status_changed")).all()
    assert sorted(shipped) == sorted([big.id, small.id])
