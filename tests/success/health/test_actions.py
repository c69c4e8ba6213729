"""Scoring runs, scorecards, overrides and the backtest table on the real database (SQLite and
PostgreSQL), with real accounts, subscriptions, utilisation, signals and desk tickets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, NotFound, ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.health import actions, queries, raw_signals
from opsdesk.success.health.models import HealthScore, SignalKind
from opsdesk.success.health.scorecard import Band
from opsdesk.success.models import Account, PriceModel, Stage
from opsdesk.success.voice import actions as voice
from opsdesk.success.voice.models import Severity
from tests.factories import make_user


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def book(db: Session, clock: FixedClock) -> Account:
    """One account on 2 Mar 2026 whose default-scorecard score is worked out in the test below."""
    org = core.create_organisation(db, name="Acme", clock=clock)
    account = success.create_account(
        db, name="Acme", covered_lives=1000, stage=Stage.ADOPTION, organisation=org, clock=clock
    )
    contracts.save_subscription(
        db, account=account, start=date(2025, 6, 1), end=date(2026, 5, 31),
        price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=10_000_00, clock=clock,
    )  # fmt: skip
    for month, engaged in ((date(2026, 1, 1), 120), (date(2026, 2, 1), 150), (date(2026, 3, 1), 5)):
        success.record_utilisation(
            db, account=account, month=month, engaged_members=engaged, sessions=engaged * 3,
            programme_uptake_pct=Decimal("12.5"),
        )  # fmt: skip
    actions.record_signal(
        db,
        account=account,
        kind=SignalKind.NPS,
        value=Decimal(30),
        observed_at=at(date(2026, 2, 1)),
        clock=clock,
    )
    actions.record_signal(
        db, account=account, kind=SignalKind.EXEC_ENGAGEMENT, value=Decimal(1),
        observed_at=at(date(2026, 1, 1)), clock=clock,
    )  # fmt: skip
    actions.record_signal(
        db, account=account, kind=SignalKind.PAYMENT_DAYS_OVERDUE, value=Decimal(0),
        observed_at=at(date(2026, 2, 20)), clock=clock,
    )  # fmt: skip
    db.flush()
    return account


def health_events(db: Session, account_id: int) -> list[Event]:
    return list(
        db.scalars(
            select(Event)
            .where(
                Event.subject_type == "account",
                Event.subject_id == account_id,
                Event.type == "health_changed",
            )
            .order_by(Event.id)
        )
    )


def test_scoring_stores_each_measures_value_weight_and_contribution(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    run = actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    assert (run.scored, run.unscored) == (1, 0)
    row = db.scalar(select(HealthScore).where(HealthScore.account_id == account.id))
    assert row is not None
    m = row.measures
    assert m["utilisation"]["raw"] == pytest.approx(15.0)  # February; March is still in progress
    assert m["utilisation"]["value"] == pytest.approx(75.0)
    assert m["support_tickets"]["value"] == 100 and m["escalations"]["value"] == 100
    assert m["csat"]["value"] is None and m["csat"]["effective_weight"] == 0
    assert m["nps"]["value"] == pytest.approx(75.0)
    assert m["exec_engagement"]["raw"] == 60 and m["exec_engagement"]["value"] == pytest.approx(
        83.33, abs=0.01
    )
    assert m["renewal_proximity"]["raw"] == 90 and m["renewal_proximity"]["value"] == pytest.approx(50.0)
    assert m["payment_status"]["value"] == 100
    # CSAT (weight 10) is missing: the other 90 points of weight are scaled to 100.
    expected = (75 * 25 + 100 * 10 + 100 * 10 + 75 * 10 + (100 - 60 / 90 * 25) * 10 + 50 * 10 + 100 * 15) / 90
    assert float(row.score) == pytest.approx(expected, abs=0.01)
    assert sum(v["contribution"] for v in m.values()) == pytest.approx(expected, abs=0.05)
    assert m["utilisation"]["effective_weight"] == pytest.approx(27.78, abs=0.01)
    assert row.band is Band.GREEN and row.effective_band is Band.GREEN
    [first] = health_events(db, account.id)
    assert first.data["from"] is None and first.data["to"] == "green"


def test_reruns_are_idempotent_and_a_band_change_is_an_event(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    assert db.scalar(select(func.count()).select_from(HealthScore)) == 1
    assert len(health_events(db, account.id)) == 1

    clock.advance(timedelta(days=1))
    for kind, value in ((SignalKind.PAYMENT_DAYS_OVERDUE, 90), (SignalKind.NPS, -100)):
        actions.record_signal(
            db, account=account, kind=kind, value=Decimal(value), observed_at=clock.now(), clock=clock
        )
    run = actions.score_accounts(db, as_of=date(2026, 3, 3), clock=clock)
    assert run.band_changes == {"green->amber": 1}
    events = health_events(db, account.id)
    assert [(e.data["from"], e.data["to"]) for e in events] == [(None, "green"), ("green", "amber")]
    history = queries.history(db, account.id)
    assert [h.scored_on for h in history] == [date(2026, 3, 2), date(2026, 3, 3)]
    assert history[1].score < history[0].score


def test_a_past_date_sees_nothing_recorded_after_it(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    actions.score_accounts(db, as_of=date(2026, 2, 10), clock=clock)
    row = queries.latest_score(db, account.id)
    assert row is not None and row.scored_on == date(2026, 2, 10)
    assert row.measures["utilisation"]["raw"] == pytest.approx(12.0)  # January; February was in progress
    assert row.measures["nps"]["raw"] == 30
    assert row.measures["payment_status"]["raw"] is None  # observed on 20 Feb
    with pytest.raises(ValidationFailed):
        actions.score_accounts(db, as_of=date(2026, 3, 3), clock=clock)


def test_segment_and_stage_scorecards_and_their_validation(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    assert account.segment is not None
    card = actions.create_scorecard(
        db, name="Mid-market adoption", weights={"utilisation": 100}, segment=account.segment,
        stage=Stage.ADOPTION, red_below=60, green_from=80, clock=clock,
    )  # fmt: skip
    actions.create_scorecard(
        db, name="Renewal", weights={"renewal_proximity": 100}, stage=Stage.RENEWAL, clock=clock
    )
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    row = queries.latest_score(db, account.id)
    assert row is not None and row.scorecard_id == card.id
    assert float(row.score) == pytest.approx(75.0) and row.band is Band.AMBER  # custom thresholds
    assert list(row.measures) == ["utilisation"]

    actions.update_scorecard(
        db, scorecard=card, weights={"utilisation": 50, "payment_status": 50}, clock=clock
    )
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    row = queries.latest_score(db, account.id)
    assert row is not None and float(row.score) == pytest.approx(87.5) and row.band is Band.GREEN

    with pytest.raises(Conflict):
        actions.create_scorecard(db, name="Renewal", weights={"nps": 100}, clock=clock)
    with pytest.raises(ValidationFailed, match="sum to 100"):
        actions.create_scorecard(db, name="Bad", weights={"nps": 90}, clock=clock)
    with pytest.raises(ValidationFailed, match="no weight"):
        actions.create_scorecard(
            db, name="Bad", weights={"nps": 100}, points={"csat": [[0, 0], [1, 1]]}, clock=clock
        )
    with pytest.raises(ValidationFailed, match="thresholds"):
        actions.create_scorecard(
            db, name="Bad", weights={"nps": 100}, red_below=80, green_from=70, clock=clock
        )


def test_override_with_reason_and_expiry(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    expires = clock.now() + timedelta(days=14)
    with pytest.raises(ValidationFailed, match="reason"):
        actions.override_health(
            db, account=account, reason=" ", band=Band.RED, expires_at=expires, clock=clock, actor=csm
        )
    with pytest.raises(ValidationFailed, match="either"):
        actions.override_health(
            db,
            account=account,
            reason="x",
            band=Band.RED,
            score=Decimal(3),
            expires_at=expires,
            clock=clock,
            actor=csm,
        )
    with pytest.raises(ValidationFailed, match="future"):
        actions.override_health(
            db, account=account, reason="x", band=Band.RED, expires_at=clock.now(), clock=clock, actor=csm
        )
    actions.override_health(
        db, account=account, reason="Champion left; exec sponsor silent", band=Band.RED,
        expires_at=expires, clock=clock, actor=csm,
    )  # fmt: skip
    view = queries.account_health(db, account, now=clock.now())
    assert view.band is Band.GREEN and view.effective_band is Band.RED
    assert view.override is not None and view.override.reason.startswith("Champion")
    last = health_events(db, account.id)[-1]
    assert (last.data["from"], last.data["to"], last.data["reason"]) == ("green", "red", "override")

    # A score override replaces the band override and re-bands by the scorecard's thresholds.
    actions.override_health(
        db, account=account, reason="Renewal verbally agreed", score=Decimal(60), expires_at=expires,
        clock=clock, actor=csm,
    )  # fmt: skip
    view = queries.account_health(db, account, now=clock.now())
    assert view.effective_score == 60 and view.effective_band is Band.AMBER

    clock.advance(timedelta(days=1))
    actions.score_accounts(db, as_of=clock.now().date(), clock=clock)
    row = queries.latest_score(db, account.id)
    assert row is not None and row.override_id is not None and row.effective_band is Band.AMBER
    assert row.band is not None and row.band is not Band.AMBER  # the computed band is kept beside it

    actions.end_override(db, account=account, clock=clock, actor=csm)
    last = health_events(db, account.id)[-1]
    assert (last.data["from"], last.data["to"], last.data["reason"]) == ("amber", "green", "override ended")
    view = queries.account_health(db, account, now=clock.now())
    assert view.override is None and view.effective_band is Band.GREEN
    with pytest.raises(NotFound):
        actions.end_override(db, account=account, clock=clock, actor=csm)
    actions.override_health(
        db, account=account, reason="Again", band=Band.RED, expires_at=expires, clock=clock, actor=csm
    )
    clock.advance(timedelta(days=20))  # expired
    view = queries.account_health(db, account, now=clock.now())
    assert view.override is None and view.effective_band is view.band


def test_an_unscored_account_shows_todays_computed_health(db: Session, clock: FixedClock) -> None:
    account = success.create_account(db, name="New", covered_lives=10, clock=clock)
    actions.ensure_default_scorecard(db, clock=clock)
    view = queries.account_health(db, account, now=clock.now())
    assert not view.stored and view.score is None and view.band is None  # too little known yet
    assert view.measures["escalations"]["value"] == 100 and view.measures["utilisation"]["value"] is None
    assert view.scorecard_name == "Default"


def test_signals_are_validated_and_reimports_replace(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    when = at(date(2026, 2, 1))
    actions.record_signal(
        db, account=account, kind=SignalKind.NPS, value=Decimal(10), observed_at=when, clock=clock
    )
    signals = raw_signals._latest_signals(db, [account.id], clock.now())
    assert signals[(account.id, SignalKind.NPS)].value == 10
    with pytest.raises(ValidationFailed):
        actions.record_signal(
            db, account=account, kind=SignalKind.NPS, value=Decimal(101), observed_at=when, clock=clock
        )
    with pytest.raises(ValidationFailed):
        actions.record_signal(
            db, account=account, kind=SignalKind.CSAT, value=Decimal(90),
            observed_at=clock.now() + timedelta(days=1), clock=clock,
        )  # fmt: skip


def test_tickets_and_escalations_of_the_linked_organisation_count(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    assert account.organisation is not None
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    person = make_user(db, clock, Role.REQUESTER, email="hr@acme.test", organisation=account.organisation)
    for n in range(10):
        ticket = desk.create_ticket(
            db, requester=person, subject=f"issue {n}", body_text="?", channel=Channel.EMAIL, clock=clock
        )
        if n < 2:
            desk.escalate(db, ticket=ticket, reason="bug", actor=agent, clock=clock)
    voice.open_escalation(db, account=account, severity=Severity.SEV2, title="Payroll outage", clock=clock)
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    row = queries.latest_score(db, account.id)
    assert row is not None
    assert row.measures["support_tickets"]["raw"] == pytest.approx(10.0)  # 10 tickets per 1,000 lives
    assert row.measures["support_tickets"]["value"] == pytest.approx(75 - 5 / 15 * 50, abs=0.01)
    # Two desk escalations and one customer escalation: 3 scores 20.
    assert row.measures["escalations"]["raw"] == 3
    assert row.measures["escalations"]["value"] == pytest.approx(20.0)


def test_backtest_frame_labels_churn_within_the_horizon(db: Session, clock: FixedClock) -> None:
    """Only customers with a renewal due within the horizon are compared (issue 14: among all customers
    the ones that left were just the ones whose term ended in the window, so the backtest measured the
    calendar). Both come up on 1 Jan 2026; Stays renews, Leaves does not."""
    stays = success.create_account(db, name="Stays", covered_lives=100, clock=clock)
    leaves = success.create_account(db, name="Leaves", covered_lives=100, clock=clock)
    terms = ((stays, date(2025, 1, 1), date(2025, 12, 31)), (stays, date(2026, 1, 1), date(2026, 12, 31)))
    for account, start, end in (*terms, (leaves, date(2025, 1, 1), date(2025, 12, 31))):
        contracts.save_subscription(
            db, account=account, start=start, end=end, price_model=PriceModel.FLAT_ANNUAL,
            flat_annual_cents=5_000_00, clock=clock,
        )  # fmt: skip
    for day in (date(2025, 9, 1), date(2025, 12, 1), date(2026, 1, 10), date(2026, 2, 15)):
        actions.score_accounts(db, as_of=day, clock=clock)
    frame = queries.backtest_frame(db, horizon_days=45, today=clock.now().date()).set_index(
        ["account_id", "scored_on"]
    )
    # 1 Sep: no renewal within 45 days, for either. 1 Dec: both renewals are due within the window.
    # 10 Jan: Leaves has no ARR any more, and Stays' next renewal is a year away. 15 Feb: its 45 days
    # have not passed by 2 Mar.
    assert sorted(frame.index) == sorted([(leaves.id, date(2025, 12, 1)), (stays.id, date(2025, 12, 1))])
    assert bool(frame.loc[(leaves.id, date(2025, 12, 1)), "label"]) is True
    assert bool(frame.loc[(stays.id, date(2025, 12, 1)), "label"]) is False
    assert "renewal_proximity" in frame.columns


def test_survey_answers_give_the_nps_and_outrank_an_imported_figure(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)  # imported NPS 30
    for n, score in enumerate((10, 9, 9, 8, 3)):  # 3 promoters, 1 detractor of 5: NPS 40
        voice.record_nps_response(
            db, account=account, score=score, responded_at=at(date(2026, 1, 10 + n)), clock=clock
        )
    voice.record_nps_response(db, account=account, score=0, responded_at=at(date(2024, 12, 1)), clock=clock)
    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    row = queries.latest_score(db, account.id)
    assert row is not None and row.measures["nps"]["raw"] == pytest.approx(40.0)  # 2024 is out of the year
    actions.score_accounts(db, as_of=date(2026, 1, 5), clock=clock)  # before the survey: the import
    early = queries.history(db, account.id)[0]
    assert early.scored_on == date(2026, 1, 5) and early.measures["nps"]["raw"] is None  # import dated 1 Feb


def test_the_backtest_uses_each_accounts_first_snapshot_of_a_month(db: Session, clock: FixedClock) -> None:
    account = success.create_account(db, name="Daily", covered_lives=100, clock=clock)
    contracts.save_subscription(
        db, account=account, start=date(2025, 1, 1), end=date(2025, 11, 10),
        price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=5_000_00, clock=clock,
    )  # fmt: skip
    for day in (date(2025, 10, 3), date(2025, 10, 1), date(2025, 10, 20), date(2025, 11, 2)):
        actions.score_accounts(db, as_of=day, clock=clock)
    frame = queries.backtest_frame(db, horizon_days=45, today=clock.now().date())  # renewal 11 Nov
    assert list(frame["scored_on"]) in (
        [date(2025, 10, 1), date(2025, 11, 2)],
        [date(2025, 11, 2), date(2025, 10, 1)],
    )
