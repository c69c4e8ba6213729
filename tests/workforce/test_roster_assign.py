"""The named-agent assignment on hand-made weeks: site, skills and languages, contracted hours, approved
time off, the rest and days-off rules, a fair spread, and why a shift stays open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk.workforce.roster.assign import (
    HOURS,
    NO_AGENT_AT_SITE,
    NO_SKILLS,
    RULES,
    TIME_OFF,
    LineShift,
    NamedAgent,
    Roster,
    SiteRules,
    assign_agents,
)

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def shift(
    day: int,
    *,
    line: str = "Dublin-001",
    site: str = "Dublin",
    hours: int = 8,
    at: int = 9,
    skills: tuple[str, ...] = ("billing",),
    languages: tuple[str, ...] = ("en",),
) -> LineShift:
    start = MONDAY.replace(hour=at) + day * DAY
    return LineShift(
        line=line,
        site=site,
        team="L1",
        skills=frozenset(skills),
        languages=frozenset(languages),
        start=start,
        end=start + timedelta(hours=hours),
        work_minutes=hours * 60 - 30,
        day=start.date(),
    )


def agent(
    id: int,
    *,
    site: str = "Dublin",
    hours: float = 40,
    skills: tuple[str, ...] = ("billing",),
    languages: tuple[str, ...] = ("en",),
    off: tuple[tuple[datetime, datetime], ...] = (),
) -> NamedAgent:
    return NamedAgent(
        id=id,
        name=f"Agent {id}",
        site=site,
        skills=frozenset(skills),
        languages=frozenset(languages),
        contracted_minutes=int(hours * 60),
        time_off=off,
    )


def owners(roster: Roster) -> dict[int, list[int]]:
    """Agent id -> the days (0 = Monday) of the shifts they got."""
    result: dict[int, list[int]] = {}
    for s, a in roster.assigned:
        result.setdefault(a.id, []).append((s.start.date() - MONDAY.date()).days)
    return {k: sorted(v) for k, v in result.items()}


def test_only_the_site_and_the_skills_and_languages_of_the_line() -> None:
    week = [
        shift(0),
        shift(0, line="Dublin-002", skills=("billing", "tech"), languages=("en", "de")),
        shift(0, line="Manila-001", site="Manila"),
    ]
    agents = [
        agent(1, skills=("billing", "tech"), languages=("en",)),  # no German
        agent(2, skills=("billing", "tech"), languages=("en", "de", "fr")),
        agent(3, site="Chicago"),
    ]
    roster = assign_agents(week, agents, {})
    taken = {s.line: a.id for s, a in roster.assigned}
    assert taken == {"Dublin-002": 2, "Dublin-001": 1}  # the German line first: only agent 2 may take it
    assert [(o.shift.line, o.reason) for o in roster.open] == [("Manila-001", NO_AGENT_AT_SITE)]
    nobody = assign_agents([shift(0, skills=("tech",))], [agent(1)], {})
    assert [o.reason for o in nobody.open] == [NO_SKILLS]


def test_contracted_hours_are_a_ceiling_and_the_rest_stays_open() -> None:
    week = [shift(d) for d in range(5)]  # 5 x 7.5 h of work
    roster = assign_agents(week, [agent(1, hours=16)], {})
    assert roster.minutes == {1: 2 * 450}  # a third shift would make 22.5 h > 16 h
    assert [o.reason for o in roster.open] == [HOURS, HOURS, HOURS]
    full = assign_agents(week, [agent(1, hours=40)], {})
    assert full.minutes == {1: 5 * 450} and not full.open


def test_never_during_approved_time_off() -> None:
    wednesday_off = ((MONDAY + 2 * DAY - timedelta(hours=9), MONDAY + 3 * DAY - timedelta(hours=9)),)
    week = [shift(d) for d in range(5)]
    roster = assign_agents(week, [agent(1, off=wednesday_off), agent(2)], {})
    assert 2 not in owners(roster).get(1, [])
    assert 2 in owners(roster)[2]
    alone = assign_agents([shift(2)], [agent(1, off=wednesday_off)], {})
    assert [o.reason for o in alone.open] == [TIME_OFF]


def test_one_shift_a_day_rest_days_off_and_consecutive_days() -> None:
    rules = {"Dublin": SiteRules(min_rest_minutes=11 * 60, max_consecutive_days=5, min_days_off=2)}
    # A late shift Monday (14:00-22:00) and an early one Tuesday (06:00): 8 hours apart, under 11.
    late, early = shift(0, at=14, line="Dublin-001"), shift(1, at=6, line="Dublin-002")
    roster = assign_agents([late, early], [agent(1)], rules)
    assert len(roster.assigned) == 1 and [o.reason for o in roster.open] == [RULES]
    same_day = assign_agents([shift(0), shift(0, at=18, hours=4, line="Dublin-002")], [agent(1)], rules)
    assert len(same_day.assigned) == 1
    seven = [shift(d, hours=4) for d in range(7)]  # 7 short days: at most 5 worked, 2 days off
    week = assign_agents(seven, [agent(1)], rules)
    assert len(owners(week)[1]) == 5 and len(week.open) == 2
    six_in_a_row = assign_agents(seven, [agent(1)], {"Dublin": SiteRules(min_days_off=0)})
    assert owners(six_in_a_row)[1] == [0, 1, 2, 3, 4, 6]  # never six days in a row


def test_hours_are_spread_by_share_of_contract() -> None:
    week = [shift(d) for d in range(5)] + [shift(d, line="Dublin-002", at=10) for d in range(5)]
    equal = assign_agents(week, [agent(1), agent(2), agent(3)], {})
    days = [len(v) for v in owners(equal).values()]
    assert sorted(days) == [3, 3, 4] and not equal.open  # 10 shifts over three agents, none idle
    part_time = assign_agents(week[:6], [agent(1, hours=20), agent(2, hours=40)], {})
    assert part_time.minutes[1] <= 20 * 60
    # Each has about the same share of their contract: 2 shifts of 20 h, 4 of 40 h.
    assert owners(part_time) == {1: [0, 2], 2: [0, 1, 3, 4]}


def test_an_agent_keeps_a_line_when_shares_tie() -> None:
    # Tuesday's first shift is on the line agent 2 worked on Monday: continuity beats the lower id.
    week = [
        shift(0, line="Y", at=9),
        shift(0, line="X", at=10),
        shift(1, line="X", at=9),
        shift(1, line="Y", at=10),
    ]
    roster = assign_agents(week, [agent(1), agent(2)], {})
    held = {(s.line, a.id) for s, a in roster.assigned}
    assert held == {("Y", 1), ("X", 2)}
