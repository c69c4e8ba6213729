"""The voice of the customer exported to product: requests with the ARR and covered lives behind each,
as CSV (API and command line, success readers only) and as webhook events delivered to a real HTTP
receiver on loopback, signed per Standard Webhooks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings, get_settings
from opsdesk.desk.outbound_webhooks import actions as webhooks
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.sender import send_due
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import Account, PriceModel
from opsdesk.success.voice import actions
from opsdesk.success.voice.models import RequestStatus
from tests.conftest import LiveServer
from tests.desk.outbound_webhooks.receiver import receiver
from tests.factories import make_token, make_user


def _customer(db: Session, clock: FixedClock, name: str, lives: int, arr_cents: int) -> Account:
    account = success.create_account(db, name=name, covered_lives=lives, clock=clock)
    contracts.save_subscription(
        db,
        account=account,
        start=date(2025, 7, 1),
        end=date(2026, 6, 30),
        price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=arr_cents,
        clock=clock,
    )
    return account


def _requests(db: Session, clock: FixedClock) -> None:
    big = _customer(db, clock, "Northwind", 24_000, 90_000_000)
    small = _customer(db, clock, "Tailspin", 60, 1_200_000)
    export = actions.create_request(
        db, title="=Export claims to Excel", product_area_name="Reports", clock=clock
    )
    sso = actions.create_request(db, title="SSO with Okta", product_area_name="Admin", clock=clock)
    actions.add_ask(db, request=export, account=small, clock=clock)
    actions.add_ask(db, request=sso, account=big, clock=clock)
    actions.add_ask(db, request=sso, account=small, clock=clock)
    db.commit()


def test_request_events_reach_a_subscribed_receiver_with_the_arr_and_lives_behind_them(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    loopback = settings.model_copy(update={"webhook_allow_private_targets": True})
    with receiver() as hooks:
        made = webhooks.create_subscription(
            db,
            actor=None,
            clock=clock,
            settings=loopback,
            name="product",
            url=hooks.url,
            event_types=["voice_request_created", "voice_request_updated"],
        )
        db.commit()
        big = _customer(db, clock, "Northwind", 24_000, 90_000_000)
        small = _customer(db, clock, "Tailspin", 60, 1_200_000)
        request = actions.create_request(db, title="SSO with Okta", product_area_name="Admin", clock=clock)
        actions.add_ask(db, request=request, account=big, clock=clock)
        actions.add_ask(db, request=request, account=small, clock=clock)
        actions.update_request(db, request=request, status=RequestStatus.PLANNED, clock=clock)
        actions.update_request(db, request=request, status=RequestStatus.PLANNED, clock=clock)  # no change
        actions.remove_ask(db, request=request, account=small, clock=clock)
        db.commit()
        with session_factory() as session, session.begin():
            dispatch(session, clock=clock)
        send_due(session_factory, clock=clock, settings=loopback)
        sent = [Webhook(made.secret).verify(r.body, r.headers) for r in hooks.requests]

    assert [(s["type"], s["data"]["changes"]["changed"]) for s in sent] == [
        ("voice_request_created", []),
        ("voice_request_updated", ["asks"]),
        ("voice_request_updated", ["asks"]),
        ("voice_request_updated", ["status"]),
        ("voice_request_updated", ["asks"]),
    ]
    both = sent[3]["data"]
    assert both["subject_type"] == "feedback_request" and both["subject_id"] == request.id
    assert {k: both["changes"][k] for k in ("title", "product_area", "status", "accounts")} == {
        "title": "SSO with Okta",
        "product_area": "Admin",
        "status": "planned",
        "accounts": 2,
    }
    assert (both["changes"]["arr_cents"], both["changes"]["covered_lives"]) == (91_200_000, 24_060)
    assert [a["name"] for a in both["changes"]["asking"]] == ["Northwind", "Tailspin"]
    assert (sent[-1]["data"]["changes"]["arr_cents"], sent[-1]["data"]["changes"]["covered_lives"]) == (
        90_000_000,
        24_000,
    )


def test_the_csv_export_over_the_api_for_success_readers_only(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    agent = make_user(db, clock, Role.AGENT, email="agent@example.com")
    tokens = {u.email: make_token(db, clock, u) for u in (csm, agent)}
    _requests(db, clock)
    got = live_server.client(tokens["csm@example.com"]).get("/api/v1/feedback/export")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [(r["rank"], r["title"], r["accounts"], r["arr_cents"], r["covered_lives"]) for r in rows] == [
        ("1", "SSO with Okta", "2", "91200000", "24060"),
        ("2", "'=Export claims to Excel", "1", "1200000", "60"),  # a formula is kept as text
    ]
    assert live_server.client(tokens["agent@example.com"]).get("/api/v1/feedback/export").status_code == 403
    bad = live_server.client(tokens["csm@example.com"]).get("/api/v1/feedback/export", params={"on": "soon"})
    assert bad.status_code == 422
    # the request routes still answer beside it
    listed = live_server.client(tokens["csm@example.com"]).get("/api/v1/feedback")
    assert listed.status_code == 200 and len(listed.json()) == 2


@pytest.fixture
def cli_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_csv_export_on_the_command_line(
    db: Session, clock: FixedClock, cli_env: None, tmp_path: Path
) -> None:
    _requests(db, clock)
    out = tmp_path / "voice.csv"
    result = CliRunner().invoke(app, ["feedback", "export", "-o", str(out), "--on", "2026-03-02"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [(r["title"], r["arr_cents"], r["covered_lives"]) for r in rows] == [
        ("SSO with Okta", "91200000", "24060"),
        ("'=Export claims to Excel", "1200000", "60"),
    ]
    printed = CliRunner().invoke(app, ["feedback", "export", "--on", "2026-03-02"])
    assert printed.exit_code == 0 and printed.output == out.read_text()
    bad = CliRunner().invoke(app, ["feedback", "export", "--on", "soon"])
    assert bad.exit_code != 0 and "--on" in bad.output
