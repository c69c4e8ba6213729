"""OpsDesk week scheduling vs pyworkforce's per-day MinAbsDifference on one follow-the-sun week.

Requirement: a week of 30-minute UTC intervals for a 24x7 team (Americas, EMEA and APAC demand, quieter
weekends), split across Chicago, Seattle, San Francisco, Manila and Dublin by the follow-the-sun rules.
Both solvers get each site's share of it and the same shift templates (lengths, local start windows,
breaks, opening hours). pyworkforce schedules one local day at a time with shifts as coverage patterns
inside the day, so it keeps only the templates that end by midnight and it has no people: no rest between
shifts, no days off, no weekly hours, no headcount, no skills. OpsDesk schedules the week as one cyclic
horizon on the site's schedule lines with all of those rules. Both use CP-SAT with 2 workers and, for the
comparison, the same objective (an agent short and an agent idle weigh the same); OpsDesk's default
weights (short 3 : idle 1) are run once more for information.

Printed: under, over and under+over agent-intervals per site and in total, the OpsDesk/pyworkforce ratio
of under+over (target <= 1), wall times, and a re-check of every OpsDesk line against the labour rules.

Joint scheduling, in the same run: the five sites scheduled together in one model against the same
requirement (the split's parts added back up over the sites, with what the split could place nowhere),
so an open site with the skill and language covers another's shortfall. Its under + over is compared
with the sum of the per-site schedules above (the split's unplaceable work counted as under, as the
planner reports it), same weights and time limit; target: strictly less.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from pyworkforce.scheduling import MinAbsDifference

from opsdesk.workforce.coverage import CoverageSplit, split_requirement
from opsdesk.workforce.scheduling import (
    Horizon,
    ScheduledShift,
    Weights,
    parts_from_split,
    schedule_jointly,
    schedule_sites,
    site_requirement,
)
from opsdesk.workforce.sites import Site, SitesConfig, parse_sites

WEEK_START = datetime(2027, 2, 1, tzinfo=UTC)  # a Monday; no daylight-saving change in any site this week
INTERVAL = timedelta(minutes=30)
PERIODS = 7 * 48
TIME_LIMIT = 30.0
WORKERS = 2
ALL_WEEK = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
BREAK = {"break_minutes": 30, "break_earliest_after_hours": 3, "break_latest_after_hours": 5}


def hours(weekdays: str, weekend: str) -> dict[str, list[str]]:
    days = {day: [weekdays] for day in ("mon", "tue", "wed", "thu", "fri")}
    return days | {"sat": [weekend], "sun": [weekend]}


SITES = {
    "demand_mix": [
        {"skill": "L1", "language": "en", "share": 0.70},
        {"skill": "L1", "language": "es", "share": 0.12},
        {"skill": "L2", "language": "en", "share": 0.18},
    ],
    "sites": [
        {
            "name": "Chicago",
            "timezone": "America/Chicago",
            "opening_hours": hours("06:00-22:00", "08:00-20:00"),
            "languages": ["en", "es"],
            "skills": ["L1", "L2"],
            "headcount": 30,
            "teams": [
                {"name": "L1", "skills": ["L1"], "languages": ["en", "es"], "headcount": 22},
                {"name": "L2", "skills": ["L1", "L2"], "languages": ["en"], "headcount": 8},
            ],
            "shifts": {"lengths_hours": [8.5], "start_windows": ["06:00-13:30"], **BREAK},
        },
        {
            "name": "Seattle",
            "timezone": "America/Los_Angeles",
            "opening_hours": hours("06:00-22:00", "08:00-20:00"),
            "languages": ["en"],
            "skills": ["L1", "L2"],
            "headcount": 20,
            "teams": [
                {"name": "L1", "skills": ["L1"], "languages": ["en"], "headcount": 14},
                {"name": "L2", "skills": ["L1", "L2"], "languages": ["en"], "headcount": 6},
            ],
            "shifts": {"lengths_hours": [8.5], "start_windows": ["06:00-13:30"], **BREAK},
        },
        {
            "name": "San Francisco",
            "timezone": "America/Los_Angeles",
            "opening_hours": hours("07:00-23:00", "09:00-21:00"),
            "languages": ["en", "es"],
            "skills": ["L1", "L2"],
            "headcount": 16,
            "teams": [
                {"name": "L1", "skills": ["L1"], "languages": ["en", "es"], "headcount": 10},
                {"name": "L2", "skills": ["L1", "L2"], "languages": ["en"], "headcount": 6},
            ],
            "shifts": {"lengths_hours": [8.5], "start_windows": ["07:00-14:30"], **BREAK},
        },
        {
            # Manila works US daytime on night shifts that cross midnight, and APAC on day shifts.
            "name": "Manila",
            "timezone": "Asia/Manila",
            "opening_hours": ALL_WEEK,
            "languages": ["en"],
            "skills": ["L1", "L2"],
            "headcount": 46,
            "teams": [
                {"name": "L1", "skills": ["L1"], "languages": ["en"], "headcount": 34},
                {"name": "L2", "skills": ["L1", "L2"], "languages": ["en"], "headcount": 12},
            ],
            "shifts": {"lengths_hours": [8.5], "start_windows": ["05:00-12:00", "18:00-23:30"], **BREAK},
        },
        {
            "name": "Dublin",
            "timezone": "Europe/Dublin",
            "opening_hours": hours("07:00-22:00", "09:00-18:00"),
            "languages": ["en", "es"],
            "skills": ["L1", "L2"],
            "headcount": 22,
            "teams": [
                {"name": "L1", "skills": ["L1"], "languages": ["en", "es"], "headcount": 16},
                {"name": "L2", "skills": ["L1", "L2"], "languages": ["en"], "headcount": 6},
            ],
            "shifts": {"lengths_hours": [8.5], "start_windows": ["07:00-13:30"], **BREAK},
        },
    ],
}


def bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A smooth daily peak (UTC hours, wrapping at midnight)."""
    distance = np.minimum(np.abs(hour - centre), 24 - np.abs(hour - centre))
    return np.exp(-0.5 * (distance / width) ** 2)


def week_requirement() -> pd.Series:
    """Agents needed per 30-minute UTC interval: Americas, EMEA and APAC demand, lighter weekends."""
    stamps = pd.date_range(WEEK_START, periods=PERIODS, freq="30min")
    hour = np.asarray(stamps.hour + stamps.minute / 60, dtype=float)
    weekday = np.asarray(stamps.weekday)
    americas = 40 * bump(hour, 18.5, 3.5)
    emea = 14 * bump(hour, 11.5, 3.0)
    apac = 12 * bump(hour, 3.0, 3.0)
    weekend = np.where(weekday >= 5, 0.55, 1.0)
    agents = np.ceil((americas + emea + apac + 3) * weekend)
    return pd.Series(agents.astype(int), index=stamps)


def local_week(site: Site, values: np.ndarray) -> np.ndarray:
    """A UTC week of one site's requirement rotated onto its local Monday-to-Sunday days, [7, 48]."""
    offset = WEEK_START.astimezone(site.zone).utcoffset()
    assert offset is not None
    shift = int(offset / INTERVAL)
    return np.array([values[(p - shift) % PERIODS] for p in range(PERIODS)]).reshape(7, 48)


def day_patterns(site: Site) -> tuple[dict[str, list[int]], int]:
    """The site's templates as pyworkforce coverage patterns; those crossing midnight cannot be expressed."""
    template = site.shifts
    patterns: dict[str, list[int]] = {}
    dropped = 0
    for start, end in template.start_windows:
        for minute in range(start, end + 1, 30):
            for length in template.lengths_hours:
                periods = math.ceil(length * 2)
                first = minute // 30
                if first + periods > 48:
                    dropped += 1
                    continue
                for offset in range(
                    math.ceil(template.break_earliest_after_hours * 2),
                    math.floor(template.break_latest_after_hours * 2) + 1,
                ):
                    pattern = [0] * 48
                    for q in range(first, first + periods):
                        pattern[q] = 1
                    pattern[first + offset] = 0
                    patterns[f"s{minute}_{length}_{offset}"] = pattern
    return patterns, dropped


def open_by_local_day(site: Site) -> np.ndarray:
    """Whether the site is open in each local 30-minute slot of the week (Monday first)."""
    local_monday = datetime(WEEK_START.year, WEEK_START.month, WEEK_START.day, tzinfo=site.zone)
    return np.array([site.is_open(local_monday + p * INTERVAL) for p in range(PERIODS)], dtype=bool).reshape(
        7, 48
    )


def run_pyworkforce(
    config: SitesConfig, required: dict[str, np.ndarray]
) -> dict[str, tuple[int, int, float]]:
    """One MinAbsDifference per site and local day, each with the templates open all of that day's shift."""
    results = {}
    for site in config.sites:
        need = local_week(site, required[site.name])
        patterns, _ = day_patterns(site)
        is_open = open_by_local_day(site)
        covered = np.zeros((7, 48), dtype=int)
        started = time.monotonic()
        for day in range(7):
            usable = {
                name: pattern
                for name, pattern in patterns.items()
                if all(is_open[day, q] for q in range(48) if pattern[q])
            }
            if not usable:
                continue
            solver = MinAbsDifference(
                num_days=1,
                periods=48,
                shifts_coverage=usable,
                required_resources=[need[day].tolist()],
                max_period_concurrency=int(need.max()) * 3 + 10,
                max_shift_concurrency=site.headcount,
                max_search_time=TIME_LIMIT / len(config.sites) / 7,
                num_search_workers=WORKERS,
            )
            for row in solver.solve()["resources_shifts"]:
                if row["resources"] > 0:
                    covered[day] += row["resources"] * np.array(usable[row["shift"]])
        seconds = time.monotonic() - started
        under = int(np.clip(need - covered, 0, None).sum())
        over = int(np.clip(covered - need, 0, None).sum())
        results[site.name] = (under, over, seconds)
    return results


def main() -> None:
    config = parse_sites(SITES)
    horizon = Horizon(start=WEEK_START, interval=INTERVAL, periods=PERIODS)
    requirement = week_requirement()
    split = split_requirement(requirement, config.sites, config.demand_mix)
    required = {
        site.name: site_requirement(split, site.name, horizon)[1].sum(axis=0) for site in config.sites
    }
    unserved = int(split.unserved["required"].sum()) if len(split.unserved) else 0
    print(
        f"requirement: {PERIODS} x 30-min intervals from {WEEK_START:%Y-%m-%d}, "
        f"peak {requirement.max()} agents, {requirement.sum() / 2:.0f} agent-hours, "
        f"unserved by the split {unserved}"
    )
    for site in config.sites:
        _, dropped = day_patterns(site)
        print(
            f"  {site.name:14s} required {required[site.name].sum() / 2:6.0f} agent-hours, "
            f"headcount {site.headcount}, templates pyworkforce cannot express (cross midnight): {dropped}"
        )

    started = time.monotonic()
    # Same objective as MinAbsDifference (under and over weigh the same) for a like-for-like comparison.
    ours = schedule_sites(
        split, config, horizon, weights=Weights(under=1.0, over=1.0), time_limit=TIME_LIMIT, workers=WORKERS
    )
    ours_seconds = time.monotonic() - started
    theirs = run_pyworkforce(config, required)
    theirs_seconds = sum(seconds for _, _, seconds in theirs.values())

    print(
        f"\n{'site':14s} {'OpsDesk under/over/total':>26s} {'status':>9s}   "
        f"{'pyworkforce under/over/total':>30s}   (agent-intervals)"
    )
    totals = np.zeros(4, dtype=int)
    for result in ours:
        under, over = int(result.under.sum()), int(result.over.sum())
        p_under, p_over, _ = theirs[result.site]
        totals += [under, over, p_under, p_over]
        print(
            f"{result.site:14s} {under:8d} {over:7d} {under + over:9d} {result.status:>9s}   "
            f"{p_under:10d} {p_over:9d} {p_under + p_over:9d}"
        )
    print(
        f"{'total':14s} {totals[0]:8d} {totals[1]:7d} {totals[0] + totals[1]:9d} {'':>9s}   "
        f"{totals[2]:10d} {totals[3]:9d} {totals[2] + totals[3]:9d}"
    )
    shifts = sum(len(result.shifts) for result in ours)
    broken = sum(rule_violations(result.shifts, config.site(result.site)) for result in ours)
    print(
        f"\nOpsDesk: {shifts} shifts on schedule lines (rest >= 11 h, >= 2 days off, <= 5 days in a row, "
        f"<= 40 h/week, skills), rule violations found on re-check: {broken}; "
        f"wall {ours_seconds:.1f} s (limit {TIME_LIMIT:.0f} s, {WORKERS} workers)"
    )
    print(f"pyworkforce MinAbsDifference (per site and day, no people rules): wall {theirs_seconds:.1f} s")
    ratio = (totals[0] + totals[1]) / max(1, totals[2] + totals[3])
    print(f"coverage error ratio OpsDesk / pyworkforce: {ratio:.2f} (target <= 1.00)")

    per_site = totals[0] + unserved + totals[1]
    started = time.monotonic()
    parts, joint_required = parts_from_split(split, horizon)
    joint = schedule_jointly(
        config,
        parts,
        joint_required,
        horizon,
        weights=Weights(under=1.0, over=1.0),
        time_limit=TIME_LIMIT,
        workers=WORKERS,
    )
    joint_seconds = time.monotonic() - started
    joint_under, joint_over = int(joint.under.sum()), int(joint.over.sum())
    joint_broken = sum(rule_violations(result.shifts, config.site(result.site)) for result in joint.sites)
    short_intervals = {
        "per-site": int(
            (sum(result.under for result in ours) + _unserved_by_period(split, horizon) > 0).sum()
        ),
        "joint": int((joint.under > 0).sum()),
    }
    print(
        f"\njoint schedule (five sites in one model, same requirement {int(joint_required.sum())} "
        f"agent-intervals, same weights): under {joint_under}, over {joint_over}, "
        f"total {joint_under + joint_over}, "
        f"{joint.status}, intervals short {short_intervals['joint']} of {PERIODS}, "
        f"rule violations {joint_broken}, wall {joint_seconds:.1f} s"
    )
    print(
        f"per-site schedules after the split: under {totals[0] + unserved} "
        f"(of which unplaceable {unserved}), "
        f"over {totals[1]}, total {per_site}, intervals short {short_intervals['per-site']} of {PERIODS}"
    )
    met = joint_under + joint_over < per_site
    print(
        f"joint / per-site under+over: {(joint_under + joint_over) / max(1, per_site):.2f} "
        f"(target: strictly less) -> {'met' if met else 'NOT met'}"
    )

    started = time.monotonic()
    weighted = schedule_sites(
        split, config, horizon, weights=Weights(), time_limit=TIME_LIMIT, workers=WORKERS
    )
    under = sum(int(result.under.sum()) for result in weighted)
    over = sum(int(result.over.sum()) for result in weighted)
    print(
        f"OpsDesk with its default weights (under 3 : over 1): under {under}, over {over}, "
        f"total {under + over}, wall {time.monotonic() - started:.1f} s"
    )


def _unserved_by_period(split: CoverageSplit, horizon: Horizon) -> np.ndarray:
    lost = np.zeros(horizon.periods, dtype=np.int64)
    for row in split.unserved.itertuples():
        lost[int((pd.Timestamp(row.timestamp) - pd.Timestamp(horizon.start)) / horizon.interval)] += int(
            row.required
        )
    return lost


def rule_violations(shifts: list[ScheduledShift], site: Site) -> int:
    """Re-check each line's week from its shifts alone: rest (across the week's wrap), shifts, hours."""
    rules = site.rules
    lines: dict[str, list[ScheduledShift]] = {}
    for shift in shifts:
        lines.setdefault(shift.agent, []).append(shift)
    broken = 0
    for own in lines.values():
        own.sort(key=lambda s: s.start)
        worked = sum(
            (
                (s.end - s.start)
                - ((s.break_end - s.break_start) if s.break_start and s.break_end else timedelta(0))
                for s in own
            ),
            timedelta(0),
        )
        broken += worked > timedelta(hours=rules.max_hours_per_week)
        broken += len(own) > 7 - rules.min_days_off_per_week
        for before, after in zip(own, [*own[1:], own[0]], strict=True):
            start = after.start if after is not own[0] else after.start + timedelta(days=7)
            if len(own) > 1 and start - before.end < timedelta(hours=rules.min_rest_hours):
                broken += 1
    return broken


if __name__ == "__main__":
    main()
