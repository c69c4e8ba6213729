"""A plan run from a small synthetic desk history: forecast, requirement, schedule and hiring sections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import Event
from opsdesk.demo.people import SITES as DEMO_PEOPLE_SITES
from opsdesk.workforce import queries
from opsdesk.workforce.actions import build_plan_run
from opsdesk.workforce.default_plan import DEMO_SITES, default_plan
from opsdesk.workforce.models import PlanRun, PlanStatus
from opsdesk.workforce.planning import build_plan, parse_config

CHANNEL_MIX = {"email": 0.38, "chat": 0.30, "phone": 0.20, "social": 0.12}
# Contacts by UTC hour as the demo sends them: the Americas in their day, EMEA and APAC in theirs.
HOUR_WEIGHTS = np.zeros(24)
HOUR_WEIGHTS[[*range(14, 24), 0, 1]] += 0.6 / 12
HOUR_WEIGHTS[list(range(7, 18))] += 0.2 / 11
HOUR_WEIGHTS[list(range(0, 10))] += 0.2 / 10


def add_desk_history(
    db: Session,
    now: datetime,
    *,
    days: int = 42,
    per_day: float = 320,
    channels: dict[str, int] | None = None,
    seed: int = 5,
) -> list[datetime]:
    """ticket_created events (as the desk appends them) for `days` before now; `channels` maps a
    channel to fewer days of history. Returns the creation times, for checking counts."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    first_hour = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    hours = int((now - first_hour) / timedelta(hours=1)) + 1
    for h in range(hours):
        start = first_hour + timedelta(hours=h)
        weekend = 0.45 if start.weekday() >= 5 else 1.0
        for channel, share in CHANNEL_MIX.items():
            if start < now - timedelta(days=(channels or {}).get(channel, days)):
                continue
            for _ in range(int(rng.poisson(per_day * HOUR_WEIGHTS[start.hour] * weekend * share))):
                at = start + timedelta(seconds=int(rng.integers(3600)))
                if at < now:
                    rows.append(
                        {
                            "at": at,
                            "subject_type": "ticket",
                            "subject_id": len(rows) + 1,
                            "type": "ticket_created",
                            "data": {"channel": channel, "status": "new"},
                        }
                    )
    db.execute(insert(Event), rows)
    db.commit()
    return [row["at"] for row in rows if row["data"]["channel"] == "phone"]


def quick_config(now: datetime) -> dict[str, Any]:
    config = default_plan(now)
    config["schedule_time_limit_seconds"] = 5
    return config


def test_plan_from_desk_history_has_every_section_with_sane_numbers(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    now = clock.now() + timedelta(minutes=20)  # mid-interval: the current hour is still filling up
    clock.set(now)
    phone_times = add_desk_history(db, now)
    steps: list[str] = []
    run = build_plan(db, config=quick_config(now), clock=clock, progress=steps.append)
    db.commit()
    assert run.status is PlanStatus.COMPLETE and run.summary["notes"] == []
    assert steps[0] == "phone: forecast and staffed" and steps[-1] == "hiring plan" and len(steps) == 11

    # Forecast vs actual: actuals are the desk's own counts; the back-test overlaps the last week.
    phone = run.forecast["phone"]
    stamps = [datetime.fromisoformat(s) for s in phone["timestamps"]]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert phone["now"] == start.isoformat()
    assert phone["cutoff"] == (start.replace(hour=0) - timedelta(days=7)).isoformat()
    assert stamps[0] == start.replace(hour=0) - timedelta(days=21)
    assert stamps[-1] == start + timedelta(days=14, hours=-1)
    one = stamps.index(start - timedelta(hours=5))
    expected = sum(1 for at in phone_times if start - timedelta(hours=5) <= at < start - timedelta(hours=4))
    assert phone["actual"][one] == expected
    assert phone["actual"][stamps.index(start)] is None  # the future has no actuals
    cutoff = stamps.index(datetime.fromisoformat(phone["cutoff"]))
    assert all(v is None for v in phone["forecast"][:cutoff]) and None not in phone["forecast"][cutoff:]
    for lo, point, hi in zip(
        phone["lo80"][cutoff:], phone["forecast"][cutoff:], phone["hi80"][cutoff:], strict=True
    ):
        assert lo <= point <= hi
    actual_week = sum(1 for at in phone_times if datetime.fromisoformat(phone["cutoff"]) <= at < start)
    assert phone["backtest_actual"] == actual_week
    assert (
        abs(phone["backtest_forecast"] - actual_week) < 0.25 * actual_week
    )  # a steady series forecasts well
    assert phone["backtest_wape_pct"] < 60

    # Requirement: people needed whenever contacts come in, none in the hours nobody writes.
    requirement = run.requirement
    req_stamps = [datetime.fromisoformat(s) for s in requirement["timestamps"]]
    assert len(req_stamps) == 14 * 24 and req_stamps[0] == start
    for channel in CHANNEL_MIX:
        values = requirement["by_channel"][channel]
        busy = [
            v
            for at, v in zip(req_stamps, values, strict=True)
            if at.hour in (15, 16, 17) and at.weekday() < 5
        ]
        assert min(busy) > 0, channel
    # The split hands every agent to an open site (or reports it unserved): nothing is lost.
    for i in range(len(req_stamps)):
        split = sum(site[c][i] for site in requirement["by_site"].values() for c in CHANNEL_MIX)
        assert split + requirement["unserved"][i] == sum(requirement["by_channel"][c][i] for c in CHANNEL_MIX)
    assert run.summary["peak_required"] == max(
        sum(requirement["by_channel"][c][i] for c in CHANNEL_MIX) for i in range(len(req_stamps))
    )

    # The scheduled week covers most of the requirement at every site.
    schedule = run.schedule
    assert len(schedule["timestamps"]) == 7 * 24
    totals = schedule["totals"]
    assert totals["required"] > 0 and totals["shifts"] > 0
    assert totals["under"] <= 0.1 * totals["required"] and totals["covered_pct"] >= 90
    for name, site in schedule["sites"].items():
        assert sum(site["required"]) > 0, name
        assert sum(site["scheduled"]) >= 0.8 * sum(site["required"]), name
        assert site["agents"] <= site["headcount"]
    # Every shift of every line is kept for assigning named agents: 8.5 hours less the 30-minute break.
    assert len(schedule["lines"]) == totals["shifts"]
    assert {line["site"] for line in schedule["lines"]} == set(schedule["sites"])
    assert all(line["work_minutes"] == 480 and line["skills"] for line in schedule["lines"])
    week_required = sum(
        sum(site[c][: 7 * 24]) for site in requirement["by_site"].values() for c in CHANNEL_MIX
    ) + sum(requirement["unserved"][: 7 * 24])
    assert totals["required"] == week_required

    # Hiring: 12 months x 5 sites x 2 skills; demand grows, attrition bites, so hires appear.
    rows = run.hiring["rows"]
    assert len(rows) == 12 * 5 * 2
    months = sorted({row["month"] for row in rows})
    assert months[0] == "2026-04" and months[-1] == "2027-03"
    required = [sum(r["required_fte"] for r in rows if r["month"] == m) for m in months]
    assert required == sorted(required) and required[-1] > required[0]
    assert run.summary["hires"] == sum(r["hires_starting"] for r in rows) > 0

    # Stored: a fresh session reads the same run back, and the build left its event.
    with session_factory() as other:
        stored = queries.latest_plan(other)
        assert stored is not None and stored.id == run.id
        assert stored.schedule["totals"] == totals and stored.config["interval_minutes"] == 60
        event = other.scalars(select(Event).where(Event.type == "plan_built")).one()
        assert event.subject_id == run.id and event.data["hires"] == run.summary["hires"]


def test_a_channel_with_too_little_history_is_left_out_and_said_so(db: Session, clock: FixedClock) -> None:
    add_desk_history(db, clock.now(), channels={"social": 10})
    run = build_plan(db, config=quick_config(clock.now()), clock=clock)
    assert run.status is PlanStatus.PARTIAL
    assert set(run.forecast) == {"phone", "chat", "email"}
    assert set(run.requirement["by_channel"]) == {"phone", "chat", "email"}
    (note,) = run.summary["notes"]
    assert note.startswith("social left out:") and "at least 21" in note


def test_a_short_history_plans_the_future_without_a_back_test(db: Session, clock: FixedClock) -> None:
    add_desk_history(db, clock.now(), days=24)
    run = build_plan(db, config=quick_config(clock.now()), clock=clock)
    phone = run.forecast["phone"]
    assert phone["cutoff"] is None and "at least 21" in phone["backtest_note"]
    assert "backtest_wape_pct" not in phone
    assert run.requirement["by_channel"]["phone"] and run.schedule["totals"]["required"] > 0


def test_no_history_at_all_names_the_channels(db: Session, clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed) as caught:
        build_plan(db, config=quick_config(clock.now()), clock=clock)
    assert caught.value.field == "channels" and "no phone tickets" in caught.value.message
    assert db.scalars(select(PlanRun)).first() is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["channels"]["phone"].update(aht_seconds=0), "channels.phone.aht_seconds"),
        (lambda c: c["channels"]["phone"].update(concurrency=2), "channels.phone.concurrency"),
        (lambda c: c["channels"]["email"].update(patience_seconds=60), "channels.email.patience_seconds"),
        (lambda c: c["channels"].update(fax={"aht_seconds": 60}), "channels.fax"),
        (lambda c: c.update(interval_minutes=45), "interval_minutes"),
        (lambda c: c.update(horizon=3), "horizon"),
        (lambda c: c["sites"]["sites"][1].update(timezone="Mars/Olympus"), "sites.sites[1].timezone"),
        (lambda c: c["hiring"].update(start_month="2027-13"), "hiring.start_month"),
    ],
)
def test_config_errors_name_the_key(change: Any, field: str, clock: FixedClock) -> None:
    config = default_plan(clock.now())
    change(config)
    with pytest.raises(ValidationFailed) as caught:
        parse_config(config)
    assert caught.value.field == field


def test_demo_plan_matches_the_demo_people(clock: FixedClock) -> None:
    people = [(name, zone, l1, l2, languages) for name, zone, l1, l2, languages in DEMO_PEOPLE_SITES]
    assert [site[:5] for site in DEMO_SITES] == people
    config, targets = parse_config(default_plan(clock.now()))
    assert [site.headcount for site in config.sites.sites] == [l1 + l2 for _n, _z, l1, l2, _l in people]
    assert targets["chat"].concurrency == 3 and targets["email"].answer_within_seconds == 4 * 3600


def test_a_rebuild_reuses_the_latest_configuration(db: Session, clock: FixedClock) -> None:
    add_desk_history(db, clock.now())
    config = quick_config(clock.now())
    config["horizon_days"] = 8
    first = build_plan(db, config=config, clock=clock)
    clock.advance(timedelta(hours=1))
    second = build_plan_run(db, created_by=None, clock=clock)
    assert second.id != first.id and second.config["horizon_days"] == 8
    assert len(second.requirement["timestamps"]) == 8 * 24
    assert queries.latest_plan(db) is second and queries.plan_by_id(db, first.id) is first
    assert [run.id for run in queries.recent_plans(db)] == [second.id, first.id]
    with pytest.raises(NotFound):
        queries.plan_by_id(db, second.id + 100)
