"""`opsdesk kpi` and GET /api/v1/kpis over tickets written by the desk's own actions (SQLite and
PostgreSQL): hand-computed values, the command line's rows equal the API's, and bad parameters are
refused naming the parameter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, Tier
from opsdesk.core.settings import get_settings
from opsdesk.desk import actions as desk
from opsdesk.desk.models import AuthorKind, Channel, Status
from opsdesk.desk.sla import actions as sla
from opsdesk.insights.kpis.catalogue import METRICS
from opsdesk.success.models import Account, Segment
from tests.conftest import LiveServer
from tests.factories import make_token, make_user

runner = CliRunner()
PERIOD = ("--from", "2026-03-01", "--to", "2026-03-31")


@pytest.fixture
def history(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """Three tickets on Monday 2 March 2026 (09:00 UTC is 03:00 in Chicago, before its hours open):
    1. email from a requester, answered at 14:50 UTC (08:50 CST), solved at 16:00 UTC;
    2. chat opened by an agent with a public comment, next agent comment at 10:00 UTC, a call and a
       5/5 rating, still open;
    3. merged into 1 at 11:00 UTC.
    The SLA policy runs on Chicago's weekday 08:00-17:00: first reply 60 min, resolution 480 min."""
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    hours = sla.create_business_schedule(
        db,
        name="Chicago",
        timezone="America/Chicago",
        intervals=[{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
        actor=None,
        clock=clock,
    )
    sla.create_sla_policy(
        db,
        name="Standard",
        targets={"normal": {"first_reply": 60, "resolution": 480}},
        schedule=hours,
        actor=None,
        clock=clock,
    )
    acme = core.create_organisation(db, name="Acme", clock=clock)
    enterprise = Segment(name="Enterprise", priority=1, rules=[], created_at=clock.now())
    db.add(enterprise)
    db.flush()
    db.add(
        Account(
            name="Acme",
            stage_since=date(2026, 1, 1),
            segment_id=enterprise.id,
            organisation_id=acme.id,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
    )
    ana = make_user(db, clock, Role.AGENT, email="ana@example.com", tier=Tier.L1)
    alice = make_user(db, clock, Role.REQUESTER, email="alice@acme.test", organisation=acme)
    start = clock.now()
    first = desk.create_ticket(
        db,
        requester=alice,
        subject="Card declined",
        body_text="hi",
        channel=Channel.EMAIL,
        clock=clock,
        tags=["billing"],
    )
    second = desk.create_ticket(
        db,
        requester=alice,
        subject="Call back",
        body_text="we called",
        channel=Channel.CHAT,
        clock=clock,
        author=ana,
    )
    third = desk.create_ticket(
        db, requester=alice, subject="Card declined again", body_text="hi", channel=Channel.EMAIL, clock=clock
    )
    clock.advance(timedelta(hours=1))
    desk.add_message(
        db,
        ticket=second,
        author=ana,
        author_kind=AuthorKind.AGENT,
        public=True,
        channel=Channel.CHAT,
        clock=clock,
        body_text="done",
    )
    append_event(
        db,
        subject_type="ticket",
        subject_id=second.id,
        type="call_completed",
        at=clock.now(),
        data={
            "call_id": "c1",
            "queue": None,
            "agent_id": ana.id,
            "wait_s": 12.0,
            "talk_s": 100.0,
            "hold_s": 10.0,
            "wrap_s": 5.0,
            "abandoned": False,
            "voicemail": False,
        },
    )
    append_event(
        db,
        subject_type="ticket",
        subject_id=second.id,
        type="csat_received",
        at=clock.now(),
        data={"rating": "good", "score": 5, "scale": "one_to_five", "via": "email", "comment": False},
    )
    clock.advance(timedelta(hours=1))
    desk.merge_tickets(db, source=third, target=first, actor=ana, clock=clock)
    clock.set(start + timedelta(hours=5, minutes=50))
    desk.add_message(
        db,
        ticket=first,
        author=ana,
        author_kind=AuthorKind.AGENT,
        public=True,
        channel=Channel.EMAIL,
        clock=clock,
        body_text="fixed",
    )
    clock.set(start + timedelta(hours=7))
    desk.change_status(db, ticket=first, to=Status.SOLVED, actor=ana, clock=clock)
    db.commit()
    clock.set(datetime(2026, 4, 15, tzinfo=UTC))  # after the period, as the command line's clock is
    yield db
    get_settings.cache_clear()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["kpi", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def cli_rows(*args: str) -> list[dict[str, Any]]:
    code, out = cli(*args, "--format", "json")
    assert code == 0, out
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_hand_computed_kpis_from_the_desks_own_events(history: Session) -> None:
    rows = cli_rows(
        "first_reply_time", "tickets_created", "csat", "sla_attainment", "aht", *PERIOD, "--by", "segment"
    )
    got = {(r["metric"], r.get("target")): r for r in rows}
    assert all(r["segment"] == "Enterprise" for r in rows)
    # 1: 09:00 -> 14:50 = 21,000 s; 2: the agent's opening comment is no reply, 09:00 -> 10:00 = 3,600 s;
    # 3: merged without a public reply.
    assert got["first_reply_time", None] == {
        "segment": "Enterprise",
        "metric": "first_reply_time",
        "n": 2,
        "mean_s": 12300.0,
        "median_s": 12300.0,
        "p90_s": 3600 + 0.9 * 17400,
    }
    assert got["tickets_created", None]["value"] == 3
    assert (got["csat", None]["numerator"], got["csat", None]["denominator"]) == (1, 1)
    assert got["aht", None]["mean_s"] == 115.0
    # First reply in business hours: 1 took 50 min (08:00-08:50 CST), 2 none: both met. Resolution: 1 took
    # 2 h (met), 2 is still open long past 8 business hours (breached); the merged ticket has no targets.
    assert (
        got["sla_attainment", "first_reply"]["numerator"],
        got["sla_attainment", "first_reply"]["denominator"],
    ) == (2, 2)
    assert (
        got["sla_attainment", "resolution"]["numerator"],
        got["sla_attainment", "resolution"]["denominator"],
    ) == (1, 2)
    business = cli_rows("first_reply_time", "full_resolution_time", *PERIOD, "--business-hours")
    assert [(r["metric"], r["n"], r["mean_s"]) for r in business] == [
        ("first_reply_time", 2, 1500.0),  # 3,000 s and 0 s
        ("full_resolution_time", 1, 7200.0),  # 08:00-10:00 CST
    ]
    by_tag = cli_rows("tickets_created", *PERIOD, "--by", "tag,channel")
    assert [(r["tag"], r["channel"], r["value"]) for r in by_tag] == [
        ("billing", "email", 1),
        (None, "chat", 1),
        (None, "email", 1),
    ]


def test_command_line_and_api_give_equal_rows(
    history: Session, live_server: LiveServer, clock: FixedClock
) -> None:
    analyst = make_user(history, clock, Role.ANALYST, email="analyst@example.com")
    token = make_token(history, clock, analyst)
    history.commit()
    client = live_server.client(token)
    for by, extra in (
        ("week,channel,segment", []),
        ("day,agent,tier,priority,group,site", ["--business-hours"]),
    ):
        args = [*METRICS, *PERIOD, "--by", by, *extra]
        params: dict[str, Any] = {"metric": list(METRICS), "from": "2026-03-01", "to": "2026-03-31", "by": by}
        if extra:
            params["business_hours"] = "true"
        answer = client.get("/api/v1/kpis", params=params)
        assert answer.status_code == 200, answer.text
        assert answer.json() == cli_rows(*args)
        assert {r["metric"] for r in answer.json()} >= {
            "first_reply_time",
            "tickets_created",
            "backlog",
            "aht",
        }
    solved = client.get(
        "/api/v1/kpis",
        params={
            "metric": "first_resolution_time,tickets_solved",
            "from": "2026-03-02",
            "to": "2026-03-02",
            "date": "solved",
        },
    )
    assert solved.json() == cli_rows(
        "first_resolution_time",
        "tickets_solved",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-02",
        "--date",
        "solved",
    )
    text = json.dumps(answer.json())
    assert "Card declined" not in text and "alice" not in text  # numbers and labels only


def test_who_may_read_kpis(history: Session, live_server: LiveServer, clock: FixedClock) -> None:
    params = {"metric": "tickets_created", "from": "2026-03-01", "to": "2026-03-31"}
    for role, status in (
        (Role.AGENT, 403),
        (Role.REQUESTER, 403),
        (Role.QA_REVIEWER, 200),
        (Role.SUPPORT_LEAD, 200),
    ):
        token = make_token(history, clock, make_user(history, clock, role, password="correct horse battery"))
        history.commit()
        assert live_server.client(token).get("/api/v1/kpis", params=params).status_code == status, role
    assert live_server.client().get("/api/v1/kpis", params=params).status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "2026-03-01", "to": "2026-03-31"}, 422, "metric"),
        ({"metric": "nps_score", "from": "2026-03-01", "to": "2026-03-31"}, 422, "metric"),
        ({"metric": "csat", "from": "2026-03-31", "to": "2026-03-01"}, 422, "to"),
        ({"metric": "csat", "from": "1850-01-01", "to": "2026-03-01"}, 422, "from"),
        ({"metric": "csat", "from": "2026-02-30", "to": "2026-03-01"}, 422, "from"),
        ({"metric": "csat", "from": "2000-01-01", "to": "2026-03-01"}, 422, "to"),
        ({"metric": "csat", "from": "2026-03-01", "to": "2026-03-01", "by": "colour"}, 422, "by"),
        ({"metric": "csat", "from": "2026-03-01", "to": "2026-03-01", "by": "day,week"}, 422, "by"),
        ({"metric": "csat", "from": "2026-03-01", "to": "2026-03-01", "by": "x" * 201}, 422, "by"),
        ({"metric": "csat", "from": "2026-03-01", "to": "2026-03-01", "date": "closed"}, 422, "date"),
        ({"metric": "cs\x00at", "from": "2026-03-01", "to": "2026-03-01"}, 422, "metric"),
    ],
)
def test_api_refuses_bad_parameters_naming_them(
    live_server: LiveServer, db: Session, clock: FixedClock, params: dict[str, str], status: int, field: str
) -> None:
    token = make_token(db, clock, make_user(db, clock, Role.ANALYST))
    db.commit()
    answer = live_server.client(token).get("/api/v1/kpis", params=params)
    assert answer.status_code == status, answer.text
    assert field in json.dumps(answer.json()["error"])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["nps_score", *PERIOD], "METRIC"),
        (["csat", "--from", "2026-13-01", "--to", "2026-03-31"], "--from"),
        (["csat", "--from", "2026-03-31", "--to", "2026-03-01"], "--to"),
        (["csat", *PERIOD, "--by", "weekday"], "--by"),
        (["csat", *PERIOD, "--date", "closed"], "--date"),
        (["csat", *PERIOD, "--format", "xml"], "--format"),
    ],
)
def test_command_line_names_the_bad_argument(history: Session, args: list[str], named: str) -> None:
    code, out = cli(*args)
    assert code == 2 and named in out, out


def test_csv_and_table_carry_the_same_numbers(history: Session) -> None:
    code, out = cli("first_reply_time", "csat", *PERIOD, "--format", "csv")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "metric,n,mean_s,median_s,p90_s,value,numerator,denominator"
    assert lines[1] == "first_reply_time,2,12300.0,12300.0,19260.0,,,"
    assert lines[2] == "csat,1,,,,1.0,1,1"
    code, out = cli("first_reply_time", *PERIOD)
    assert code == 0 and "12,300" in out and "19,260" in out


def test_reads_only_the_tickets_a_period_can_involve(db: Session, clock: FixedClock) -> None:
    from opsdesk.insights.kpis.loader import load
    from opsdesk.insights.kpis.queries import kpi_rows
    from opsdesk.insights.kpis.request import kpi_request

    agent = make_user(db, clock, Role.AGENT, email="ben@example.com", tier=Tier.L1)
    bob = make_user(db, clock, Role.REQUESTER, email="bob@example.com")

    def ticket(subject: str) -> Any:
        return desk.create_ticket(
            db, requester=bob, subject=subject, body_text="hi", channel=Channel.EMAIL, clock=clock
        )

    clock.set(datetime(2026, 1, 5, 9, tzinfo=UTC))
    settled, waiting, rated = (
        ticket("settled in January"),
        ticket("open since January"),
        ticket("rated later"),
    )
    clock.advance(timedelta(hours=2))
    desk.change_status(db, ticket=settled, to=Status.SOLVED, actor=agent, clock=clock)
    desk.change_status(db, ticket=rated, to=Status.SOLVED, actor=agent, clock=clock)
    clock.set(datetime(2026, 3, 3, 9, tzinfo=UTC))
    append_event(
        db, subject_type="ticket", subject_id=rated.id, type="csat_received", at=clock.now(),
        data={"rating": "bad", "score": None, "scale": "good_bad", "via": "email", "comment": True},
    )  # fmt: skip
    db.commit()
    request = kpi_request(metrics=["backlog", "csat"], start="2026-03-01", end="2026-03-31")
    frames, _schedules, _policies = load(db, request)
    assert set(frames.tickets["ticket_id"]) == {waiting.id, rated.id}
    rows = kpi_rows(db, request, now=clock.now())
    assert [(r["metric"], r["value"]) for r in rows] == [("backlog", 1), ("csat", 0.0)]


def test_a_requesters_reply_to_a_solved_ticket_is_a_reopen(db: Session, clock: FixedClock) -> None:
    from opsdesk.insights.kpis.queries import kpi_rows
    from opsdesk.insights.kpis.request import kpi_request

    agent = make_user(db, clock, Role.AGENT, email="ben@example.com", tier=Tier.L1)
    bob = make_user(db, clock, Role.REQUESTER, email="bob@example.com")
    ticket = desk.create_ticket(
        db, requester=bob, subject="Help", body_text="hi", channel=Channel.EMAIL, clock=clock
    )

    def say(author: Any, kind: AuthorKind, minutes: int) -> None:
        clock.advance(timedelta(minutes=minutes))
        desk.add_message(
            db, ticket=ticket, author=author, author_kind=kind, public=True, channel=Channel.EMAIL,
            clock=clock, body_text="...",
        )  # fmt: skip

    say(agent, AuthorKind.AGENT, 10)
    clock.advance(timedelta(minutes=5))
    desk.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
    say(bob, AuthorKind.REQUESTER, 60)  # reopens the solved ticket
    say(agent, AuthorKind.AGENT, 20)  # the next reply, 20 minutes later
    db.commit()
    request = kpi_request(
        metrics=["reopen_rate", "one_touch_rate", "next_reply_time"], start="2026-03-02", end="2026-03-02"
    )
    got = {r["metric"]: r for r in kpi_rows(db, request, now=clock.now())}
    assert (got["reopen_rate"]["numerator"], got["reopen_rate"]["denominator"]) == (1, 1)
    assert (got["one_touch_rate"]["numerator"], got["one_touch_rate"]["denominator"]) == (0, 1)
    assert (got["next_reply_time"]["n"], got["next_reply_time"]["mean_s"]) == (1, 1200.0)
