"""Named agents on schedule lines: who works each shift the scheduler gave a site's anonymous lines.

The scheduler builds lines (positions per site team) before names are known; here each line's shifts go
to real people. Pure: shifts, agents and rules in, an assignment and the shifts left open out.

The rule is a greedy one, stated so a planner can predict it:
- hardest shifts first: shifts with the fewest agents who could ever take them (site, skills and
  languages, not on approved time off) are handed out first, then by start time, so a versatile agent is
  not used up on a shift a specialist could have worked;
- each shift goes to the agent, among those who may take it, who has used the smallest share of their
  contracted hours so far (fair spread); ties go to the agent already working that line (a person keeps
  one line's pattern where possible), then to the lowest agent id;
- an agent may take a shift only at their own site, holding every skill and language of the line's team,
  outside approved time off, within their contracted hours (and the site's weekly maximum), on a day
  they do not already work, with the site's minimum rest to their other shifts, and within the site's
  days-off and consecutive-days rules.
A shift nobody may take stays open, with the first of those conditions that ruled every agent out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction


@dataclass(frozen=True)
class LineShift:
    """One shift of a schedule line, as the scheduler made it."""

    line: str  # the line's name, e.g. "Chicago-L1-003"
    site: str
    team: str
    skills: frozenset[str]
    languages: frozenset[str]
    start: datetime  # aware
    end: datetime
    work_minutes: int  # length less the unpaid break: what counts against contracted hours
    day: date  # the site's local date of the start: one shift per person per day


@dataclass(frozen=True)
class NamedAgent:
    id: int
    name: str
    site: str | None
    skills: frozenset[str]
    languages: frozenset[str]
    contracted_minutes: int  # per week
    time_off: tuple[tuple[datetime, datetime], ...] = ()  # approved


@dataclass(frozen=True)
class SiteRules:
    """The labour rules of a site that a person's week must honour (the lines' own rules)."""

    min_rest_minutes: int = 11 * 60
    max_consecutive_days: int = 5
    min_days_off: int = 2
    max_week_minutes: int = 40 * 60


# Why a shift stayed open, in the order the conditions are checked.
NO_AGENT_AT_SITE = "no agent works at this site"
NO_SKILLS = "no agent at this site holds the line's skills and languages"
TIME_OFF = "every agent who could work it is on approved time off"
HOURS = "every agent who could work it would exceed their contracted hours"
RULES = (
    "every agent who could work it already works that day or would break the rest, days-off or"
    " consecutive-days rule"
)


@dataclass(frozen=True)
class OpenShift:
    shift: LineShift
    reason: str


@dataclass
class Roster:
    """The assignment: each taken shift with its agent, the shifts left open, minutes per agent."""

    assigned: list[tuple[LineShift, NamedAgent]] = field(default_factory=list)
    open: list[OpenShift] = field(default_factory=list)
    minutes: dict[int, int] = field(default_factory=dict)  # agent id -> work minutes assigned

    def shifts_of(self, agent_id: int) -> list[LineShift]:
        return sorted((s for s, a in self.assigned if a.id == agent_id), key=lambda s: s.start)


def _holds(agent: NamedAgent, shift: LineShift) -> bool:
    return shift.skills <= agent.skills and shift.languages <= agent.languages


def _off(agent: NamedAgent, shift: LineShift) -> bool:
    return any(start < shift.end and shift.start < end for start, end in agent.time_off)


def _rested(taken: Sequence[LineShift], shift: LineShift, rest: timedelta) -> bool:
    for other in taken:
        if shift.start >= other.end:
            gap = shift.start - other.end
        elif other.start >= shift.end:
            gap = other.start - shift.end
        else:
            return False  # they overlap
        if gap < rest:
            return False
    return True


def _longest_run(days: set[date]) -> int:
    longest = 0
    for day in days:
        if day - timedelta(days=1) in days:
            continue
        run = 1
        while day + timedelta(days=run) in days:
            run += 1
        longest = max(longest, run)
    return longest


def _fits_rules(taken: Sequence[LineShift], shift: LineShift, rules: SiteRules) -> bool:
    days = {s.day for s in taken}
    if shift.day in days:
        return False
    if not _rested(taken, shift, timedelta(minutes=rules.min_rest_minutes)):
        return False
    days.add(shift.day)
    if len(days) > 7 - rules.min_days_off:
        return False
    return _longest_run(days) <= rules.max_consecutive_days


def assign_agents(
    shifts: Sequence[LineShift], agents: Sequence[NamedAgent], rules: dict[str, SiteRules]
) -> Roster:
    """Name an agent for every shift that one may take (see the module's rule); the rest stay open.

    ``rules`` by site name; a site missing from it gets :class:`SiteRules`' defaults."""
    by_site: dict[str | None, list[NamedAgent]] = defaultdict(list)
    for agent in sorted(agents, key=lambda a: a.id):
        by_site[agent.site].append(agent)

    def possible(shift: LineShift) -> list[NamedAgent]:
        return [a for a in by_site.get(shift.site, []) if _holds(a, shift) and not _off(a, shift)]

    options = {id(s): len(possible(s)) for s in shifts}
    order = sorted(shifts, key=lambda s: (options[id(s)], s.start, s.site, s.line))
    roster = Roster(minutes={a.id: 0 for a in agents})
    taken: dict[int, list[LineShift]] = defaultdict(list)
    lines_of: dict[int, set[str]] = defaultdict(set)
    for shift in order:
        site_rules = rules.get(shift.site, SiteRules())
        here = by_site.get(shift.site, [])
        skilled = [a for a in here if _holds(a, shift)]
        present = [a for a in skilled if not _off(a, shift)]
        within = [
            a
            for a in present
            if roster.minutes[a.id] + shift.work_minutes
            <= min(a.contracted_minutes, site_rules.max_week_minutes)
        ]
        able = [a for a in within if _fits_rules(taken[a.id], shift, site_rules)]
        if not able:
            reason = next(
                why
                for stage, why in (
                    (here, NO_AGENT_AT_SITE),
                    (skilled, NO_SKILLS),
                    (present, TIME_OFF),
                    (within, HOURS),
                    (able, RULES),
                )
                if not stage
            )
            roster.open.append(OpenShift(shift, reason))
            continue
        chosen = min(
            able,
            key=lambda a: (
                Fraction(roster.minutes[a.id], max(1, a.contracted_minutes)),
                shift.line not in lines_of[a.id],
                a.id,
            ),
        )
        roster.assigned.append((shift, chosen))
        roster.minutes[chosen.id] += shift.work_minutes
        taken[chosen.id].append(shift)
        lines_of[chosen.id].add(shift.line)
    roster.assigned.sort(key=lambda pair: (pair[0].start, pair[0].line))
    roster.open.sort(key=lambda o: (o.shift.start, o.shift.line))
    return roster
