"""`opsdesk import events FILE.csv`: a generic event log of tickets from another helpdesk, on SQLite and
PostgreSQL. Rows are replayed by time (equal times in file order), the KPIs come out as worked by hand,
a second run writes nothing, and every bad row is named by file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.models import Event, Group, Role, User
from opsdesk.core.settings import get_settings
from opsdesk.desk.models import Message, Status, Ticket
from opsdesk.desk.surveys.models import CsatRating
from opsdesk.insights.imports.event_csv import parse
from opsdesk.insights.imports.history import Problem

cli = CliRunner()

# fixtures/events/helpdesk.csv. Ticket A-1: mailed Monday 09:00, answered 09:45, an internal note,
# solved 10:30, reopened by the customer at 11:00 (rows out of order in the file: replay sorts them),
# solved again 11:30, rated 5.
# Ticket A-2: a chat started by an agent with a public message, answered by the customer, the agent's next
# public message at 14:20 (its first reply, Zendesk's rule), moved to the Billing group, still open.
LOG = Path(__file__).parent / "fixtures" / "events" / "helpdesk.csv"


@pytest.fixture
def cli_db(engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def run(path: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    out = path.parent / "report.json"
    result = cli.invoke(app, ["import", "events", str(path), "--report", str(out), *extra])
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, result.output, report


def test_an_event_log_becomes_tickets_with_their_history_and_kpis(cli_db: Session, tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.csv"
    path.write_text(LOG.read_text())
    code, output, report = run(path, "--source", "oldhelp")
    assert code == 0, output
    assert report["not_mapped"] == []
    assert report["new"] == {"organisation": 0, "group": 2, "user": 4, "ticket": 2}
    db = cli_db
    roles = {u.email: u.role for u in db.scalars(select(User))}
    assert roles == {
        "pat@client.example": Role.REQUESTER,
        "lou@client.example": Role.REQUESTER,
        "sam@help.example": Role.AGENT,
        "kim@help.example": Role.AGENT,
    }
    one, two = db.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert (one.subject, one.status, one.priority.value, sorted(one.tags)) == (
        "Printer offline",
        Status.SOLVED,
        "high",
        ["firmware", "printer"],
    )
    log = db.execute(
        select(Event.type, Event.at, Event.data)
        .where(Event.subject_type == "ticket", Event.subject_id == one.id)
        .order_by(Event.id)
    ).all()
    assert [(t, at.strftime("%H:%M")) for t, at, _ in log] == [
        ("ticket_created", "09:00"),
        ("message_added", "09:00"),
        ("message_added", "09:45"),
        ("assigned", "09:45"),
        ("status_changed", "09:45"),
        ("message_added", "10:00"),
        ("status_changed", "10:30"),
        ("message_added", "11:00"),
        ("status_changed", "11:00"),
        ("tags_changed", "11:20"),
        ("status_changed", "11:30"),
        ("csat_received", "12:00"),
    ]
    assert log[5][2]["public"] is False
    assert log[-1][2] | {} == {
        "rating": "good",
        "score": 5,
        "scale": "one_to_five",
        "via": "email",
        "comment": True,
    }
    rating = db.scalar(select(CsatRating).where(CsatRating.ticket_id == one.id))
    assert rating is not None and (rating.score, rating.comment) == (5, "Great help")
    assert (two.channel.value, two.status, two.group.name if two.group else None) == (
        "chat",
        Status.OPEN,
        "Billing",
    )
    first_message = db.scalars(
        select(Message).where(Message.ticket_id == two.id).order_by(Message.id)
    ).first()
    assert first_message is not None and first_message.author_kind.value == "agent"

    result = cli.invoke(
        app,
        ["kpi", "first_reply_time", "full_resolution_time", "reopen_rate", "csat",
         "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {r["metric"]: r for r in json.loads(result.output)}
    # 45 minutes; A-2: the agent opened it publicly, so 14:00 -> 14:20 = 20 minutes.
    assert (rows["first_reply_time"]["n"], rows["first_reply_time"]["mean_s"]) == (2, (45 + 20) * 60 / 2)
    assert (rows["full_resolution_time"]["n"], rows["full_resolution_time"]["mean_s"]) == (1, 150 * 60)
    assert (rows["reopen_rate"]["numerator"], rows["reopen_rate"]["denominator"]) == (1, 1)
    assert (rows["csat"]["numerator"], rows["csat"]["denominator"]) == (1, 1)

    before = {
        m.__name__: db.scalar(select(func.count()).select_from(m)) for m in (Ticket, Event, User, Message)
    }
    code, output, again = run(path, "--source", "oldhelp")
    assert code == 0 and again["new"] == {"organisation": 0, "group": 0, "user": 0, "ticket": 0}
    assert again["events"] == 0
    db.expire_all()
    assert {
        m.__name__: db.scalar(select(func.count()).select_from(m)) for m in (Ticket, Event, User, Message)
    } == (before)
    assert db.scalar(select(func.count()).select_from(Group)) == 2


def test_bad_rows_are_named_by_file_and_line_and_the_rest_imported(cli_db: Session, tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(
        "ticket_id,event_type,timestamp,actor,subject,requester,status,rating,body,public\n"
        "B-1,created,2026-03-03T08:00:00Z,,Hello,ann@client.example,,,Hi,\n"
        "B-1,status,yesterday,,,,open,,,\n"
        "B-1,status,2026-03-03T09:00:00Z,,,,dancing,,,\n"
        "B-1,teleported,2026-03-03T09:00:00Z,,,,,,,\n"
        "B-1,rating,2026-03-03T10:00:00Z,,,,,7,,\n"
        "B-1,comment,2026-03-03T07:00:00Z,,,,,,Too early,\n"
        "B-1,comment,2026-03-03T09:30:00Z,bo@help.example,,,,,,maybe\n"
        "B-2,status,2026-03-03T09:00:00Z,,,,open,,,\n"
        ",comment,2026-03-03T09:00:00Z,,,,,,x,\n"
        "B-3,created,2026-03-03T08:00:00Z,,Hi,not-an-address,,,,\n"
        "B-4,created,2026-03-03T08:00:00Z,,Short row\n"
    )
    code, output, report = run(path)
    assert code == 0, output
    for line in (
        "broken.csv:3: timestamp 'yesterday' is not ISO 8601",
        "broken.csv:4: ticket B-1: status 'dancing' is not one of new, open, pending, on_hold, solved, "
        "closed",
        "broken.csv:5: event_type 'teleported' is not one of created, comment, status, assigned, group, "
        "priority, tags, rating",
        "broken.csv:6: ticket B-1: rating '7' is not good, bad or 1-5",
        "broken.csv:7: ticket B-1: comment is before the ticket was created; skipped",
        "broken.csv:8: ticket B-1: a comment needs a body",
        "broken.csv:9: ticket B-2 has 0 created rows (needs one); its rows are skipped",
        "broken.csv:10: ticket_id is empty",
        "broken.csv:11: ticket B-3: 'not-an-address' is not an email address; the ticket is skipped",
        "broken.csv:12: has 5 cells, the header has 10",
    ):
        assert line in output, line
    assert report["new"]["ticket"] == 1


def test_the_header_is_checked_first() -> None:
    problems: list[Problem] = []
    assert parse("x.csv", "ticket,type,when\n1,created,2026-01-01\n", problems) == ([], [])
    assert [str(p) for p in problems] == [
        "x.csv:1: required column(s) missing: ticket_id, event_type, timestamp"
    ]
