"""KPI targets and their alerts, through the hourly job with an injected clock and a real SMTP server on
loopback: one email per excursion, none while a KPI stays out, again after it came back and left."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import Event
from opsdesk.core.jobs import JobContext
from opsdesk.core.settings import Settings
from opsdesk.insights.reports.jobs import check_kpi_targets
from opsdesk.insights.reports.models import KpiTarget
from opsdesk.insights.reports.targets import set_target
from tests.desk.channels.sink import Sink, smtp_sink


def run_job(factory: sessionmaker[Session], settings: Settings, at: datetime) -> None:
    ctx = JobContext(factory, FixedClock(at), settings, "insights.check_kpi_targets", "job-1", 1, None)
    check_kpi_targets(ctx, {})


def subjects(sink: Sink) -> list[str]:
    return [str(m["Subject"]) for m in sink.messages()]


def test_an_alert_once_per_excursion(
    two_weeks: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    desk = set_target(
        two_weeks, kpi="first_reply_time", high=3600, low=None, now=day, notify="lead@example.com"
    )
    lisbon = set_target(
        two_weeks,
        kpi="csat",
        low=0.8,
        high=None,
        now=day,
        scope="site",
        scope_name="Lisbon",
        notify="pt@example.com",
    )
    two_weeks.commit()
    with smtp_sink() as sink:
        smtp = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})
        run_job(session_factory, smtp, datetime(2026, 3, 9, 6, tzinfo=UTC))  # 2-8 March: 35 min, CSAT 100%
        assert sink.received == []
        run_job(session_factory, smtp, datetime(2026, 3, 16, 6, tzinfo=UTC))  # 9-15 March: 75 min, 0%
        assert sorted(subjects(sink)) == [
            "KPI alert: CSAT for site Lisbon is 0.0%, outside 80.0% to any",
            "KPI alert: First reply time (median) for the desk is 1.25 h, outside any to 1.00 h",
        ]
        assert sorted(r for _f, rcpt, _raw in sink.received for r in rcpt) == [
            "lead@example.com",
            "pt@example.com",
        ]
        run_job(session_factory, smtp, datetime(2026, 3, 16, 7, tzinfo=UTC))  # still out: no more mail
        assert len(sink.received) == 2
        run_job(session_factory, smtp, datetime(2026, 3, 17, 6, tzinfo=UTC))  # 10-16 March: 17.5 min, back in
        assert len(sink.received) == 2
        with session_factory() as check:
            assert check.get(KpiTarget, desk.id).breached_since is None  # type: ignore[union-attr]
            assert check.get(KpiTarget, lisbon.id).breached_since is not None  # type: ignore[union-attr]
            set_target(
                check,
                kpi="first_reply_time",
                high=600,
                low=None,
                now=datetime(2026, 3, 17, tzinfo=UTC),
                notify="lead@example.com",
            )
            check.commit()
        run_job(session_factory, smtp, datetime(2026, 3, 17, 8, tzinfo=UTC))  # a new excursion: mail again
        assert (
            subjects(sink)[2]
            == "KPI alert: First reply time (median) for the desk is 17.5 min, outside any to 10.0 min"
        )
    with session_factory() as check:
        types = check.scalars(
            select(Event.type)
            .where(Event.subject_type == "kpi_target", Event.subject_id == desk.id)
            .order_by(Event.id)
        ).all()
        assert types == [
            "kpi_target_set",
            "kpi_target_breached",
            "kpi_target_recovered",
            "kpi_target_set",
            "kpi_target_breached",
        ]


def test_the_values_checked_are_the_kpi_rows(two_weeks: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The value that opened the Lisbon excursion is `opsdesk kpi csat --by site` for the same days."""
    from opsdesk.insights.reports.targets import check_targets

    set_target(
        two_weeks,
        kpi="first_reply_time:p90",
        high=60,
        low=None,
        now=datetime(2026, 3, 1, tzinfo=UTC),
        scope="group",
        scope_name="Billing",
    )
    sent: list[object] = []
    check_targets(two_weeks, now=datetime(2026, 3, 16, tzinfo=UTC), send=sent.append)
    two_weeks.commit()
    target = two_weeks.scalars(select(KpiTarget)).one()
    monkeypatch.setattr("opsdesk.cli.kpi.clock", FixedClock(datetime(2026, 3, 16, tzinfo=UTC)))
    out = (
        CliRunner()
        .invoke(
            app,
            [
                "kpi",
                "first_reply_time",
                "--from",
                "2026-03-09",
                "--to",
                "2026-03-15",
                "--by",
                "group",
                "--format",
                "json",
            ],
        )
        .output
    )
    (billing,) = [r for r in json.loads(out) if r["group"] == "Billing"]
    assert target.breached_value == billing["p90_s"]
    assert sent == []  # no one to notify: the excursion is recorded, nothing is sent


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kpi": "csat", "low": None, "high": None}, "low"),
        ({"kpi": "csat", "low": 0.9, "high": 0.8}, "low"),
        ({"kpi": "csat", "low": 0.9, "high": None, "scope": "team"}, "scope"),
        ({"kpi": "csat", "low": 0.9, "high": None, "scope": "site"}, "scope_name"),
        ({"kpi": "sla_attainment", "low": 0.9, "high": None}, "sla_target"),
        ({"kpi": "csat", "low": 0.9, "high": None, "notify": "lead"}, "notify"),
        ({"kpi": "csat:median", "low": 0.9, "high": None}, "kpi"),
    ],
)
def test_bad_targets_are_refused_naming_the_field(db: Session, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        set_target(db, now=datetime(2026, 3, 1, tzinfo=UTC), **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_the_check_runs_hourly_and_the_weekly_report_once_mail_is_configured(settings: Settings) -> None:
    """Alerts may go by webhook alone, so the check always runs; the scheduled report needs mail."""
    from datetime import timedelta

    from opsdesk.background import load_job_modules

    periodics = load_job_modules().periodics
    check, report = periodics["insights.check_kpi_targets"], periodics["insights.send_weekly_report"]
    assert check.every == timedelta(hours=1) and check.enabled(settings)
    assert report.every == timedelta(minutes=10)
    assert not report.enabled(settings)
    assert report.enabled(settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:2525"}))
