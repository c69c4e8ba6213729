"""Joint scheduling on tiny weeks whose answers can be worked out on paper.

Every solve uses one CP-SAT worker, its fixed seed and a deterministic work limit, and the models are
small enough to be solved to proven optimality, so the results do not depend on the machine's load.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from opsdesk.workforce.coverage import split_requirement
from opsdesk.workforce.scheduling import (
    Horizon,
    Part,
    Weights,
    coverage_table,
    parts_from_requirement,
    parts_from_split,
    schedule_jointly,
    schedule_sites,
)
from opsdesk.workforce.scheduling.requirement import FOLLOW_THE_SUN, Requirement
from opsdesk.workforce.sites import SitesConfig, parse_sites

HOUR = timedelta(hours=1)
START = datetime(2027, 2, 1, tzinfo=UTC)  # a Monday
ALL_DAY = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
RELAXED = {
    "min_rest_hours": 0,
    "max_consecutive_days": 7,
    "min_days_off_per_week": 0,
    "max_hours_per_week": 84,
}
SOLVE: dict[str, Any] = {"time_limit": 60, "workers": 1}


def site(name: str, *, headcount: int, window: str, languages: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": "UTC",
        "opening_hours": ALL_DAY,
        "languages": languages or ["en"],
        "skills": ["L1"],
        "headcount": headcount,
        "shifts": {"lengths_hours": [8], "start_windows": [window], "break_minutes": 0},
        "rules": RELAXED,
    }


def week() -> Horizon:
    return Horizon(start=START, interval=HOUR, periods=7 * 24)


def day_shift_requirement(horizon: Horizon, agents: int) -> pd.Series:
    """`agents` from 08:00 to 16:00 UTC every day, nobody otherwise."""
    stamps = pd.DatetimeIndex([horizon.at(p) for p in range(horizon.periods)])
    values = np.where((stamps.hour >= 8) & (stamps.hour < 16), agents, 0)
    return pd.Series(values.astype(np.int64), index=stamps)


def config(*sites: dict[str, Any], mix: list[dict[str, Any]] | None = None) -> SitesConfig:
    data: dict[str, Any] = {"sites": list(sites)}
    if mix:
        data["demand_mix"] = mix
    return parse_sites(data)


def test_joint_schedule_covers_the_shortfall_the_split_leaves() -> None:
    # Both sites are open all day with two agents each. The split gives each one agent of the 08-16 work,
    # but Late can only start at 16:00, so its share goes uncovered while Early has a second agent idle.
    sites = config(
        site("Early", headcount=2, window="08:00-08:00"), site("Late", headcount=2, window="16:00-16:00")
    )
    horizon = week()
    requirement = day_shift_requirement(horizon, 2)
    split = split_requirement(requirement, sites.sites, sites.demand_mix)

    separate = schedule_sites(split, sites, horizon, **SOLVE)
    split_under = sum(int(s.under.sum()) for s in separate)
    split_over = sum(int(s.over.sum()) for s in separate)
    assert split_under == 7 * 8  # Late is short one agent for 8 hours a day
    assert split_over == 0

    parts, required = parts_from_split(split, horizon)
    assert required.sum() == requirement.sum()
    joint = schedule_jointly(sites, parts, required, horizon, deterministic_time=20.0, **SOLVE)
    assert joint.status == "OPTIMAL"
    assert joint.coverage_error == 0
    early, late = joint.sites
    assert len(early.shifts) == 14 and not late.shifts  # Early's two agents work 08-16 every day
    assert {s.start.hour for s in early.shifts} == {8}
    assert int(early.required.sum()) == int(requirement.sum())  # the work Early took
    table = coverage_table(joint.sites, horizon, joint.unserved_frame(horizon))
    assert int(table["required"].sum()) == int(requirement.sum())
    assert int(table["under"].sum()) == 0


def test_a_language_is_covered_only_by_a_site_that_speaks_it() -> None:
    # Spanish work can only go to Late (the only Spanish speakers), which cannot start before 16:00:
    # Early's idle English agents must not be counted as covering it.
    sites = config(
        site("Early", headcount=2, window="08:00-08:00"),
        site("Late", headcount=1, window="16:00-16:00", languages=["en", "es"]),
        mix=[{"language": "en", "share": 0.5}, {"language": "es", "share": 0.5}],
    )
    horizon = week()
    parts = [Part(language="en"), Part(language="es")]
    one_each = day_shift_requirement(horizon, 1).to_numpy()
    required = np.vstack([one_each, one_each])
    joint = schedule_jointly(sites, parts, required, horizon, deterministic_time=20.0, **SOLVE)
    assert joint.status == "OPTIMAL"
    assert int(joint.under.sum()) == 7 * 8  # the Spanish hours
    assert int(joint.over.sum()) == 0  # Early works the English hours with one agent, no more
    assert len(joint.sites[0].shifts) == 7 and not joint.sites[1].shifts


def test_parts_from_requirement_keeps_site_rows_at_their_site() -> None:
    sites = config(
        site("Early", headcount=2, window="08:00-08:00"), site("Late", headcount=2, window="16:00-16:00")
    )
    horizon = week()
    index = pd.DatetimeIndex([horizon.at(p) for p in range(horizon.periods)])
    requirement = Requirement(
        horizon=horizon,
        by_site={
            FOLLOW_THE_SUN: pd.Series(0, index=index, dtype="int64"),
            "Late": day_shift_requirement(horizon, 1),
        },
    )
    parts, required = parts_from_requirement(requirement, sites)
    assert [p.site for p in parts] == [None, "Late"]
    joint = schedule_jointly(
        sites, parts, required, horizon, weights=Weights(), deterministic_time=20.0, **SOLVE
    )
    # Work that must be done at Late cannot move to Early, even though Early could start at 08:00.
    assert int(joint.under.sum()) == 7 * 8
    assert not joint.sites[0].shifts
