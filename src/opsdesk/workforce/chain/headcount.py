"""Links 6 and 7: monthly headcount need per site and team, then hires, each month with its reason.

Need of a team in month m = its agent-hours on shift per week (the requirement the scheduler is given)
/ on-duty hours of one person per week / (1 - absence). A team is a site's skill and language profile,
the unit a hire fills. Hires follow opsdesk.workforce.hiring.project_stream: the staff there now and the
earlier hires shrink by attrition and ramp up after starting; a month hires only when that projected
productive FTE falls below the need of the month its hires are fully productive. Cost per month is the
headcount times the team's annual salary / 12, in cents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opsdesk.workforce.hiring import MonthPlan, project_stream
from opsdesk.workforce.sites import Site


def team_need(week_hours: float, on_duty_hours: float, absence: float) -> float:
    return week_hours / on_duty_hours / (1 - absence)


def reason(month: int, row: MonthPlan, need: Sequence[float], label: Callable[[int], str]) -> str:
    if row.target_month is None:
        short = need[month] - row.productive_fte
        gap = f"; {short:.1f} FTE short now" if short > 0.05 else ""
        return f"inside the lead time: a requisition opened now cannot start before then{gap}"
    target = label(row.target_month)
    projected = row.projected_fte or 0.0
    if row.hires_starting:
        return (
            f"{row.hires_starting} to start: by {target} the staff and earlier hires give {projected:.1f}"
            f" productive FTE after attrition, below the need of {need[row.target_month]:.1f}"
        )
    return (
        f"no hire: by {target} the staff and earlier hires still give {projected:.1f} productive FTE"
        f" after attrition, at or above the need of {need[row.target_month]:.1f}"
    )


def hiring_rows(
    site: Site,
    team_name: str,
    need: list[float],
    *,
    headcount: int,
    attrition: float,
    lead_time: int,
    ramp: Sequence[float],
    salary_cents: int,
    label: Callable[[int], str],
) -> list[dict[str, Any]]:
    team = next(t for t in site.teams if t.name == team_name)
    stream = project_stream(need, float(headcount), attrition=attrition, lead_time=lead_time, ramp=ramp)
    return [
        {
            "month": label(m),
            "site": site.name,
            "team": team_name,
            "skills": list(team.skills),
            "languages": list(team.languages),
            "need_fte": round(need[m], 2),
            "headcount": round(row.headcount, 2),
            "productive_fte": round(row.productive_fte, 2),
            "attrition": round(row.attrition, 2),
            "hires": row.hires_starting,
            "requisitions": row.requisitions,
            "cost_cents": round(row.headcount * salary_cents / 12),
            "reason": reason(m, row, need, label),
        }
        for m, row in enumerate(stream)
    ]
