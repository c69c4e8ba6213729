"""Desk CSAT feeds the account's health: ratings recorded on the linked organisation's tickets move the
csat measure, outrank an imported csat figure, and a changed rating counts once, as it stands."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.desk.surveys.actions import record_rating
from opsdesk.desk.surveys.scale import Scale, Via
from opsdesk.insights.account_signals import organisation_signals
from opsdesk.success.health import actions, queries
from opsdesk.success.health.models import SignalKind
from tests.desk.surveys.helpers import person, solved_ticket
from tests.success.health.test_actions import at, book


def test_desk_ratings_move_the_csat_measure(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    actions.record_signal(
        db, account=account, kind=SignalKind.CSAT, value=Decimal(70), observed_at=at(date(2026, 2, 1)),
        clock=clock,
    )  # fmt: skip
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    before = queries.latest_score(db, account.id)
    assert before is not None and before.measures["csat"]["raw"] == pytest.approx(70.0)  # the import
    agent = person(db, clock, Role.AGENT)
    customer = person(db, clock, Role.REQUESTER, organisation=account.organisation)
    tickets = [solved_ticket(db, clock, requester=customer, agent=agent) for _ in range(10)]
    for n, ticket in enumerate(tickets):  # 1-5: nine 4s and 5s, one 3 (bad): 90 %
        record_rating(db, ticket=ticket, choice=3 if n == 0 else 4 + n % 2, scale=Scale.ONE_TO_FIVE,
                      via=Via.EMAIL, clock=clock)  # fmt: skip
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    row = queries.latest_score(db, account.id)
    assert row is not None and row.measures["csat"]["raw"] == pytest.approx(90.0)
    assert row.measures["csat"]["value"] == pytest.approx(50 + 10 / 15 * 50, abs=0.01)  # between 80 and 95
    assert row.measures["csat"]["effective_weight"] > 0
    score_at_90 = row.score  # the day's snapshot is replaced in place by the next run
    clock.advance(timedelta(minutes=10))
    record_rating(db, ticket=tickets[1], choice="2", scale=Scale.ONE_TO_FIVE, via=Via.EMAIL, clock=clock)
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    changed = queries.latest_score(db, account.id)
    assert changed is not None and changed.measures["csat"]["raw"] == pytest.approx(80.0)  # 8 of 10
    assert changed.measures["csat"]["value"] == pytest.approx(50.0)
    assert changed.score < score_at_90


def test_organisation_csat_counts_each_tickets_latest_rating_in_the_window(
    db: Session, clock: FixedClock
) -> None:
    account = book(db, clock)
    assert account.organisation_id is not None
    customer = person(db, clock, Role.REQUESTER, organisation=account.organisation)
    start = clock.now()
    first, second = solved_ticket(db, clock, requester=customer), solved_ticket(db, clock, requester=customer)
    record_rating(db, ticket=first, choice="good", scale=Scale.GOOD_BAD, via=Via.EMAIL, clock=clock)
    record_rating(db, ticket=second, choice="good", scale=Scale.GOOD_BAD, via=Via.CHAT, clock=clock)
    clock.advance(timedelta(hours=1))
    middle = clock.now()
    record_rating(db, ticket=second, choice="bad", scale=Scale.GOOD_BAD, via=Via.EMAIL, clock=clock)
    db.flush()
    org = account.organisation_id
    then = organisation_signals(db, [org], start=start, end=middle)[org]
    now = organisation_signals(db, [org], start=start, end=clock.now() + timedelta(seconds=1))[org]
    assert (then.csat_good, then.csat_bad, then.csat_pct) == (2, 0, 100.0)
    assert (now.csat_good, now.csat_bad, now.csat_pct) == (1, 1, 50.0)
