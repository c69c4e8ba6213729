"""`opsdesk import zendesk` over the Zendesk-format fixture (fixtures/zendesk, its stories in build.py), on
SQLite and PostgreSQL: the KPIs `opsdesk kpi` computes from the imported history equal the fixture's own
ticket_metrics; the history is in the event log with its original times; a second run writes nothing; a
run killed in the middle of a batch and run again ends where one clean run ends."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Group, Identity, IdentityKind, Organisation, Role, Tier, User
from opsdesk.core.settings import get_settings
from opsdesk.desk.models import AuthorKind, Message, Status, Ticket
from opsdesk.desk.sla import actions as sla
from opsdesk.desk.surveys.models import CsatRating
from opsdesk.insights.imports import runner
from opsdesk.insights.imports.history import Problem
from opsdesk.insights.imports.models import ImportedRecord
from tests.conftest import _empty_all_tables

FIXTURE = Path(__file__).parent / "fixtures" / "zendesk"
PERIOD = ("--from", "2026-01-01", "--to", "2026-01-31")
cli = CliRunner()


def jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURE / f"{name}.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture
def desk(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """The CLI on the test database, and the desk's SLA policy on Dublin's office hours (Monday to
    Friday 09:00-17:00), the schedule Zendesk's business-hours metrics in the fixture were worked in."""
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    _dublin_hours(db, clock)
    yield db
    get_settings.cache_clear()


def _dublin_hours(db: Session, clock: FixedClock) -> None:
    hours = sla.create_business_schedule(
        db,
        name="Dublin office",
        timezone="Europe/Dublin",
        intervals=[{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        actor=None,
        clock=clock,
    )
    sla.create_sla_policy(
        db, name="Standard", targets={"normal": {"first_reply": 60}}, schedule=hours, actor=None, clock=clock
    )
    db.commit()


def run_import(tmp_path: Path, folder: Path = FIXTURE) -> dict[str, Any]:
    out = tmp_path / "report.json"
    result = cli.invoke(app, ["import", "zendesk", str(folder), "--report", str(out)])
    assert result.exit_code == 0, result.output
    return dict(json.loads(out.read_text()))


def kpis(*args: str) -> list[dict[str, Any]]:
    result = cli.invoke(app, ["kpi", *args, *PERIOD, "--format", "json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


def expected_duration(field: str, variant: str) -> dict[str, Any]:
    minutes = [m[field][variant] for m in jsonl("ticket_metrics") if m[field][variant] is not None]
    seconds = np.array(minutes, dtype="float64") * 60
    return {
        "n": len(seconds),
        "mean_s": float(seconds.mean()),
        "median_s": float(np.median(seconds)),
        "p90_s": float(np.percentile(seconds, 90)),
    }


DURATIONS = {
    "first_reply_time": "reply_time_in_minutes",
    "first_resolution_time": "first_resolution_time_in_minutes",
    "full_resolution_time": "full_resolution_time_in_minutes",
    "requester_wait_time": "requester_wait_time_in_minutes",
    "agent_wait_time": "agent_wait_time_in_minutes",
    "on_hold_time": "on_hold_time_in_minutes",
}


def test_the_kpis_of_the_imported_history_equal_zendesks_ticket_metrics(
    desk: Session, tmp_path: Path
) -> None:
    report = run_import(tmp_path)
    assert report["new"] == {"organisation": 3, "group": 3, "user": 12, "ticket": 20}
    assert report["not_mapped"] == [] and report["notes"] == []
    # The import's own check, through the KPI engine's definitions, ticket by ticket.
    assert {(m["metric"], m["variant"]): m["differ"] for m in report["metrics"]} == {
        (name, variant): 0
        for name in ("first_reply_time", "first_resolution_time", "full_resolution_time")
        for variant in ("calendar", "business")
    } | {("reopens", "count"): 0, ("replies", "count"): 0}
    assert all(m["compared"] == 20 for m in report["metrics"])

    for business, variant in ((False, "calendar"), (True, "business")):
        rows = {r["metric"]: r for r in kpis(*DURATIONS, *(["--business-hours"] if business else []))}
        for metric, field in DURATIONS.items():
            want = expected_duration(field, variant)
            got = {k: rows[metric][k] for k in want}
            assert got == pytest.approx(want), (metric, variant)

    metrics = jsonl("ticket_metrics")
    solved_once = [m for m in metrics if m["first_resolution_time_in_minutes"]["calendar"] is not None]
    rates = {r["metric"]: r for r in kpis("reopen_rate", "one_touch_rate", "csat", "tickets_created")}
    assert (rates["reopen_rate"]["numerator"], rates["reopen_rate"]["denominator"]) == (
        sum(m["reopens"] > 0 for m in solved_once),
        len(solved_once),
    )
    assert (rates["one_touch_rate"]["numerator"], rates["one_touch_rate"]["denominator"]) == (
        sum(m["replies"] == 1 for m in solved_once),
        len(solved_once),
    )
    scores = [t["satisfaction_rating"]["score"] for t in jsonl("tickets")]
    assert (rates["csat"]["numerator"], rates["csat"]["denominator"]) == (
        scores.count("good"),
        scores.count("good") + scores.count("bad"),
    )
    assert rates["tickets_created"]["value"] == 20

    by_channel = {r["channel"]: r["n"] for r in kpis("tickets_created", "--by", "channel")}
    channels = {
        "email": "email",
        "web": "web",
        "chat": "chat",
        "voice": "phone",
        "twitter": "social",
        "api": "api",
    }
    want: dict[str, int] = {}
    for ticket in jsonl("tickets"):
        want[channels[ticket["via"]["channel"]]] = want.get(channels[ticket["via"]["channel"]], 0) + 1
    assert by_channel == want


def _ticket(db: Session, zendesk_id: int) -> Ticket:
    local = db.scalar(
        select(ImportedRecord.local_id).where(
            ImportedRecord.source == "zendesk",
            ImportedRecord.kind == "ticket",
            ImportedRecord.external_id == str(zendesk_id),
        )
    )
    return db.get_one(Ticket, local)


def _log(db: Session, ticket: Ticket) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    rows = db.execute(
        select(Event.type, Event.at, User.email, Event.data)
        .outerjoin(User, User.id == Event.actor_id)
        .where(Event.subject_type == "ticket", Event.subject_id == ticket.id)
        .order_by(Event.id)
    ).all()
    return [(t, at.strftime("%a %H:%M"), email, data) for t, at, email, data in rows]


def test_each_tickets_history_is_in_the_event_log_with_its_times_authors_and_people(
    desk: Session, tmp_path: Path
) -> None:
    run_import(tmp_path)
    db = desk
    groups = {g.id: g.name for g in db.scalars(select(Group))}
    # Ticket 2: pending, reopened by the customer, escalated to L2 with a private note, rated bad then good.
    two = _ticket(db, 2)
    log = _log(db, two)
    assert [(t, at, who) for t, at, who, _ in log] == [
        ("ticket_created", "Mon 10:00", "bob@borealis.example"),
        ("message_added", "Mon 10:00", "bob@borealis.example"),
        ("message_added", "Mon 10:20", "ben@desk.example"),
        ("group_changed", "Mon 10:20", "ben@desk.example"),
        ("assigned", "Mon 10:20", "ben@desk.example"),
        ("status_changed", "Mon 10:20", "ben@desk.example"),
        ("message_added", "Mon 14:00", "bob@borealis.example"),
        ("status_changed", "Mon 14:00", "bob@borealis.example"),
        ("message_added", "Mon 14:30", "ben@desk.example"),
        ("status_changed", "Mon 14:30", "ben@desk.example"),
        ("message_added", "Tue 09:00", "bob@borealis.example"),
        ("status_changed", "Tue 09:00", "bob@borealis.example"),
        ("message_added", "Tue 10:00", "ben@desk.example"),
        ("group_changed", "Tue 10:00", "ben@desk.example"),
        ("assigned", "Tue 10:00", "ben@desk.example"),
        ("message_added", "Tue 15:00", "cara@desk.example"),
        ("status_changed", "Tue 15:00", "cara@desk.example"),
        ("csat_received", "Tue 16:00", "bob@borealis.example"),
        ("csat_received", "Wed 10:00", "bob@borealis.example"),
    ]
    data = [d for _, _, _, d in log]
    assert data[0]["channel"] == "web" and data[0]["created_by_agent"] is False
    assert data[11] == {"from": "solved", "to": "open"}
    assert [groups[data[13]["from"]], groups[data[13]["to"]]] == ["Tier 1 Support", "Tier 2 Engineering"]
    assert data[12]["public"] is False and data[12]["author_kind"] == "agent"
    assert [data[17]["rating"], data[18]["rating"]] == ["bad", "good"]
    assert (
        two.status,
        two.group.name if two.group else None,
        two.assignee.email if two.assignee else None,
    ) == (
        Status.SOLVED,
        "Tier 2 Engineering",
        "cara@desk.example",
    )
    rating = db.scalar(select(CsatRating).where(CsatRating.ticket_id == two.id))
    assert rating is not None and (rating.rating.value, rating.comment) == ("good", "Works now")
    notes = db.scalars(select(Message).where(Message.ticket_id == two.id, Message.public.is_(False))).all()
    assert [(n.author.email if n.author else None, n.body_text) for n in notes] == [
        ("ben@desk.example", "Looks like a bug; sending to engineering.")
    ]

    # Ticket 4: a voice call an agent opened with a private note; ticket 20 an agent's proactive mail.
    four, twenty = _ticket(db, 4), _ticket(db, 20)
    assert four.channel.value == "phone" and _log(db, four)[0][3]["created_by_agent"] is True
    assert twenty.channel.value == "api" and twenty.tags == ["proactive"]
    # Ticket 11: tags and priority changed on the way; ticket 12 closed by Zendesk's automation (no actor).
    eleven = _log(db, _ticket(db, 11))
    assert [d for t, _, _, d in eleven if t == "tags_changed"] == [
        {"added": ["refund"], "removed": []},
        {"added": ["vip"], "removed": ["billing"]},
    ]
    assert sorted(_ticket(db, 11).tags) == ["refund", "vip"]
    assert [d for t, _, _, d in eleven if t == "priority_changed"] == [{"from": "normal", "to": "high"}]
    closing = _log(db, _ticket(db, 12))[-1]
    assert closing[:3] == ("status_changed", "Mon 12:00", None) and _ticket(db, 12).status is Status.CLOSED
    # A customer's unsafe HTML is stored sanitised.
    webhook = db.scalars(
        select(Message).where(Message.ticket_id == _ticket(db, 14).id).order_by(Message.id)
    ).first()
    assert webhook is not None and "<b>failed</b>" in webhook.body_html
    for unsafe in ("<script", "onerror", "javascript:"):
        assert unsafe not in webhook.body_html
    # People: roles, tiers from default groups, organisations by CRM id, the caller's phone number.
    people = {u.email or u.name: u for u in db.scalars(select(User))}
    assert (people["ana@desk.example"].role, people["ana@desk.example"].tier) == (Role.AGENT, Tier.L1)
    assert (people["cara@desk.example"].role, people["cara@desk.example"].tier) == (Role.AGENT, Tier.L2)
    assert people["dev@desk.example"].role is Role.ADMIN
    assert people["alice@acmehealth.example"].role is Role.REQUESTER
    acme = db.scalar(select(Organisation).where(Organisation.external_id == "SF-0001"))
    assert acme is not None and people["alice@acmehealth.example"].organisation_id == acme.id
    assert (
        db.scalar(
            select(Identity.value).where(
                Identity.user_id == people["Dave Kowalski"].id, Identity.kind == IdentityKind.PHONE
            )
        )
        == "+13125550147"
    )
    kinds = dict(db.execute(select(Message.author_kind, func.count()).group_by(Message.author_kind)).all())
    assert kinds[AuthorKind.AGENT] > 0 and kinds[AuthorKind.REQUESTER] > 0


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {
        model.__name__: int(db.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Ticket, Event, User, Message, Organisation, Group, CsatRating, ImportedRecord)
    }


def test_a_second_run_changes_nothing(desk: Session, tmp_path: Path) -> None:
    first = run_import(tmp_path)
    before = counts(desk)
    second = run_import(tmp_path)
    assert second["new"] == {"organisation": 0, "group": 0, "user": 0, "ticket": 0}
    assert second["already_imported"] == first["new"]
    assert (second["events"], second["messages"]) == (0, 0)
    assert second["metrics"] == first["metrics"]
    assert counts(desk) == before


def dump(db: Session) -> list[Any]:
    """The imported history without local ids: what must not depend on how many runs wrote it."""
    db.expire_all()
    emails = {u.id: u.email or u.name for u in db.scalars(select(User))}
    groups = {g.id: g.name for g in db.scalars(select(Group))}
    zendesk_of = {
        local: external
        for external, local in db.execute(
            select(ImportedRecord.external_id, ImportedRecord.local_id).where(ImportedRecord.kind == "ticket")
        )
    }
    out = []
    for ticket in db.scalars(select(Ticket)):
        events = []
        for event in db.scalars(
            select(Event)
            .where(Event.subject_type == "ticket", Event.subject_id == ticket.id)
            .order_by(Event.id)
        ):
            data = {k: v for k, v in event.data.items() if k != "message_id"}
            for key in ("from", "to", "group_id"):
                if event.type == "group_changed" or key == "group_id":
                    data[key] = groups.get(data.get(key))
            for key in ("from_assignee_id", "to_assignee_id", "requester_id"):
                if key in data:
                    data[key] = emails.get(data[key])
            data.pop("organisation_id", None)
            events.append((event.type, event.at.isoformat(), emails.get(event.actor_id), data))
        messages = [
            (m.created_at.isoformat(), emails.get(m.author_id), m.public, m.body_text)
            for m in db.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id))
        ]
        state = (ticket.status.value, groups.get(ticket.group_id), emails.get(ticket.assignee_id))
        out.append((zendesk_of[ticket.id], state, sorted(ticket.tags), ticket.solved_at, events, messages))
    return sorted(out, key=lambda t: int(t[0]))


def test_a_run_killed_mid_batch_then_run_again_ends_as_one_clean_run(
    desk: Session, engine: Engine, session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    problems: list[Problem] = []
    parsed = runner.read_zendesk(FIXTURE, problems)
    runner.run(session_factory, parsed, source="zendesk", clock=clock, problems=problems, batch=4)
    clean, clean_counts = dump(desk), counts(desk)
    desk.close()
    _empty_all_tables(engine)
    _dublin_hours(desk, clock)

    real_write = runner.write_ticket
    written = 0

    def dies_on_the_eleventh(*args: Any, **kwargs: Any) -> bool:
        nonlocal written
        written += 1
        if written == 11:  # third ticket of the third batch: two batches are committed
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(runner, "write_ticket", dies_on_the_eleventh)
    with pytest.raises(KeyboardInterrupt):
        runner.run(session_factory, runner.read_zendesk(FIXTURE, []), source="zendesk", clock=clock, batch=4)
    assert counts(desk)["Ticket"] == 8
    monkeypatch.setattr(runner, "write_ticket", real_write)

    resumed = run_import(tmp_path)
    assert resumed["new"]["ticket"] == 12 and resumed["already_imported"]["ticket"] == 8
    assert all(m["differ"] == 0 for m in resumed["metrics"])
    assert dump(desk) == clean
    assert counts(desk) == clean_counts


def test_what_cannot_be_mapped_is_reported_by_file_and_line(desk: Session, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("*.py"))
    with (folder / "ticket_events.jsonl").open("a") as handle:
        handle.write("{not json\n")
        audit = {"event_type": "Audit", "ticket_id": 999, "created_at": "2026-01-06T10:00:00Z",
                 "updater_id": 501, "via": "Web form", "child_events": []}  # fmt: skip
        handle.write(json.dumps(audit) + "\n")
        odd_fields = [
            {"event_type": "Change", "custom_field_360": "gold", "previous_value": None},
            {"event_type": "LogMeInTranscript", "body": "..."},
            {"event_type": "Comment", "body": "From a deleted user", "public": True, "author_id": 4242},
        ]
        audit = audit | {"ticket_id": 15, "created_at": "2026-01-09T11:00:00Z", "child_events": odd_fields}
        handle.write(json.dumps(audit) + "\n")
    with (folder / "users.jsonl").open("a") as handle:
        handle.write(
            json.dumps(
                {"id": 950, "name": "Light agent", "email": "light@desk.example", "role": "light-agent"}
            )
            + "\n"
        )
    tickets = (folder / "tickets.jsonl").read_text().splitlines()
    odd = json.loads(tickets[0]) | {"id": 21, "via": {"channel": "carrier_pigeon"}, "requester_id": 4040}
    gone = json.loads(tickets[0]) | {"id": 22, "status": "deleted"}
    (folder / "tickets.jsonl").write_text("\n".join([*tickets, json.dumps(odd), json.dumps(gone)]) + "\n")

    result = cli.invoke(app, ["import", "zendesk", str(folder)])
    assert result.exit_code == 0, result.output
    events_lines = len((FIXTURE / "ticket_events.jsonl").read_text().splitlines())
    for line in (
        f"ticket_events.jsonl:{events_lines + 1}: not JSON",
        f"ticket_events.jsonl:{events_lines + 2}: ticket 999 is not in tickets.jsonl",
        f"ticket_events.jsonl:{events_lines + 3}: Change of field 'custom_field_360' not mapped",
        f"ticket_events.jsonl:{events_lines + 3}: child event 'LogMeInTranscript' not mapped",
        f"ticket_events.jsonl:{events_lines + 3}: ticket 15: comment author 4242 was not imported; left out",
        "users.jsonl:13: unknown role 'light-agent'; imported as a requester",
        "tickets.jsonl:21: channel 'carrier_pigeon' not mapped; imported as api",
        "tickets.jsonl:21: ticket 21 has no events: only its current state is imported",
        "tickets.jsonl:21: ticket 21: requester 4040 was not imported; ticket skipped",
        "tickets.jsonl:22: ticket 22 was deleted in Zendesk; not imported",
    ):
        assert line in result.output, line
    assert "tickets: 20 new" in result.output


def test_a_folder_without_the_required_files_is_refused_before_any_write(
    desk: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    shutil.copy(FIXTURE / "users.jsonl", folder / "users.jsonl")
    result = cli.invoke(app, ["import", "zendesk", str(folder)])
    assert result.exit_code == 2
    assert "missing organizations.jsonl, groups.jsonl, tickets.jsonl, ticket_events.jsonl" in result.output
    assert counts(desk)["User"] == 0
    result = cli.invoke(app, ["import", "zendesk", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such folder" in result.output


def test_without_the_business_schedule_the_report_says_why_business_times_differ(
    engine: Engine, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    report = run_import(tmp_path)
    get_settings.cache_clear()
    differ = {(m["metric"], m["variant"]): m["differ"] for m in report["metrics"]}
    assert differ[("first_reply_time", "calendar")] == 0
    assert differ[("first_reply_time", "business")] == 4  # tickets 1, 4, 8 and 18 wait outside office hours
    assert report["notes"] and "no SLA policy with business hours" in report["notes"][0]
