"""The weekly report on a schedule (SQLite and PostgreSQL), through the job with an injected clock and a
real SMTP server on loopback: last week's report goes once, at the chosen weekday and hour in the
chosen zone, with the PDF's numbers those of `opsdesk kpi`; a second run sends nothing, a failed send
is retried. The schedule is set over the API and on the admin page (real HTTP), read back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs import JobContext
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.insights.reports.jobs import send_weekly_report
from opsdesk.insights.reports.models import ReportSchedule, ReportSend
from opsdesk.insights.reports.schedule import set_schedule
from tests.conftest import LiveServer, free_port
from tests.desk.channels.sink import smtp_sink
from tests.factories import make_token, make_user
from tests.insights.reports.test_weekly_report import LINES, kpi_json, pdf_text, pick, shown
from tests.web.signin_http import sign_in_http

# Lisbon is on UTC (WET) in March: Monday 08:00 there is 08:00 UTC.
SENDS_AT = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # the report of 9-15 March (2026-W11)


def run(factory: sessionmaker[Session], settings: Settings, at: datetime) -> None:
    ctx = JobContext(factory, FixedClock(at), settings, "insights.send_weekly_report", "job-1", 1, None)
    send_weekly_report(ctx, {})


def sent_weeks(factory: sessionmaker[Session]) -> list[tuple[date, list[str]]]:
    with factory() as check:
        return [(s.week, s.recipients) for s in check.scalars(select(ReportSend).order_by(ReportSend.week))]


def test_last_weeks_report_goes_once_at_the_chosen_hour_with_the_kpi_numbers(
    two_weeks: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Switched on Tuesday 10 March: the report of 2-8 March was due the day before, so it is not sent late.
    set_schedule(
        two_weeks,
        recipients=["lead@example.com", "director@example.com"],
        weekday=0,
        hour=8,
        timezone="Europe/Lisbon",
        active=True,
        actor=None,
        now=datetime(2026, 3, 10, 9, tzinfo=UTC),
    )
    two_weeks.commit()
    monkeypatch.setattr("opsdesk.cli.kpi.clock", FixedClock(SENDS_AT))  # `opsdesk kpi` sees the job's now
    with smtp_sink() as sink:
        smtp = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})
        run(session_factory, smtp, datetime(2026, 3, 12, 9, tzinfo=UTC))
        run(session_factory, smtp, datetime(2026, 3, 16, 7, 55, tzinfo=UTC))  # not yet 08:00 in Lisbon
        assert sink.received == [] and sent_weeks(session_factory) == []
        run(session_factory, smtp, SENDS_AT)
        run(
            session_factory, smtp, datetime(2026, 3, 16, 8, 10, tzinfo=UTC)
        )  # the next run, or a second worker
        run(session_factory, smtp, datetime(2026, 3, 22, 23, 50, tzinfo=UTC))
    assert len(sink.received) == 1
    sender, recipients, _raw = sink.received[0]
    assert (sender, sorted(recipients)) == (
        "support@opsdesk.test",
        ["director@example.com", "lead@example.com"],
    )
    assert sent_weeks(session_factory) == [(date(2026, 3, 9), ["lead@example.com", "director@example.com"])]
    (mail,) = sink.messages()
    assert mail["Subject"] == "Weekly report 2026-W11 (2026-03-09 to 2026-03-15)"
    assert mail.get_body(("html",)) is not None
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = pdf_text(attachment.get_content())
    current, previous = kpi_json("current"), kpi_json("previous")
    assert pick(current, "tickets_created", None)["value"] == 4  # type: ignore[index]  # not two empty tables
    for label, metric, sla_target, field, kind in LINES:
        expected = (
            f"{label} {shown(pick(current, metric, sla_target), field, kind)} "
            f"{shown(pick(previous, metric, sla_target), field, kind)}"
        )
        assert expected in text, (expected, text)


def test_a_failed_send_is_retried_and_a_week_taken_by_another_worker_is_not_sent(
    two_weeks: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    set_schedule(
        two_weeks,
        recipients=["lead@example.com"],
        weekday=6,
        hour=19,
        timezone="America/Chicago",  # Sunday 19:00 CDT is Monday 00:00 UTC: the week has just ended
        active=True,
        actor=None,
        now=datetime(2026, 3, 20, tzinfo=UTC),
    )
    two_weeks.commit()
    due = datetime(2026, 3, 23, 0, 5, tzinfo=UTC)  # 16-22 March's send time: Sunday 22 March 19:00 CDT
    before = datetime(2026, 3, 22, 23, 55, tzinfo=UTC)
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})  # nothing listens
    with smtp_sink() as sink:
        up = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})
        run(session_factory, up, before)
        assert sink.received == []
        with pytest.raises(OSError):
            run(session_factory, down, due)
        assert sent_weeks(session_factory) == []  # the send record rolled back with the failure
        run(session_factory, up, due)
        assert [m["Subject"] for m in sink.messages()] == [
            "Weekly report 2026-W12 (2026-03-16 to 2026-03-22)"
        ]
        with session_factory() as other:  # another worker's record of the next week
            other.add(ReportSend(report="weekly", week=date(2026, 3, 23), recipients=[], sent_at=due))
            other.commit()
        run(session_factory, up, datetime(2026, 3, 30, 0, 5, tzinfo=UTC))
        assert len(sink.received) == 1


def test_the_schedule_over_the_api_and_the_admin_page(
    db: Session, live_server: LiveServer, clock: FixedClock
) -> None:
    admin_user = make_user(db, clock, Role.ADMIN, email="ada@example.com")
    admin = live_server.client(make_token(db, clock, admin_user))
    analyst = live_server.client(make_token(db, clock, make_user(db, clock, Role.ANALYST)))
    db.commit()
    assert admin.get("/api/v1/reports/weekly/schedule").status_code == 404
    body = {"recipients": ["lead@example.com"], "weekday": "friday", "hour": 17, "timezone": "Asia/Manila"}
    made = admin.put("/api/v1/reports/weekly/schedule", json=body)
    assert made.status_code == 200, made.text
    # Now Monday 2 March 09:00 UTC: 23 February-1 March's report goes Friday 6 March 17:00 in Manila.
    assert datetime.fromisoformat(made.json()["next_send_at"]) == datetime(2026, 3, 6, 9, tzinfo=UTC)
    assert made.json()["sent"] == []
    assert analyst.get("/api/v1/reports/weekly/schedule").status_code == 403
    assert analyst.put("/api/v1/reports/weekly/schedule", json=body).status_code == 403
    for bad, field in (
        ({**body, "timezone": "Mars/Olympus"}, "timezone"),
        ({**body, "recipients": ["lead"]}, "recipients"),
        ({**body, "recipients": []}, "recipients"),
        ({**body, "hour": 24}, "hour"),
        ({**body, "weekday": "someday"}, "weekday"),
    ):
        answer = admin.put("/api/v1/reports/weekly/schedule", json=bad)
        assert answer.status_code == 422 and field in answer.text, (bad, answer.text)
    db.expire_all()
    stored = db.get(ReportSchedule, "weekly")
    assert stored is not None
    assert (stored.recipients, stored.weekday, stored.hour, stored.timezone) == (
        ["lead@example.com"],
        4,
        17,
        "Asia/Manila",
    )

    with httpx.Client(base_url=live_server.url, timeout=10) as browser:
        sign_in_http(browser, "ada@example.com")
        page = browser.get("/admin/reports")
        assert page.status_code == 200 and 'value="lead@example.com"' in page.text
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {
            "csrf_token": token,
            "recipients": "a@example.com, b@example.com",
            "weekday": "0",
            "hour": "7",
        }
        saved = browser.post("/admin/reports", data={**form, "timezone": "Europe/Dublin", "active": "on"})
        assert saved.status_code == 303
        refused = browser.post("/admin/reports", data={**form, "timezone": "Nowhere", "active": "on"})
        assert refused.status_code == 422 and "unknown time zone" in refused.text
    db.expire_all()
    stored = db.get(ReportSchedule, "weekly")
    assert stored is not None
    assert (stored.recipients, stored.weekday, stored.timezone, stored.active) == (
        ["a@example.com", "b@example.com"],
        0,
        "Europe/Dublin",
        True,
    )
