"""The CP-SAT model that assigns shifts to a site's schedule lines.

Agents are schedule lines: anonymous positions per site team (skills + languages), as many as the team's
headcount. This is what a WFM planner builds before names are known (lines are then bid for or assigned),
and it keeps every per-person rule exact: each line works at most one shift per schedule day, rests
`min_rest_hours` between shifts, has at least `min_days_off_per_week` days off and at most
`max_consecutive_days` in a row, and stays under `max_hours_per_week`. Breaks only move coverage, never
a person's rules, so the model places them by count per shift (how many of the people on this shift take
their break at each allowed offset) and hands them to lines afterwards.

Coverage: each team's agents on duty in an interval take work of the demand parts their skills and
languages allow; under = required work nobody could take, over = agents on duty without such work. The
objective is under_weight * under + over_weight * over, summed over intervals.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from ortools.sat.python import cp_model
from ortools.sat.python.cp_model import LinearExpr

from opsdesk.workforce.scheduling.templates import WEEK_MINUTES, Horizon, site_calendar
from opsdesk.workforce.sites import DemandShare, Site

WEIGHT_SCALE = 100  # CP-SAT needs integer coefficients; weights keep two decimals


@dataclass(frozen=True)
class Weights:
    under: float = 3.0
    over: float = 1.0


@dataclass(frozen=True)
class ScheduledShift:
    agent: str
    site: str
    team: str
    start: datetime  # aware UTC
    end: datetime
    break_start: datetime | None
    break_end: datetime | None


@dataclass(frozen=True)
class SiteSchedule:
    site: str
    status: str  # CP-SAT status name: OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN ...
    shifts: list[ScheduledShift]
    required: np.ndarray  # per interval
    scheduled: np.ndarray  # agents on duty (not on break) per interval
    under: np.ndarray  # required work no one on duty could take
    over: np.ndarray  # agents on duty without work they could take
    seconds: float


def _line_name(site: Site, team_index: int, line: int) -> str:
    team = site.teams[team_index]
    prefix = site.name if len(site.teams) == 1 else f"{site.name}-{team.name}"
    return f"{prefix}-{line + 1:03d}"


def schedule_site(
    site: Site,
    demands: Sequence[DemandShare],
    required: np.ndarray,
    horizon: Horizon,
    *,
    weights: Weights = Weights(),
    time_limit: float = 30.0,
    workers: int = 2,
) -> SiteSchedule:
    """Best shifts for one site. `required[k, t]`: agents needed for demand part k in interval t."""
    started = time.monotonic()
    required = np.asarray(required, dtype=np.int64).reshape(len(demands), horizon.periods)
    calendar = site_calendar(site, horizon)
    candidates = calendar.candidates
    teams = [(g, team) for g, team in enumerate(site.teams) if team.headcount > 0]
    model = cp_model.CpModel()
    rules = site.rules

    by_day: dict[int, list[int]] = defaultdict(list)
    for c, candidate in enumerate(candidates):
        by_day[candidate.day].append(c)
    window = min(7, calendar.days)
    window_starts = range(calendar.days) if horizon.cyclic else range(calendar.days - window + 1)

    take: dict[tuple[int, int, int], cp_model.IntVar] = {}  # (team, line, candidate)
    on_shift: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)  # (team, candidate)
    for g, team in teams:
        previous_minutes: cp_model.LinearExprT | None = None
        for line in range(team.headcount):
            works: dict[int, cp_model.IntVar] = {}
            starts: dict[int, cp_model.LinearExpr] = {}
            ends: dict[int, cp_model.LinearExpr] = {}
            for day, day_candidates in by_day.items():
                chosen = []
                for c in day_candidates:
                    var = model.new_bool_var(f"x{g}_{line}_{c}")
                    take[(g, line, c)] = var
                    on_shift[(g, c)].append(var)
                    chosen.append(var)
                works[day] = model.new_bool_var(f"w{g}_{line}_{day}")
                model.add(sum(chosen) == works[day])
                day_vars = [take[(g, line, c)] for c in day_candidates]
                starts[day] = LinearExpr.weighted_sum(
                    day_vars, [candidates[c].start_minute for c in day_candidates]
                )
                ends[day] = LinearExpr.weighted_sum(
                    day_vars,
                    [
                        candidates[c].start_minute + int(candidates[c].length.total_seconds() // 60)
                        for c in day_candidates
                    ],
                )
            days = sorted(works)
            rest = int(rules.min_rest_hours * 60)
            for day in days:
                for gap in (1, 2):
                    after = day + gap
                    shift_minutes = 0
                    if horizon.cyclic:
                        shift_minutes = WEEK_MINUTES * (after // 7)
                        after %= 7
                    if after not in works or after == day:
                        continue
                    model.add(starts[after] + shift_minutes - ends[day] >= rest).only_enforce_if(
                        [works[day], works[after]]
                    )
            for first in window_starts:
                span = [(first + i) % calendar.days for i in range(window)]
                model.add(
                    sum(works[d] for d in span if d in works) <= max(0, window - rules.min_days_off_per_week)
                )
                model.add(
                    sum(
                        candidates[c].work_minutes * take[(g, line, c)]
                        for d in span
                        for c in by_day.get(d, [])
                    )
                    <= int(rules.max_hours_per_week * 60)
                )
            run = rules.max_consecutive_days + 1
            if run <= calendar.days:
                run_starts = range(calendar.days) if horizon.cyclic else range(calendar.days - run + 1)
                for first in run_starts:
                    span = [(first + i) % calendar.days for i in range(run)]
                    model.add(sum(works[d] for d in span if d in works) <= rules.max_consecutive_days)
            # Lines of a team are interchangeable: order them by hours worked to cut symmetric search.
            minutes = sum(candidates[c].work_minutes * take[(g, line, c)] for c in range(len(candidates)))
            if previous_minutes is not None:
                model.add(previous_minutes >= minutes)
            previous_minutes = minutes

    # Agents of each team on duty per interval, with breaks placed by count.
    duty: dict[int, list[list[tuple[cp_model.LinearExprT, int]]]] = {
        g: [[] for _ in range(horizon.periods)] for g, _ in teams
    }
    breaks: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    for g, team in teams:
        for c, candidate in enumerate(candidates):
            count = model.new_int_var(0, team.headcount, f"n{g}_{c}")
            model.add(count == sum(on_shift[(g, c)]))
            for p in horizon.covered(candidate.first_period, candidate.periods):
                duty[g][p].append((count, 1))
            if candidate.break_offsets:
                placed = [
                    model.new_int_var(0, team.headcount, f"b{g}_{c}_{o}") for o in candidate.break_offsets
                ]
                model.add(sum(placed) == count)
                breaks[(g, c)] = placed
                for offset, var in zip(candidate.break_offsets, placed, strict=True):
                    for p in horizon.covered(candidate.first_period + offset, candidate.break_periods):
                        duty[g][p].append((var, -1))

    def on_duty(g: int, p: int) -> LinearExpr:
        return LinearExpr.weighted_sum([var for var, _ in duty[g][p]], [coef for _, coef in duty[g][p]])

    total_required = required.sum(axis=0)
    pooled = all(team.serves(d.skill, d.language) for _, team in teams for d in demands)
    under_terms: list[LinearExpr] = []
    over_terms: list[LinearExpr] = []
    staffed: list[LinearExpr] = []
    for p in range(horizon.periods):
        scheduled = LinearExpr.sum([on_duty(g, p) for g, _ in teams])
        need = int(total_required[p])
        if pooled:
            under_var = model.new_int_var(0, need, f"u{p}")
            model.add(under_var + scheduled >= need)
            under = LinearExpr.sum([under_var])
        else:
            # Each team's agents on duty take work of the parts they can serve; the rest is under.
            taken: dict[int, list[cp_model.IntVar]] = defaultdict(list)
            for k, demand in enumerate(demands):
                r = int(required[k, p])
                flows = [
                    (g, model.new_int_var(0, r, f"a{g}_{k}_{p}"))
                    for g, team in teams
                    if r and team.serves(demand.skill, demand.language)
                ]
                if flows:
                    model.add(sum(var for _, var in flows) <= r)
                for g, var in flows:
                    taken[g].append(var)
            for g, vars_ in taken.items():
                model.add(sum(vars_) <= on_duty(g, p))
            under = (
                LinearExpr.weighted_sum(
                    [var for vars_ in taken.values() for var in vars_], [-1] * sum(map(len, taken.values()))
                )
                + need
            )
        staffed.append(scheduled)
        under_terms.append(under)
        over_terms.append(LinearExpr.sum([scheduled, under]) - need)
    model.minimize(
        LinearExpr.sum(under_terms) * round(weights.under * WEIGHT_SCALE)
        + LinearExpr.sum(over_terms) * round(weights.over * WEIGHT_SCALE)
    )

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit - (time.monotonic() - started))
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    status_name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SiteSchedule(
            site=site.name,
            status=status_name,
            shifts=[],
            required=total_required,
            scheduled=np.zeros(horizon.periods, dtype=np.int64),
            under=total_required.copy(),
            over=np.zeros(horizon.periods, dtype=np.int64),
            seconds=time.monotonic() - started,
        )
    scheduled_values = np.array([solver.value(expr) for expr in staffed], dtype=np.int64)
    under_values = np.array([solver.value(expr) for expr in under_terms], dtype=np.int64)
    shifts: list[ScheduledShift] = []
    for g, team in teams:
        # Hand the counted breaks of each shift to the lines working it, in line order.
        pending: dict[int, list[int]] = {}
        for (team_index, c), placed in breaks.items():
            if team_index == g:
                pending[c] = [
                    offset
                    for offset, var in zip(candidates[c].break_offsets, placed, strict=True)
                    for _ in range(solver.value(var))
                ]
        for line in range(team.headcount):
            for c, candidate in enumerate(candidates):
                if not solver.boolean_value(take[(g, line, c)]):
                    continue
                break_start = break_end = None
                if pending.get(c):
                    offset = pending[c].pop(0)
                    break_start = candidate.start + offset * horizon.interval
                    break_end = break_start + timedelta(minutes=site.shifts.break_minutes)
                shifts.append(
                    ScheduledShift(
                        agent=_line_name(site, g, line),
                        site=site.name,
                        team=team.name,
                        start=candidate.start,
                        end=candidate.start + candidate.length,
                        break_start=break_start,
                        break_end=break_end,
                    )
                )
    shifts.sort(key=lambda s: (s.agent, s.start))
    return SiteSchedule(
        site=site.name,
        status=status_name,
        shifts=shifts,
        required=total_required,
        scheduled=scheduled_values,
        under=under_values,
        over=scheduled_values - total_required + under_values,
        seconds=time.monotonic() - started,
    )
