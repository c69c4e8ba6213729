"""The CP-SAT models that give a site's schedule lines their shifts for the horizon.

Agents are schedule lines: anonymous positions per site team (skills + languages), as many as the team's
headcount. This is what a WFM planner builds before names are known (lines are then bid for or assigned
to people), and it keeps every per-person rule exact: each line works at most one shift per schedule day,
rests `min_rest_hours` between shifts, has at least `min_days_off_per_week` days off and at most
`max_consecutive_days` in a row, and stays within `max_hours_per_week`.

Coverage: each team's agents on duty in an interval take the demand parts their skills and languages
allow; under = required work nobody on duty could take, over = agents on duty without such work. The
objective is under_weight * under + over_weight * over, summed over intervals. Breaks only move coverage,
never a person's rules, so they are placed by count (how many people on a shift break at each allowed
offset) and handed to lines afterwards.

Solving, in three steps because lines of a team are interchangeable and a model over lines alone spends
its time on symmetric choices:
1. a count model: how many people of each team work each shift, with the line rules summed over the team
   (a day uses at most headcount people, a week at most headcount x (7 - days off) shifts and headcount x
   max hours, ...). It is a relaxation, so its optimum bounds the real one from below;
2. a greedy assignment of those shifts to lines that checks every rule for every line;
3. if some shifts found no line, the exact line model, started from the greedy assignment as a hint.
The chosen assignment is then scored once more by the count model with its counts fixed, which places
breaks and matches skills for exactly the shifts that were assigned.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from ortools.sat.python import cp_model
from ortools.sat.python.cp_model import LinearExpr

from opsdesk.workforce.scheduling.templates import WEEK_MINUTES, Horizon, ShiftCandidate, site_calendar
from opsdesk.workforce.sites import DemandShare, Site, Team

WEIGHT_SCALE = 100  # CP-SAT needs integer coefficients; weights keep two decimals

Assignment = dict[tuple[int, int], dict[int, int]]  # (team, line) -> {day: candidate}


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
    status: str  # OPTIMAL when the count model proved its optimum and every shift found a line
    shifts: list[ScheduledShift]
    required: np.ndarray  # per interval
    scheduled: np.ndarray  # agents on duty (not on break) per interval
    under: np.ndarray  # required work no one on duty could take
    over: np.ndarray  # agents on duty without work they could take
    seconds: float


@dataclass
class _Problem:
    site: Site
    demands: Sequence[DemandShare]
    required: np.ndarray  # [demand part, period]
    horizon: Horizon
    candidates: list[ShiftCandidate]
    days: int
    teams: list[tuple[int, Team]]
    weights: Weights
    by_day: dict[int, list[int]] = field(default_factory=dict)

    def windows(self, length: int) -> list[list[int]]:
        """Runs of `length` schedule days (wrapping in a cyclic week) for the per-window rules."""
        length = min(length, self.days)
        if self.horizon.cyclic and length == self.days:
            return [list(range(self.days))] if self.days else []
        starts = range(self.days) if self.horizon.cyclic else range(self.days - length + 1)
        return [[(first + i) % self.days for i in range(length)] for first in starts]

    def minutes_apart(self, day: int, step: int) -> int:
        """Minutes to add to a start `step` days after `day` once the cyclic week wraps."""
        return WEEK_MINUTES * ((day + step) // 7) if self.horizon.cyclic else 0

    def neighbour(self, day: int, step: int) -> int | None:
        other = day + step
        if self.horizon.cyclic:
            other %= 7
            return None if other == day else other
        return other if 0 <= other < self.days else None


@dataclass
class _CountModel:
    model: cp_model.CpModel
    counts: dict[tuple[int, int], cp_model.IntVar | int]
    breaks: dict[tuple[int, int], list[cp_model.IntVar]]
    staffed: list[LinearExpr]
    under: list[LinearExpr]


def _minutes(candidate: ShiftCandidate) -> int:
    return int(candidate.length.total_seconds() // 60)


Duty = dict[int, list[list[tuple[cp_model.IntVar | int, int]]]]  # team -> period -> (count, +1 / -1)


def _duty_terms(
    model: cp_model.CpModel,
    problem: _Problem,
    counts: dict[tuple[int, int], cp_model.IntVar | int],
) -> tuple[Duty, dict[tuple[int, int], list[cp_model.IntVar]]]:
    """People on duty per team and interval as terms over the shift counts, breaks placed by count."""
    horizon = problem.horizon
    duty: Duty = {g: [[] for _ in range(horizon.periods)] for g, _ in problem.teams}
    breaks: dict[tuple[int, int], list[cp_model.IntVar]] = {}
    for g, team in problem.teams:
        for c, candidate in enumerate(problem.candidates):
            count = counts.get((g, c), 0)
            if isinstance(count, int) and count == 0:
                continue
            for p in horizon.covered(candidate.first_period, candidate.periods):
                duty[g][p].append((count, 1))
            if candidate.break_offsets:
                placed = [
                    model.new_int_var(0, team.headcount, f"b{g}_{c}_{o}") for o in candidate.break_offsets
                ]
                model.add(LinearExpr.sum(placed) == count)
                breaks[(g, c)] = placed
                for offset, var in zip(candidate.break_offsets, placed, strict=True):
                    for p in horizon.covered(candidate.first_period + offset, candidate.break_periods):
                        duty[g][p].append((var, -1))
    return duty, breaks


def _on_duty_expr(terms: list[tuple[cp_model.IntVar | int, int]]) -> LinearExpr:
    return LinearExpr.weighted_sum([var for var, _ in terms], [coef for _, coef in terms])


def _add_coverage(
    model: cp_model.CpModel,
    problem: _Problem,
    counts: dict[tuple[int, int], cp_model.IntVar | int],
) -> _CountModel:
    """Breaks by count, skill matching and the under/over objective on top of people per shift."""
    horizon = problem.horizon
    duty, breaks = _duty_terms(model, problem, counts)

    def on_duty(g: int, p: int) -> LinearExpr:
        return _on_duty_expr(duty[g][p])

    demands, required = problem.demands, problem.required
    total_required = required.sum(axis=0)
    # Deficiency form of Hall's theorem: the work nobody on duty can take is the largest shortfall of any
    # group of teams against the demand parts only they can serve. One bound per group of teams replaces
    # a flow per team, part and interval, and is exact.
    groups = []
    for mask in range(1 << len(problem.teams)):
        members = [g for i, (g, _) in enumerate(problem.teams) if mask >> i & 1]
        parts = [
            k
            for k, d in enumerate(demands)
            if all(g in members for g, team in problem.teams if team.serves(d.skill, d.language))
        ]
        if parts:
            groups.append((members, parts))
    staffed: list[LinearExpr] = []
    under_terms: list[LinearExpr] = []
    over_terms: list[LinearExpr] = []
    for p in range(horizon.periods):
        scheduled = LinearExpr.sum([on_duty(g, p) for g, _ in problem.teams])
        need = int(total_required[p])
        under_var = model.new_int_var(0, need, f"u{p}")
        for members, parts in groups:
            shortfall = int(required[parts, p].sum())
            if shortfall:
                model.add(under_var + LinearExpr.sum([on_duty(g, p) for g in members]) >= shortfall)
        under = LinearExpr.sum([under_var])
        staffed.append(scheduled)
        under_terms.append(under)
        over_terms.append(LinearExpr.sum([scheduled, under]) - need)
    model.minimize(
        LinearExpr.sum(under_terms) * round(problem.weights.under * WEIGHT_SCALE)
        + LinearExpr.sum(over_terms) * round(problem.weights.over * WEIGHT_SCALE)
    )
    return _CountModel(model=model, counts=counts, breaks=breaks, staffed=staffed, under=under_terms)


def _count_model(problem: _Problem, fixed: dict[tuple[int, int], int] | None = None) -> _CountModel:
    """People per team and shift; the line rules hold for the team as a whole (or counts are given)."""
    model = cp_model.CpModel()
    if fixed is not None:
        return _add_coverage(model, problem, dict(fixed))
    return _add_coverage(model, problem, _team_counts(model, problem))


def _team_counts(model: cp_model.CpModel, problem: _Problem) -> dict[tuple[int, int], cp_model.IntVar | int]:
    """A count variable per team and shift, with the line rules summed over each team."""
    rules = problem.site.rules
    counts: dict[tuple[int, int], cp_model.IntVar | int] = {}
    for g, team in problem.teams:
        for c in range(len(problem.candidates)):
            counts[(g, c)] = model.new_int_var(0, team.headcount, f"n{g}_{c}")
        per_day = {d: [counts[(g, c)] for c in problem.by_day.get(d, [])] for d in range(problem.days)}
        for shifts in per_day.values():
            model.add(LinearExpr.sum(shifts) <= team.headcount)
        for span in problem.windows(7):
            in_span = [c for d in span for c in problem.by_day.get(d, [])]
            model.add(
                LinearExpr.sum([counts[(g, c)] for c in in_span])
                <= team.headcount * max(0, len(span) - rules.min_days_off_per_week)
            )
            model.add(
                LinearExpr.weighted_sum(
                    [counts[(g, c)] for c in in_span], [problem.candidates[c].work_minutes for c in in_span]
                )
                <= team.headcount * int(rules.max_hours_per_week * 60)
            )
        if rules.max_consecutive_days < problem.days:
            for span in problem.windows(rules.max_consecutive_days + 1):
                model.add(
                    LinearExpr.sum([v for d in span for v in per_day[d]])
                    <= team.headcount * rules.max_consecutive_days
                )
        _add_rest_cuts(model, problem, g, team.headcount, counts)
    return counts


def _add_rest_cuts(
    model: cp_model.CpModel,
    problem: _Problem,
    g: int,
    headcount: int,
    counts: dict[tuple[int, int], cp_model.IntVar | int],
) -> None:
    """The rest rule summed over a team: for any time T, nobody can both finish after T on one day and
    start before T + rest the next, so those two groups of shifts share the team's headcount."""
    rest = int(problem.site.rules.min_rest_hours * 60)
    candidates = problem.candidates
    for day in range(problem.days):
        after = problem.neighbour(day, 1)
        if after is None:
            continue
        today = problem.by_day.get(day, [])
        tomorrow = problem.by_day.get(after, [])
        apart = problem.minutes_apart(day, 1)
        for threshold in sorted({candidates[c].start_minute + _minutes(candidates[c]) for c in today}):
            late = [c for c in today if candidates[c].start_minute + _minutes(candidates[c]) >= threshold]
            early = [c for c in tomorrow if candidates[c].start_minute + apart - threshold < rest]
            if late and early:
                model.add(LinearExpr.sum([counts[(g, c)] for c in late + early]) <= headcount)


def _fits(problem: _Problem, days: dict[int, int], day: int, c: int) -> bool:
    """Whether a line already working `days` may also take candidate c on `day` under every rule."""
    if day in days:
        return False
    rules = problem.site.rules
    candidates = problem.candidates
    trial = {**days, day: c}
    for span in problem.windows(7):
        if day in span:
            worked = [trial[d] for d in span if d in trial]
            if len(worked) > len(span) - rules.min_days_off_per_week:
                return False
            if sum(candidates[x].work_minutes for x in worked) > rules.max_hours_per_week * 60:
                return False
    if rules.max_consecutive_days < problem.days:
        for span in problem.windows(rules.max_consecutive_days + 1):
            if day in span and all(d in trial for d in span):
                return False
    rest = rules.min_rest_hours * 60
    here = candidates[c]
    for step in (-2, -1, 1, 2):
        other = problem.neighbour(day, step)
        if other is None or other not in days:
            continue
        there = candidates[days[other]]
        there_start = there.start_minute + problem.minutes_apart(day, step)
        if step > 0 and there_start - (here.start_minute + _minutes(here)) < rest:
            return False
        if step < 0 and here.start_minute - (there_start + _minutes(there)) < rest:
            return False
    return True


def _assign(problem: _Problem, counts: dict[tuple[int, int], int]) -> tuple[Assignment, int]:
    """The best of greedy assignments that start on each schedule day in turn (rules that wrap around a
    cyclic week make the starting day matter); returns it and the number of shifts it left over."""
    best: tuple[Assignment, int] | None = None
    for first in range(max(1, problem.days)):
        order = [(first + i) % problem.days for i in range(problem.days)]
        assignment, left = _assign_in_order(problem, counts, order)
        if best is None or left < best[1]:
            best = (assignment, left)
        if left == 0:
            break
    assert best is not None
    return best


def _assign_in_order(
    problem: _Problem, counts: dict[tuple[int, int], int], order: list[int]
) -> tuple[Assignment, int]:
    """Hand each counted shift to a line that may take it; returns the assignment and the shifts left over.

    Shifts go day by day, earliest first, each to the line with the fewest days so far and, among those,
    the earliest finish the day before, so early shifts follow early ones and rest rules rarely bite."""
    assignment: Assignment = {}
    left = 0
    for g, team in problem.teams:
        lines: list[dict[int, int]] = [{} for _ in range(team.headcount)]
        for day in order:
            todays = sorted(
                (c for c in problem.by_day.get(day, []) for _ in range(counts.get((g, c), 0))),
                key=lambda c: problem.candidates[c].start_minute,
            )
            previous = problem.neighbour(day, -1)
            for c in todays:
                best: tuple[int, int, int] | None = None
                for line, days in enumerate(lines):
                    if not _fits(problem, days, day, c):
                        continue
                    before = problem.candidates[days[previous]] if previous in days else None
                    finish = -WEEK_MINUTES if before is None else before.start_minute + _minutes(before)
                    score = (len(days), finish, line)
                    if best is None or score < best:
                        best = score
                if best is None:
                    left += 1
                else:
                    lines[best[2]][day] = c
        for line, days in enumerate(lines):
            assignment[(g, line)] = days
    return assignment, left


def _line_model(
    problem: _Problem, hint: Assignment
) -> tuple[cp_model.CpModel, dict[tuple[int, int, int], cp_model.IntVar]]:
    """The exact model: a yes/no per line and shift, every rule per line, coverage as in the count model."""
    model = cp_model.CpModel()
    rules = problem.site.rules
    candidates = problem.candidates
    take: dict[tuple[int, int, int], cp_model.IntVar] = {}
    on_shift: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    rest = int(rules.min_rest_hours * 60)
    for g, team in problem.teams:
        previous_minutes: LinearExpr | None = None
        for line in range(team.headcount):
            works: dict[int, cp_model.IntVar] = {}
            starts: dict[int, LinearExpr] = {}
            ends: dict[int, LinearExpr] = {}
            for day, day_candidates in problem.by_day.items():
                chosen = []
                for c in day_candidates:
                    var = model.new_bool_var(f"x{g}_{line}_{c}")
                    model.add_hint(var, hint.get((g, line), {}).get(day) == c)
                    take[(g, line, c)] = var
                    on_shift[(g, c)].append(var)
                    chosen.append(var)
                works[day] = model.new_bool_var(f"w{g}_{line}_{day}")
                model.add(LinearExpr.sum(chosen) == works[day])
                starts[day] = LinearExpr.weighted_sum(
                    chosen, [candidates[c].start_minute for c in day_candidates]
                )
                ends[day] = LinearExpr.weighted_sum(
                    chosen, [candidates[c].start_minute + _minutes(candidates[c]) for c in day_candidates]
                )
            for day in works:
                for step in (1, 2):
                    after = problem.neighbour(day, step)
                    if after is None or after not in works:
                        continue
                    model.add(
                        starts[after] + problem.minutes_apart(day, step) - ends[day] >= rest
                    ).only_enforce_if([works[day], works[after]])
            for span in problem.windows(7):
                model.add(
                    LinearExpr.sum([works[d] for d in span if d in works])
                    <= max(0, len(span) - rules.min_days_off_per_week)
                )
                in_span = [c for d in span for c in problem.by_day.get(d, [])]
                model.add(
                    LinearExpr.weighted_sum(
                        [take[(g, line, c)] for c in in_span], [candidates[c].work_minutes for c in in_span]
                    )
                    <= int(rules.max_hours_per_week * 60)
                )
            if rules.max_consecutive_days < problem.days:
                for span in problem.windows(rules.max_consecutive_days + 1):
                    model.add(
                        LinearExpr.sum([works[d] for d in span if d in works]) <= rules.max_consecutive_days
                    )
            # Interchangeable lines: order them by minutes worked to cut symmetric search.
            all_c = range(len(candidates))
            minutes = LinearExpr.weighted_sum(
                [take[(g, line, c)] for c in all_c], [candidates[c].work_minutes for c in all_c]
            )
            if previous_minutes is not None:
                model.add(previous_minutes >= minutes)
            previous_minutes = minutes
    counts: dict[tuple[int, int], cp_model.IntVar | int] = {}
    for g, team in problem.teams:
        for c in range(len(candidates)):
            count = model.new_int_var(0, team.headcount, f"n{g}_{c}")
            model.add(count == LinearExpr.sum(on_shift[(g, c)]))
            counts[(g, c)] = count
    _add_coverage(model, problem, counts)
    return model, take


def _solver(seconds: float, workers: int, deterministic_time: float | None = None) -> cp_model.CpSolver:
    """A CP-SAT solver; with `deterministic_time` it also stops on CP-SAT's deterministic work clock, so
    the same input gives the same answer on a loaded machine (with one worker; CP-SAT's seed is fixed)."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    solver.parameters.num_workers = workers
    if deterministic_time is not None:
        solver.parameters.max_deterministic_time = deterministic_time
    return solver


def _counts_of(assignment: Assignment) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for (g, _), days in assignment.items():
        for c in days.values():
            counts[(g, c)] += 1
    return counts


def _line_name(site: Site, team_index: int, line: int) -> str:
    prefix = site.name if len(site.teams) == 1 else f"{site.name}-{site.teams[team_index].name}"
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
    calendar = site_calendar(site, horizon)
    problem = _Problem(
        site=site,
        demands=demands,
        required=np.asarray(required, dtype=np.int64).reshape(len(demands), horizon.periods),
        horizon=horizon,
        candidates=calendar.candidates,
        days=calendar.days,
        teams=[(g, team) for g, team in enumerate(site.teams) if team.headcount > 0],
        weights=weights,
    )
    for c, candidate in enumerate(problem.candidates):
        problem.by_day.setdefault(candidate.day, []).append(c)

    def remaining() -> float:
        return time_limit - (time.monotonic() - started)

    relaxed = _count_model(problem)
    solver = _solver(remaining() * 0.5, workers)
    status = solver.solve(relaxed.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignment: Assignment = {}
        status_name = solver.status_name(status)
    else:
        counts = {key: int(solver.value(var)) for key, var in relaxed.counts.items()}
        assignment, left = _assign(problem, counts)
        status_name = solver.status_name(status) if left == 0 else "FEASIBLE"
        if left:
            assignment = _improve_on_lines(problem, assignment, remaining() * 0.8, workers)

    scored = _count_model(problem, fixed=_counts_of(assignment))
    solver = _solver(max(1.0, remaining()), workers)
    # With the shifts fixed, any break placement with everyone short is a solution, so one is found.
    if solver.solve(scored.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"CP-SAT found no break placement for the {site.name} schedule")
    scheduled = np.array([solver.value(expr) for expr in scored.staffed], dtype=np.int64)
    under = np.array([solver.value(expr) for expr in scored.under], dtype=np.int64)
    total_required = problem.required.sum(axis=0)
    return SiteSchedule(
        site=site.name,
        status=status_name,
        shifts=_shifts(problem, assignment, scored, solver),
        required=total_required,
        scheduled=scheduled,
        under=under,
        over=scheduled - total_required + under,
        seconds=time.monotonic() - started,
    )


def _improve_on_lines(problem: _Problem, greedy: Assignment, seconds: float, workers: int) -> Assignment:
    """Run the exact line model from the greedy assignment; keep whichever assignment scores better."""
    model, take = _line_model(problem, greedy)
    solver = _solver(seconds, workers)
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return greedy
    exact: Assignment = defaultdict(dict)
    for (g, line, c), var in take.items():
        if solver.boolean_value(var):
            exact[(g, line)][problem.candidates[c].day] = c
    greedy_score = _score(problem, greedy, workers)
    return dict(exact) if _score(problem, dict(exact), workers) <= greedy_score else greedy


def _score(problem: _Problem, assignment: Assignment, workers: int) -> float:
    scored = _count_model(problem, fixed=_counts_of(assignment))
    solver = _solver(2.0, workers)
    solver.solve(scored.model)
    return float(solver.objective_value)


def _shifts(
    problem: _Problem, assignment: Assignment, scored: _CountModel, solver: cp_model.CpSolver
) -> list[ScheduledShift]:
    """The assignment as shifts, each line on a shift taking the next break the scoring placed there."""
    pending: dict[tuple[int, int], list[int]] = {
        key: [
            offset
            for offset, var in zip(problem.candidates[key[1]].break_offsets, placed, strict=True)
            for _ in range(solver.value(var))
        ]
        for key, placed in scored.breaks.items()
    }
    shifts = []
    interval = problem.horizon.interval
    break_length = timedelta(minutes=problem.site.shifts.break_minutes)
    for (g, line), days in sorted(assignment.items()):
        for c in sorted(days.values(), key=lambda c: problem.candidates[c].start):
            candidate = problem.candidates[c]
            offsets = pending.get((g, c))
            break_start = candidate.start + offsets.pop(0) * interval if offsets else None
            shifts.append(
                ScheduledShift(
                    agent=_line_name(problem.site, g, line),
                    site=problem.site.name,
                    team=problem.site.teams[g].name,
                    start=candidate.start,
                    end=candidate.start + candidate.length,
                    break_start=break_start,
                    break_end=None if break_start is None else break_start + break_length,
                )
            )
    return shifts
