"""Planning scenario pages: the chain of one scenario link by link with its assumptions, the form that
changes them (recomputing the scenario, or saving a copy), and scenarios compared side by side."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from opsdesk.core import permissions
from opsdesk.core.bounds import MAX_ID
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.web.api.params import PathId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import FormUser, PageUser
from opsdesk.web.ui.charts import line_chart, stacked_bars
from opsdesk.web.ui.render import page
from opsdesk.workforce import queries
from opsdesk.workforce import scenarios as actions
from opsdesk.workforce.models import PlanScenario

router = APIRouter(include_in_schema=False)
MAX_COMPARED = 6
MAX_FIELD = 40
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
WEEKEND = ("sat", "sun")


@router.get("/planner/scenarios")
def scenario_list(request: Request, user: PageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.WORKFORCE_READ)
    return _list_page(request, user, session)


def _list_page(request: Request, user: User, session: Session, error: str = "") -> Response:
    return page(
        request,
        "planner/scenarios.html",
        user,
        status_code=422 if error else 200,
        scenarios=queries.list_scenarios(session),
        can_write=permissions.has(user, permissions.WORKFORCE_WRITE),
        compare_error=error,
    )


@router.post("/planner/scenarios")
async def scenario_create(request: Request, user: FormUser, session: SessionDep, clock: ClockDep) -> Response:
    from opsdesk.workforce.chain.assumptions import default_assumptions

    permissions.require(user, permissions.WORKFORCE_WRITE)
    form = await request.form()
    scenario = actions.create_scenario(
        session,
        name=_text(form, "name"),
        assumptions=default_assumptions(clock.now()),
        clock=clock,
        actor=user,
    )
    session.commit()
    return RedirectResponse(f"/planner/scenarios/{scenario.id}", status_code=303)


@router.get("/planner/scenarios/compare")
def scenario_compare(
    request: Request,
    user: PageUser,
    session: SessionDep,
    ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Query(max_length=MAX_COMPARED)] = [],  # noqa: B006
) -> Response:
    from opsdesk.workforce.chain.compare import compare, compare_queues

    permissions.require(user, permissions.WORKFORCE_READ)
    if not ids:  # "Compare" with nothing ticked: say so beside the list, not as a bad address
        return _list_page(request, user, session, "tick the scenarios to compare (up to six), then Compare")
    chosen = [queries.scenario_by_id(session, i) for i in ids]
    table = compare([(s.id, s.name, s.summary) for s in chosen])
    hires = {f"#{s.id} {s.name}": [float(h) for h in s.summary["hires"]] for s in chosen}
    requirement = {f"#{s.id} {s.name}": s.summary["requirement_hours"] for s in chosen}
    return page(
        request,
        "planner/compare.html",
        user,
        table=table,
        queues=compare_queues([(s.id, s.chain, s.assumptions) for s in chosen]),
        requirement_chart=line_chart(requirement, table["months"], title="Required agent-hours per week"),
        hires_chart=line_chart(hires, table["months"], title="Hires starting per month"),
    )


@router.get("/planner/scenarios/{scenario_id:int}")
def scenario_show(request: Request, scenario_id: PathId, user: PageUser, session: SessionDep) -> Response:
    permissions.require(user, permissions.WORKFORCE_READ)
    scenario = queries.scenario_by_id(session, scenario_id)
    return page(
        request,
        "planner/scenario.html",
        user,
        scenario=scenario,
        a=scenario.assumptions,
        chain=scenario.chain,
        summary=scenario.summary,
        charts=_charts(scenario),
        site_hours=_site_hours(scenario.assumptions),
        others=[s for s in queries.list_scenarios(session) if s.id != scenario.id],
        can_write=permissions.has(user, permissions.WORKFORCE_WRITE),
    )


@router.post("/planner/scenarios/{scenario_id:int}/assumptions")
async def scenario_change(
    request: Request, scenario_id: PathId, user: FormUser, session: SessionDep, clock: ClockDep
) -> Response:
    permissions.require(user, permissions.WORKFORCE_WRITE)
    scenario = queries.scenario_by_id(session, scenario_id)
    changes = form_changes(await request.form(), scenario.assumptions)
    with _field_named():
        actions.change_assumptions(session, scenario=scenario, changes=changes, clock=clock, actor=user)
    session.commit()
    return RedirectResponse(f"/planner/scenarios/{scenario.id}", status_code=303)


@router.post("/planner/scenarios/{scenario_id:int}/copy")
async def scenario_copy(
    request: Request, scenario_id: PathId, user: FormUser, session: SessionDep, clock: ClockDep
) -> Response:
    permissions.require(user, permissions.WORKFORCE_WRITE)
    source = queries.scenario_by_id(session, scenario_id)
    form = await request.form()
    changes = form_changes(form, source.assumptions)
    with _field_named():
        copied = actions.copy_scenario(
            session, source=source, name=_text(form, "copy_name"), changes=changes, clock=clock, actor=user
        )
    session.commit()
    return RedirectResponse(f"/planner/scenarios/compare?ids={source.id}&ids={copied.id}", status_code=303)


@contextmanager
def _field_named() -> Iterator[None]:
    """The assumptions' errors name their key in the message too, so the error page shows which
    form field to correct (``queues.min_own_queue_occupancy: ...``)."""
    try:
        yield
    except ValidationFailed as exc:
        if exc.field and exc.field not in exc.message:
            raise ValidationFailed(f"{exc.field}: {exc.message}", field=exc.field) from None
        raise


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    text = value if isinstance(value, str) else ""
    if "\x00" in text or not 1 <= len(text.strip()) <= 100:
        raise ValidationFailed(f"{key}: a name has 1 to 100 characters", field=key)
    return text.strip()


def _number(form: FormData, key: str) -> float | None:
    value = form.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > MAX_FIELD:
        raise ValidationFailed(f"{key}: too long", field=key)
    try:
        return float(value)
    except ValueError:
        raise ValidationFailed(f"{key}: {value!r} is not a number", field=key) from None


def form_changes(form: FormData, assumptions: dict[str, Any]) -> dict[str, Any]:
    """The assumptions the form's fields set (dotted names, numbers; per site weekday and weekend
    hours), as nested changes; checked again by the chain's parser, whose errors name the key."""
    changes: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        node = changes
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    keys = [
        "growth.extra_monthly_growth_pct",
        "contacts.rate_factor",
        "hiring.attrition_monthly",
        "hiring.absence",
        "queues.min_own_queue_occupancy",
    ]
    keys += ["hiring.lead_time_months"]
    for channel in assumptions["channels"]:
        keys += [
            f"channels.{channel}.{name}"
            for name in ("aht_seconds", "service_level", "shrinkage", "concurrency")
        ]
    for key in keys:
        number = _number(form, key)
        if number is not None:
            whole = key.endswith(("lead_time_months", "concurrency"))
            put(key, int(number) if whole and number.is_integer() else number)
    sites = []
    changed_hours = False
    for i, site in enumerate(assumptions["sites"]["sites"]):
        hours = dict(site["opening_hours"])
        for group, days in (("weekday", WEEKDAYS), ("weekend", WEEKEND)):
            value = form.get(f"hours.{i}.{group}")
            if not isinstance(value, str) or len(value) > MAX_FIELD:
                continue
            text = value.strip() or "closed"
            if text == _first(hours.get(days[0])):
                continue  # unchanged as shown
            changed_hours = True
            for day in days:
                hours[day] = [] if text == "closed" else [text]
        sites.append({**site, "opening_hours": {day: ranges for day, ranges in hours.items() if ranges}})
    if changed_hours:
        put("sites.sites", sites)
    if not changes:
        raise ValidationFailed("change at least one assumption", field="assumptions")
    return changes


def _first(ranges: list[Any] | None) -> str:
    if not ranges:
        return "closed"
    first = ranges[0]
    if isinstance(first, list | tuple):
        start, end = first
        return f"{start // 60 % 24:02d}:{start % 60:02d}-{end // 60 % 24:02d}:{end % 60:02d}"
    return str(first)


def _site_hours(assumptions: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "name": site["name"],
            "weekday": _first(site["opening_hours"].get("mon")),
            "weekend": _first(site["opening_hours"].get("sat")),
        }
        for site in assumptions["sites"]["sites"]
    ]


def _charts(scenario: PlanScenario) -> dict[str, Any]:
    chain, summary = scenario.chain, scenario.summary
    months = summary["months"]
    by_site: dict[str, list[float]] = {}
    hires: dict[str, list[float]] = {}
    for row in chain["hiring"]["rows"]:
        hires.setdefault(row["site"], [0.0] * len(months))[months.index(row["month"])] += row["hires"]
    for site, values in chain["requirement"]["by_site"].items():
        by_site[site] = values
    if any(chain["requirement"]["unserved"]):
        by_site["(no open site)"] = chain["requirement"]["unserved"]
    return {
        "lives": stacked_bars(
            chain["growth"]["by_segment"], months, title="Covered lives per month, by segment"
        ),
        "requirement": stacked_bars(by_site, months, title="Agent-hours on shift per week, by site"),
        "fte": line_chart(
            {
                "need FTE": summary["need_fte"],
                "headcount": summary["headcount"],
                "productive FTE": summary["productive_fte"],
            },
            months,
            dashed=frozenset({"productive FTE"}),
            title="Headcount and productive FTE (new hires ramping up) against need, all sites",
        ),
        "hires": stacked_bars(hires, months, title="Hires starting per month, by site"),
    }
