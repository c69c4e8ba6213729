"""The intraday view and its job on the database (SQLite and PostgreSQL): the day's numbers against a
hand-computed morning, and the job's baseline and re-forecasts read back after commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.background import load_job_modules
from opsdesk.core.clock import FixedClock
from opsdesk.core.jobs import JobContext
from opsdesk.core.settings import Settings
from opsdesk.workforce.channels import Channel
from opsdesk.workforce.intraday.day import intraday_day
from opsdesk.workforce.intraday.jobs import REFORECAST_JOB
from opsdesk.workforce.models import IntradayBaseline, IntradayReforecast
from opsdesk.workforce.staffing import StaffingTargets, staff_intervals
from tests.workforce.intraday_scene import NOW, PHONE, morning
from tests.workforce.test_planning import add_desk_history

RATIO = 250 / 170


def required(volume: float) -> tuple[int, int]:
    """Agents (before, after shrinkage) the phone targets need for `volume` calls in 15 minutes."""
    targets = StaffingTargets(
        channel=Channel.PHONE,
        interval_seconds=900,
        aht_seconds=PHONE["aht_seconds"],
        service_level=PHONE["service_level"],
        answer_within_seconds=PHONE["answer_within_seconds"],
        shrinkage=PHONE["shrinkage"],
    )
    row = staff_intervals({"timestamp": [NOW], "volume": [volume]}, targets).iloc[0]
    return int(row["agents"]), int(row["scheduled_agents"])


def test_the_day_sets_arrivals_against_the_plan_and_agents_against_the_requirement(
    db: Session, clock: FixedClock
) -> None:
    scene = morning(db, clock)
    day = intraday_day(db, now=NOW, zone=ZoneInfo("UTC"))
    assert day.starts[0] == datetime(2026, 3, 2, tzinfo=UTC) and len(day.starts) == 96
    assert day.current == 40  # 10:00
    assert day.targets_source == f"plan run #{scene.plan.id}"
    assert [c.channel for c in day.channels] == ["phone"] and day.left_out == {}
    phone = day.channels[0]
    assert phone.source == f"plan run #{scene.plan.id}"
    assert phone.forecast == [10.0] * 96  # the plan's 40 an hour, in quarters
    assert phone.actual[22] == 5 and phone.actual[24:40] == [15.0] * 16 and phone.actual[40] == 3
    assert phone.actual[41] is None  # the future has not arrived
    assert (phone.window_actual, phone.window_forecast) == (240, 160)
    assert phone.ratio == pytest.approx(RATIO)
    assert phone.reforecast[39] == 15 and phone.reforecast[40:] == pytest.approx([10 * RATIO] * 56)
    # Required from what arrived before now, from the re-forecast from now on.
    assert (phone.required[39], phone.required_on_shift[39]) == required(15)
    assert (phone.required[40], phone.required_on_shift[40]) == required(round(10 * RATIO, 2))
    assert day.required == phone.required and day.required_on_shift == phone.required_on_shift

    assert day.scheduled[37:42] == pytest.approx([2, 1, 1, 2, 2])  # 09:15 ... 10:15; Ben's time off at 09:30
    assert day.online[28] == 1  # Cai 07:00-07:15
    assert day.online[37:42] == pytest.approx([1 + 10 / 15, 2, 2, 2, None])
    assert day.scheduled[64] == 1 and day.scheduled[68] == 0  # 16:00 Ben only; 17:00 nobody

    rows = {agent.name: agent for agent in day.agents}
    assert list(rows) == ["ana", "ben", "cai"]  # 30 minutes out of adherence each, then by name
    ana, ben, cai = rows["ana"], rows["ben"], rows["cai"]
    assert (ana.adherence.scheduled_minutes, ana.adherence.adherent_minutes) == (127, 97)
    assert (
        ana.adherence.adherence == pytest.approx(97 / 127) and ana.on_shift_now and ana.status_now == "online"
    )
    assert (ben.adherence.scheduled_minutes, ben.adherence.unscheduled_online_minutes) == (37, 30)
    assert ben.adherence.adherence == 1.0
    assert cai.adherence.adherence is None and cai.adherence.out_of_adherence_minutes == 30
    assert not cai.on_shift_now and cai.status_now == "offline"

    # In Manila it is 18:07: the day started at 16:00 UTC the day before; the same ratio applies.
    manila = intraday_day(db, now=NOW, zone=ZoneInfo("Asia/Manila"))
    assert manila.starts[0] == datetime(2026, 3, 1, 16, tzinfo=UTC) and manila.current == 72
    assert manila.channels[0].ratio == pytest.approx(RATIO)
    assert manila.channels[0].actual[72] == 3


def test_the_job_stores_a_baseline_once_a_day_and_a_re_forecast_each_quarter(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    registry = load_job_modules()
    assert registry.periodics[REFORECAST_JOB].every == timedelta(minutes=15)
    clock.set(datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    phone_times = add_desk_history(db, clock.now(), days=28, channels={"social": 10})

    def run_job() -> None:
        db.commit()  # the test's own session holds no snapshot while the job writes
        context = JobContext(
            session_factory=session_factory,
            clock=clock,
            settings=settings,
            name=REFORECAST_JOB,
            job_id="test",
            attempt=1,
            key=None,
        )
        registry.jobs[REFORECAST_JOB].handler(context, {})
        db.commit()

    run_job()
    baselines = {b.channel: b for b in db.scalars(select(IntradayBaseline))}
    assert set(baselines) == {"phone", "chat", "email"}  # social: 10 days of history are too few
    phone = baselines["phone"]
    assert phone.origin == datetime(2026, 3, 1, tzinfo=UTC) and len(phone.forecast) == 3 * 96
    rows = {r.channel: r for r in db.scalars(select(IntradayReforecast))}
    assert set(rows) == {"phone", "chat", "email"}
    tick = datetime(2026, 3, 2, 9, tzinfo=UTC)
    window = (tick - timedelta(hours=4), tick)
    arrived = sum(window[0] <= t < window[1] for t in phone_times)
    expected = sum(phone.forecast[96 + 20 : 96 + 36])  # 05:00 to 09:00 on the second day
    assert rows["phone"].at == tick and rows["phone"].window_actual == arrived
    assert rows["phone"].window_forecast == pytest.approx(expected, abs=1e-3)
    assert rows["phone"].ratio == pytest.approx((arrived + 10) / (expected + 10), rel=1e-4)
    assert rows["phone"].source.startswith("desk history to 2026-03-01")

    # Delivered again in the same quarter: the same rows, the baseline not made again.
    made_at = phone.made_at
    run_job()
    assert db.scalar(select(func.count()).select_from(IntradayReforecast)) == 3
    assert db.scalar(select(func.count()).select_from(IntradayBaseline)) == 3
    assert (
        db.scalars(select(IntradayBaseline).where(IntradayBaseline.channel == "phone")).one().made_at
        == made_at
    )

    clock.advance(timedelta(minutes=15))
    run_job()
    assert db.scalar(select(func.count()).select_from(IntradayReforecast)) == 6
    # The page computes the same re-forecast on demand, from the stored baseline.
    day = intraday_day(db, now=clock.now(), zone=ZoneInfo("UTC"))
    latest = db.scalars(
        select(IntradayReforecast)
        .where(IntradayReforecast.channel == "phone")
        .order_by(IntradayReforecast.at.desc())
    ).first()
    assert latest is not None
    shown = next(c for c in day.channels if c.channel == "phone")
    assert shown.ratio == pytest.approx(latest.ratio) and shown.source == latest.source
    assert "social" in day.left_out and "21" in day.left_out["social"]
    assert len(day.job_runs) == 6
