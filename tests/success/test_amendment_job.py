"""A contract amendment dated next month changes the account's covered lives when that day comes, through
the hourly job (as a worker runs it) or `opsdesk apply-amendments`, once, with an event on the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.jobs import JobContext, registry
from opsdesk.core.models import Event
from opsdesk.core.settings import Settings, get_settings
from opsdesk.success import actions, contracts
from opsdesk.success.jobs import APPLY_AMENDMENTS_NAME, apply_amendments
from opsdesk.success.models import Account, PriceModel, Subscription


def _amended_from_june(session_factory: sessionmaker[Session], clock: FixedClock) -> tuple[int, int]:
    """Acme, 1,000 lives on a 2026 PEPM term, amended on 12 May to 1,500 lives from 1 June."""
    clock.set(datetime(2026, 1, 10, 9, tzinfo=UTC))
    with transaction(session_factory) as s:
        account = actions.create_account(s, name="Acme", covered_lives=1000, clock=clock)
        term = contracts.save_subscription(
            s, account=account, start=date(2026, 1, 1), end=date(2026, 12, 31),
            price_model=PriceModel.PEPM, pepm_cents=500, covered_lives=1000, clock=clock,
        )  # fmt: skip
        account_id, term_id = account.id, term.id
    clock.set(datetime(2026, 5, 12, 9, tzinfo=UTC))
    with transaction(session_factory) as s:
        amendment = contracts.amend_subscription(
            s, subscription=s.get_one(Subscription, term_id), effective=date(2026, 6, 1),
            covered_lives=1500, clock=clock,
        )  # fmt: skip
        amendment_id = amendment.id
    return account_id, amendment_id


def _state(session_factory: sessionmaker[Session], account_id: int) -> tuple[int, list[dict[str, object]]]:
    with session_factory() as s:
        updates = s.scalars(
            select(Event.data)
            .where(Event.subject_type == "account", Event.subject_id == account_id)
            .where(Event.type == "account_updated")
            .order_by(Event.id)
        ).all()
        return s.get_one(Account, account_id).covered_lives, list(updates)


def test_the_job_applies_an_amendment_when_its_day_comes_and_only_once(
    session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    account_id, amendment_id = _amended_from_june(session_factory, clock)
    spec = registry.periodics.get(APPLY_AMENDMENTS_NAME)
    assert spec is not None and spec.every == timedelta(hours=1)
    ctx = JobContext(session_factory, clock, settings, APPLY_AMENDMENTS_NAME, "job-1", 1, None)

    clock.set(datetime(2026, 5, 31, 23, 30, tzinfo=UTC))
    apply_amendments(ctx, {})
    assert _state(session_factory, account_id) == (1000, [])

    clock.set(datetime(2026, 6, 1, 0, 30, tzinfo=UTC))
    apply_amendments(ctx, {})
    lives, updates = _state(session_factory, account_id)
    assert lives == 1500
    assert updates == [{"covered_lives": 1500, "amendment_id": amendment_id, "effective": "2026-06-01"}]

    apply_amendments(ctx, {})  # a redelivery
    clock.advance(timedelta(hours=1))
    apply_amendments(ctx, {})  # the next tick
    assert _state(session_factory, account_id) == (lives, updates)


def test_a_later_edit_of_the_lives_wins_over_the_amendment(
    session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    account_id, _ = _amended_from_june(session_factory, clock)
    ctx = JobContext(session_factory, clock, settings, APPLY_AMENDMENTS_NAME, "job-1", 1, None)
    clock.set(datetime(2026, 6, 2, 9, tzinfo=UTC))
    apply_amendments(ctx, {})
    clock.set(datetime(2026, 7, 3, 9, tzinfo=UTC))
    with transaction(session_factory) as s:
        actions.update_account(s, account=s.get_one(Account, account_id), covered_lives=1600, clock=clock)
    apply_amendments(ctx, {})
    lives, updates = _state(session_factory, account_id)
    assert lives == 1600
    assert [u["covered_lives"] for u in updates] == [1500, 1600]


def test_a_price_only_amendment_changes_no_lives(
    session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    account_id, amendment_id = _amended_from_june(session_factory, clock)
    with transaction(session_factory) as s:
        contracts.amend_subscription(
            s, subscription=s.get_one(Subscription, amendment_id), effective=date(2026, 8, 1),
            pepm_cents=450, clock=clock,
        )  # fmt: skip
    clock.set(datetime(2026, 8, 2, 9, tzinfo=UTC))
    ctx = JobContext(session_factory, clock, settings, APPLY_AMENDMENTS_NAME, "job-1", 1, None)
    apply_amendments(ctx, {})
    # June's amendment was never applied in June; the August term carries its 1,500 lives on
    assert _state(session_factory, account_id)[0] == 1500


@pytest.fixture
def cli_env(engine: Engine, monkeypatch: pytest.MonkeyPatch, clock: FixedClock) -> Iterator[None]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("opsdesk.cli.success.clock", clock)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_command_applies_what_is_in_force_on_a_day(
    cli_env: None, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    account_id, _ = _amended_from_june(session_factory, clock)
    runner = CliRunner()
    early = runner.invoke(app, ["apply-amendments", "--as-of", "2026-05-31"])
    assert early.exit_code == 0, early.output
    assert "0 account(s)" in early.output
    due = runner.invoke(app, ["apply-amendments", "--as-of", "2026-06-01"])
    assert due.exit_code == 0, due.output
    assert "1 account(s)" in due.output
    again = runner.invoke(app, ["apply-amendments", "--as-of", "2026-06-01"])
    assert "0 account(s)" in again.output
    assert _state(session_factory, account_id)[0] == 1500
    bad = runner.invoke(app, ["apply-amendments", "--as-of", "June"])
    assert bad.exit_code != 0 and "--as-of" in bad.output
