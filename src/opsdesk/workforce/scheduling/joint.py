"""Every site scheduled in one CP-SAT model against one requirement.

The follow-the-sun split decides beforehand which site covers which agents of each interval; when a site
then falls short (too few people, its rules or shift templates), that work stays uncovered even while
another open site with the skill and language has idle agents. Here the requirement stays whole, by
demand part (skill, language and, for rows that name one, a site), and any team on duty at any open site
that serves a part may take it. Everything that belongs to a person stays per site: each site keeps its
schedule lines, labour rules, shift templates, breaks and time zone (the per-site pieces of model.py are
reused as they are); only coverage is shared.

Coverage is the transportation bound of model.py lifted to all sites: the work nobody on duty can take is
the largest shortfall of any group of demand parts against every team (of any site) able to take one of
them (Hall's theorem, exact). After the count model, shifts are handed to each site's lines by the same
greedy assignment; a site whose shifts did not all find a line gets the exact line model against the
work the joint solution gave it. The final scoring fixes the assigned shifts, places breaks and measures
under and over coverage jointly; each site's row then shows the work it took (one maximum-flow allocation
of the parts to the teams on duty), and what nobody could take is the joint `under`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.graph.python import max_flow
from ortools.sat.python import cp_model
from ortools.sat.python.cp_model import LinearExpr

from opsdesk.workforce.coverage import CoverageSplit, largest_remainder
from opsdesk.workforce.scheduling.model import (
    WEIGHT_SCALE,
    Assignment,
    SiteSchedule,
    Weights,
    _assign,
    _count_model,
    _CountModel,
    _counts_of,
    _duty_terms,
    _improve_on_lines,
    _on_duty_expr,
    _Problem,
    _shifts,
    _solver,
    _team_counts,
)
from opsdesk.workforce.scheduling.requirement import FOLLOW_THE_SUN, Requirement
from opsdesk.workforce.scheduling.templates import Horizon, site_calendar
from opsdesk.workforce.sites import DemandShare, SitesConfig, Team

Unit = tuple[int, int]  # (site index, team index)
Counts = dict[tuple[int, int], cp_model.IntVar | int]


@dataclass(frozen=True)
class Part:
    """Work that needs one skill and/or one language, at any open site (`site` None) or at one site."""

    skill: str | None = None
    language: str | None = None
    site: str | None = None

    @property
    def label(self) -> str:
        where = f"@{self.site}" if self.site else ""
        return f"{self.skill or 'any'}/{self.language or 'any'}{where}"

    def served_by(self, site: str, team: Team) -> bool:
        return (self.site is None or self.site == site) and team.serves(self.skill, self.language)


@dataclass(frozen=True)
class JointSchedule:
    parts: list[Part]
    required: np.ndarray  # [part, period]: the requirement scheduled against
    sites: list[SiteSchedule]  # per site: `required` is the work it took, `under` is zero (see `under`)
    scheduled: np.ndarray  # agents on duty (not on break) per interval, all sites
    under: np.ndarray  # per interval: required work no one on duty at any site could take
    over: np.ndarray  # per interval: agents on duty without work they could take
    status: str  # OPTIMAL when the joint count model proved its optimum and every shift found a line
    seconds: float

    @property
    def coverage_error(self) -> int:
        """Under + over coverage in agent-intervals: what the joint objective trades off."""
        return int(self.under.sum() + self.over.sum())

    def unserved_frame(self, horizon: Horizon) -> pd.DataFrame:
        """The joint `under` as rows for `coverage_table(..., unserved=...)`, so its columns add up."""
        rows = [(horizon.at(p), int(v)) for p, v in enumerate(self.under) if v]
        return pd.DataFrame(rows, columns=["timestamp", "required"])


def parts_from_split(split: CoverageSplit, horizon: Horizon) -> tuple[list[Part], np.ndarray]:
    """The requirement a follow-the-sun split divided, added back up over sites (with what it could not
    place), so a joint schedule and the per-site schedules are measured against the same work."""
    frames = [split.required[["timestamp", "skill", "language", "required"]], split.unserved]
    rows = pd.concat([frame for frame in frames if len(frame)], ignore_index=True)
    keys = sorted(
        {(_text(row.skill), _text(row.language)) for row in rows.itertuples()},
        key=lambda k: (k[0] or "", k[1] or ""),
    )
    parts = [Part(skill=skill, language=language) for skill, language in keys]
    matrix = np.zeros((len(parts), horizon.periods), dtype=np.int64)
    index = {key: k for k, key in enumerate(keys)}
    for row in rows.itertuples():
        matrix[index[(_text(row.skill), _text(row.language))], _period(horizon, row.timestamp)] += int(
            row.required
        )
    return parts, matrix


def parts_from_requirement(requirement: Requirement, config: SitesConfig) -> tuple[list[Part], np.ndarray]:
    """Follow-the-sun rows divided by the demand mix (largest remainder per interval, as the split does);
    rows that name a site become that site's own parts."""
    horizon = requirement.horizon
    parts: list[Part] = []
    blocks: list[np.ndarray] = []
    for site, series in requirement.by_site.items():
        values = series.to_numpy(dtype=np.int64)
        mix = config.demand_mix
        block = np.zeros((len(mix), horizon.periods), dtype=np.int64)
        for p, total in enumerate(values):
            block[:, p] = largest_remainder(int(total), [d.share for d in mix])
        parts.extend(
            Part(skill=d.skill, language=d.language, site=None if site == FOLLOW_THE_SUN else site)
            for d in mix
        )
        blocks.append(block)
    return parts, np.vstack(blocks) if blocks else np.zeros((0, horizon.periods), dtype=np.int64)


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _period(horizon: Horizon, stamp: object) -> int:
    delta = pd.Timestamp(stamp) - pd.Timestamp(horizon.start)
    return int(delta.total_seconds() // horizon.interval.total_seconds())


@dataclass
class _Joint:
    """One CP-SAT model over every site: per-site counts and rules, one shared coverage."""

    model: cp_model.CpModel
    counts: list[Counts]
    breaks: list[dict[tuple[int, int], list[cp_model.IntVar]]]
    duty: dict[Unit, list[LinearExpr | None]]  # None where a team has nobody on duty by construction
    under: list[cp_model.IntVar]

    def hint(self, other: _Joint, solver: cp_model.CpSolver) -> None:
        """Hint every variable with `other`'s solved values (a model of the same sites and horizon), so
        the search starts from that complete, feasible solution."""
        for mine, theirs in zip(self.counts, other.counts, strict=True):
            for key, var in mine.items():
                if not isinstance(var, int):
                    value = theirs.get(key, 0)
                    self.model.add_hint(var, value if isinstance(value, int) else solver.value(value))
        for mine_breaks, their_breaks in zip(self.breaks, other.breaks, strict=True):
            for key, placed in mine_breaks.items():
                values = [solver.value(v) for v in their_breaks.get(key, [])] or [0] * len(placed)
                for var, value in zip(placed, values, strict=True):
                    self.model.add_hint(var, value)
        for var, solved in zip(self.under, other.under, strict=True):
            self.model.add_hint(var, solver.value(solved))


def _demand_groups(
    parts: Sequence[Part], units: dict[Unit, tuple[str, Team]]
) -> list[tuple[list[int], list[Unit]]]:
    """Groups of parts and the teams able to take any of them: one per distinct set of parts that some
    set of team profiles alone can serve (the only groups whose bound can bind)."""
    profiles: dict[frozenset[int], list[Unit]] = {}
    for unit, (site, team) in units.items():
        served = frozenset(k for k, part in enumerate(parts) if part.served_by(site, team))
        if served:
            profiles.setdefault(served, []).append(unit)
    keys = list(profiles)
    groups: dict[frozenset[int], list[Unit]] = {}
    for mask in range(1, 1 << len(keys)):
        chosen = [keys[i] for i in range(len(keys)) if mask >> i & 1]
        allowed = frozenset().union(*chosen)
        only_these = frozenset(k for k in allowed if all(k not in key or key in chosen for key in keys))
        if only_these and only_these not in groups:
            groups[only_these] = [u for key in keys if key & only_these for u in profiles[key]]
    # Parts nobody anywhere serves are unmet in every interval: a group with no teams.
    orphans = frozenset(k for k in range(len(parts)) if not any(k in key for key in keys))
    if orphans:
        groups[orphans] = []
    return [(sorted(group), members) for group, members in groups.items()]


def _joint_model(
    problems: list[_Problem],
    parts: Sequence[Part],
    required: np.ndarray,
    horizon: Horizon,
    weights: Weights,
    fixed: list[dict[tuple[int, int], int]] | None = None,
    free: int | None = None,
) -> _Joint:
    """The joint model; with `fixed`, those shift counts are given (except site `free`'s, if named)."""
    model = cp_model.CpModel()
    counts: list[Counts] = []
    breaks: list[dict[tuple[int, int], list[cp_model.IntVar]]] = []
    duty: dict[Unit, list[LinearExpr | None]] = {}
    units: dict[Unit, tuple[str, Team]] = {}
    for s, problem in enumerate(problems):
        site_counts: Counts = (
            dict(fixed[s]) if fixed is not None and s != free else _team_counts(model, problem)
        )
        site_duty, site_breaks = _duty_terms(model, problem, site_counts)
        counts.append(site_counts)
        breaks.append(site_breaks)
        for g, team in problem.teams:
            units[(s, g)] = (problem.site.name, team)
            duty[(s, g)] = [_on_duty_expr(terms) if terms else None for terms in site_duty[g]]
    groups = _demand_groups(parts, units)
    under_vars: list[cp_model.IntVar] = []
    under_terms: list[LinearExpr] = []
    over_terms: list[LinearExpr] = []
    for p in range(horizon.periods):
        on_duty = [expr for unit in units if (expr := duty[unit][p]) is not None]
        need = int(required[:, p].sum())
        under_var = model.new_int_var(0, need, f"u{p}")
        for group, members in groups:
            shortfall = int(required[group, p].sum())
            if shortfall:
                present = [expr for unit in members if (expr := duty[unit][p]) is not None]
                model.add(under_var + LinearExpr.sum(present) >= shortfall)
        under = LinearExpr.sum([under_var])
        under_vars.append(under_var)
        under_terms.append(under)
        over_terms.append(LinearExpr.sum([*on_duty, under]) - need)
    model.minimize(
        LinearExpr.sum(under_terms) * round(weights.under * WEIGHT_SCALE)
        + LinearExpr.sum(over_terms) * round(weights.over * WEIGHT_SCALE)
    )
    return _Joint(model=model, counts=counts, breaks=breaks, duty=duty, under=under_vars)


def _allocate(
    on_duty: dict[Unit, int], teams: dict[Unit, tuple[str, Team]], parts: Sequence[Part], need: np.ndarray
) -> dict[tuple[Unit, int], int]:
    """One largest allocation of an interval's parts to the teams on duty (maximum flow)."""
    flow = max_flow.SimpleMaxFlow()
    source, sink = 0, 1
    unit_list = [unit for unit, people in on_duty.items() if people > 0]
    node = {unit: 2 + len(parts) + i for i, unit in enumerate(unit_list)}
    arcs: dict[int, tuple[Unit, int]] = {}
    for k, amount in enumerate(need):
        if amount > 0:
            flow.add_arc_with_capacity(source, 2 + k, int(amount))
    for unit in unit_list:
        flow.add_arc_with_capacity(node[unit], sink, on_duty[unit])
        site, team = teams[unit]
        for k, part in enumerate(parts):
            if need[k] > 0 and part.served_by(site, team):
                arcs[flow.add_arc_with_capacity(2 + k, node[unit], int(need[k]))] = (unit, k)
    if not arcs:
        return {}
    flow.solve(source, sink)
    return {key: int(flow.flow(arc)) for arc, key in arcs.items() if flow.flow(arc) > 0}


def _site_problems(
    config: SitesConfig, parts: Sequence[Part], horizon: Horizon, weights: Weights
) -> list[_Problem]:
    problems = []
    for site in config.sites:
        calendar = site_calendar(site, horizon)
        problem = _Problem(
            site=site,
            demands=[DemandShare(skill=part.skill, language=part.language, share=1.0) for part in parts],
            required=np.zeros((len(parts), horizon.periods), dtype=np.int64),
            horizon=horizon,
            candidates=calendar.candidates,
            days=calendar.days,
            teams=[(g, team) for g, team in enumerate(site.teams) if team.headcount > 0],
            weights=weights,
        )
        for c, candidate in enumerate(problem.candidates):
            problem.by_day.setdefault(candidate.day, []).append(c)
        problems.append(problem)
    return problems


def _taken_by_site(
    problems: list[_Problem], parts: Sequence[Part], required: np.ndarray, on_duty: dict[Unit, np.ndarray]
) -> list[np.ndarray]:
    """Per site, the work [part, period] the teams on duty there take in one maximum allocation."""
    teams = {
        (s, g): (problem.site.name, team) for s, problem in enumerate(problems) for g, team in problem.teams
    }
    taken = [np.zeros_like(required) for _ in problems]
    for p in range(required.shape[1]):
        people = {unit: int(values[p]) for unit, values in on_duty.items()}
        for ((s, _g), k), amount in _allocate(people, teams, parts, required[:, p]).items():
            taken[s][k, p] += amount
    return taken


def _sizes(problems: list[_Problem]) -> list[int]:
    """Count variables per site: how a time budget is shared between per-site solves."""
    return [len(problem.candidates) * len(problem.teams) for problem in problems]


def _split_start(
    problems: list[_Problem],
    parts: Sequence[Part],
    required: np.ndarray,
    horizon: Horizon,
    seconds: float,
    workers: int,
    deterministic_time: float | None,
) -> list[dict[tuple[int, int], int]]:
    """A starting point for the joint search: each part of each interval divided among the open sites
    able to take it in proportion to that headcount (the follow-the-sun rule), and each site's count
    model solved alone against its share."""
    shares = [np.zeros_like(required) for _ in problems]
    for p in range(horizon.periods):
        at = horizon.at(p)
        open_sites = [problem.site.is_open(at) for problem in problems]
        for k, part in enumerate(parts):
            if not required[k, p]:
                continue
            capacity = [
                sum(team.headcount for _g, team in problem.teams if part.served_by(problem.site.name, team))
                if is_open
                else 0
                for problem, is_open in zip(problems, open_sites, strict=True)
            ]
            for s, agents in enumerate(largest_remainder(int(required[k, p]), capacity)):
                shares[s][k, p] += agents
    started = time.monotonic()
    counts: list[dict[tuple[int, int], int]] = []
    sizes = _sizes(problems)
    for s, problem in enumerate(problems):
        problem.required = shares[s]
        relaxed = _count_model(problem)
        left = seconds - (time.monotonic() - started)
        share = left * sizes[s] / max(1, sum(sizes[s:]))
        solver = _solver(max(0.1, share), workers, deterministic_time)
        if solver.solve(relaxed.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            counts.append({key: int(solver.value(var)) for key, var in relaxed.counts.items()})
        else:
            counts.append({})
        problem.required = np.zeros_like(required)
    return counts


def _improve_site_by_site(
    problems: list[_Problem],
    parts: Sequence[Part],
    required: np.ndarray,
    horizon: Horizon,
    weights: Weights,
    counts: list[dict[tuple[int, int], int]],
    current: _Joint,
    current_solver: cp_model.CpSolver,
    *,
    deadline: float,
    workers: int,
    deterministic_time: float | None,
) -> tuple[list[dict[tuple[int, int], int]], _Joint, cp_model.CpSolver]:
    """Block descent: re-solve one site's shift counts at a time against the whole requirement, the other
    sites' shifts held, until a round over all sites improves nothing or time runs out. Each step is a
    model of one site's size (which CP-SAT solves well) and can only lower the joint objective."""
    improved = True
    sizes = _sizes(problems)
    while improved and time.monotonic() < deadline:
        improved = False
        for s in range(len(problems)):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            trial = _joint_model(problems, parts, required, horizon, weights, fixed=counts, free=s)
            trial.hint(current, current_solver)
            solver = _solver(left * sizes[s] / max(1, sum(sizes[s:])), workers, deterministic_time)
            status = solver.solve(trial.model)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and (
                solver.objective_value < current_solver.objective_value - 0.5
            ):
                counts = [*counts]
                counts[s] = {key: int(solver.value(var)) for key, var in trial.counts[s].items()}
                current, current_solver = trial, solver
                improved = True
    return counts, current, current_solver


def schedule_jointly(
    config: SitesConfig,
    parts: Sequence[Part],
    required: np.ndarray,
    horizon: Horizon,
    *,
    weights: Weights = Weights(),
    time_limit: float = 30.0,
    workers: int = 2,
    deterministic_time: float | None = None,
) -> JointSchedule:
    """Shifts for every site at once against `required[part, period]` (agents per part and interval).

    `deterministic_time` bounds each CP-SAT solve by CP-SAT's deterministic work clock as well, so that
    with `workers=1` the same input gives the same schedule however loaded the machine is.
    """
    started = time.monotonic()
    parts = list(parts)
    required = np.asarray(required, dtype=np.int64).reshape(len(parts), horizon.periods)
    problems = _site_problems(config, parts, horizon, weights)

    def remaining() -> float:
        return time_limit - (time.monotonic() - started)

    start = _split_start(problems, parts, required, horizon, remaining() * 0.45, workers, deterministic_time)
    # The split's counts scored jointly: a complete solution to start the joint search from.
    current = _joint_model(problems, parts, required, horizon, weights, fixed=start)
    current_solver = _solver(max(1.0, remaining() * 0.1), workers, deterministic_time)
    if current_solver.solve(current.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError("CP-SAT found no break placement for the split schedule")
    counts = start
    relaxed = _joint_model(problems, parts, required, horizon, weights)
    relaxed.hint(current, current_solver)
    solver = _solver(remaining() * 0.25, workers, deterministic_time)
    status = solver.solve(relaxed.model)
    status_name = "OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE"
    if (
        status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        and solver.objective_value <= current_solver.objective_value
    ):
        counts = [{key: int(solver.value(var)) for key, var in c.items()} for c in relaxed.counts]
        current, current_solver = relaxed, solver
    if status != cp_model.OPTIMAL:
        counts, current, current_solver = _improve_site_by_site(
            problems,
            parts,
            required,
            horizon,
            weights,
            counts,
            current,
            current_solver,
            deadline=started + time_limit * 0.85,
            workers=workers,
            deterministic_time=deterministic_time,
        )
    assignments: list[Assignment] = [{} for _ in problems]
    chosen, chosen_solver = current, current_solver
    leftover_sites = []
    for s, problem in enumerate(problems):
        assignments[s], left = _assign(problem, counts[s])
        if left:
            leftover_sites.append(s)
    if leftover_sites:
        status_name = "FEASIBLE"
        on_duty = {
            unit: np.array([0 if e is None else chosen_solver.value(e) for e in exprs], dtype=np.int64)
            for unit, exprs in chosen.duty.items()
        }
        taken = _taken_by_site(problems, parts, required, on_duty)
        for i, s in enumerate(leftover_sites):
            problems[s].required = taken[s]
            share = max(0.1, remaining() * 0.8 / (len(leftover_sites) - i))
            assignments[s] = _improve_on_lines(problems[s], assignments[s], share, workers)

    scored = _joint_model(
        problems, parts, required, horizon, weights, fixed=[_counts_of(a) for a in assignments]
    )
    solver = _solver(max(1.0, remaining()), workers, deterministic_time)
    # With the shifts fixed, any break placement with everyone short is a solution, so one is found.
    if solver.solve(scored.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError("CP-SAT found no break placement for the joint schedule")
    on_duty = {
        unit: np.array([0 if e is None else solver.value(e) for e in exprs], dtype=np.int64)
        for unit, exprs in scored.duty.items()
    }
    under = np.array([solver.value(expr) for expr in scored.under], dtype=np.int64)
    scheduled = np.zeros(horizon.periods, dtype=np.int64)
    for values in on_duty.values():
        scheduled += values
    taken = _taken_by_site(problems, parts, required, on_duty)
    sites = []
    for s, problem in enumerate(problems):
        site_scheduled = np.zeros(horizon.periods, dtype=np.int64)
        for g, _team in problem.teams:
            site_scheduled += on_duty[(s, g)]
        site_taken = taken[s].sum(axis=0)
        breaks = _CountModel(
            model=scored.model, counts=scored.counts[s], breaks=scored.breaks[s], staffed=[], under=[]
        )
        sites.append(
            SiteSchedule(
                site=problem.site.name,
                status=status_name,
                shifts=_shifts(problem, assignments[s], breaks, solver),
                required=site_taken,
                scheduled=site_scheduled,
                under=np.zeros(horizon.periods, dtype=np.int64),
                over=site_scheduled - site_taken,
                seconds=time.monotonic() - started,
            )
        )
    return JointSchedule(
        parts=parts,
        required=required,
        sites=sites,
        scheduled=scheduled,
        under=under,
        over=scheduled - required.sum(axis=0) + under,
        status=status_name,
        seconds=time.monotonic() - started,
    )
