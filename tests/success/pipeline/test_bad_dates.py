"""A close date outside the years 1900-2200 is refused at the door, and one already stored (written
before the bound, or by SQL) does not break the forecast, the accuracy report or the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import get_settings
from opsdesk.success import actions as success
from opsdesk.success.pipeline.models import Opportunity
from tests.conftest import LiveServer
from tests.factories import make_token, make_user

WINDOWS = [("2026-03-01", "2026-05-31"), ("0040-10-01", "0040-10-31"), (None, None)]


@pytest.fixture
def csm_api(db: Session, clock: FixedClock, live_server: LiveServer) -> Iterator[tuple[httpx.Client, int]]:
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    account = success.create_account(db, name="Acme", covered_lives=200, owner=csm, clock=clock)
    token = make_token(db, clock, csm)
    db.commit()
    with live_server.client(token) as client:
        yield client, account.id


def _opportunity(close_date: str, account_id: int) -> dict[str, object]:
    return {"account_id": account_id, "kind": "expansion", "amount_cents": 100_000, "close_date": close_date}


def test_a_close_date_in_year_40_is_refused(csm_api: tuple[httpx.Client, int], db: Session) -> None:
    api, account_id = csm_api
    for close_date in ("0040-10-15", "1899-12-31", "2201-01-01"):
        answer = api.post("/api/v1/opportunities", json=_opportunity(close_date, account_id))
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == "close_date"
        assert "1900-2200" in answer.json()["error"]["message"]
    made = api.post("/api/v1/opportunities", json=_opportunity("2026-04-20", account_id))
    assert made.status_code == 201, made.text
    patched = api.patch(f"/api/v1/opportunities/{made.json()['id']}", json={"close_date": "0040-10-15"})
    assert patched.status_code == 422, patched.text
    assert db.scalar(select(func.min(Opportunity.close_date))) == date(2026, 4, 20)


def _store_year_40(engine: Engine) -> None:
    """As a row written before the bound existed: straight into the tables."""
    with engine.begin() as conn:
        for table in ("success_opportunities", "success_opportunity_history"):
            conn.execute(text(f"UPDATE {table} SET close_date = :d"), {"d": date(40, 10, 15)})


def test_a_stored_year_40_close_date_does_not_break_the_forecast(
    csm_api: tuple[httpx.Client, int], engine: Engine, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, account_id = csm_api
    for close_date in ("2026-04-20", "2026-02-10"):
        made = api.post("/api/v1/opportunities", json=_opportunity(close_date, account_id))
        assert made.status_code == 201, made.text
    keep = api.post("/api/v1/opportunities", json=_opportunity("2026-04-25", account_id)).json()["id"]
    _store_year_40(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE success_opportunities SET close_date = :d WHERE id = :i"),
                     {"d": date(2026, 4, 25), "i": keep})  # fmt: skip
    for start, end in WINDOWS:
        params = {"from": start, "to": end} if start else {}
        answer = api.get("/api/v1/pipeline/forecast", params=params)
        assert answer.status_code == (422 if start == "0040-10-01" else 200), answer.text
    april = api.get("/api/v1/pipeline/forecast", params={"from": "2026-04-01", "to": "2026-04-30"}).json()
    assert april["months"][0]["open_pipeline"] == 100_000  # the kept deal; the year-40 ones count nowhere
    accuracy = api.get("/api/v1/pipeline/accuracy", params={"from": "2026-01-01", "to": "2026-02-28"})
    assert accuracy.status_code == 200, accuracy.text

    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr("opsdesk.cli.pipeline.clock", clock)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["pipeline", "forecast", "--from", "2026-04-01", "--to", "2026-04-30", "--format", "json"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["open_pipeline"] == 100_000


def test_cli_refuses_a_window_outside_the_years(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["pipeline", "forecast", "--from", "0040-10-01", "--to", "0040-12-31"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "--from: '0040-10-01' is not a date in the years 1900-2200" in result.output
