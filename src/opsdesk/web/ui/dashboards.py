"""/dashboards: the support overview, agent and team productivity, SLA attainment, customer success
and workforce dashboards. A page parses its filter (every value in the URL, several per kind),
authorises, asks ``insights.dashboards`` for its panels and draws each as a chart with its numbers one
click away; /dashboards/NAME/PANEL.csv and .xlsx download exactly those numbers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import AfterValidator, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.bounds import no_nul
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import Group, Site, User
from opsdesk.desk.models import Channel
from opsdesk.insights.dashboards import snapshots
from opsdesk.insights.dashboards.boards import DASHBOARDS, Dashboard, visible
from opsdesk.insights.dashboards.filters import MAX_DAYS, DashboardFilter, default_period
from opsdesk.insights.dashboards.panels import Panel
from opsdesk.web.api.params import From, To
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui import zones
from opsdesk.web.ui.auth import PageUser
from opsdesk.web.ui.charts import grouped_bars, waterfall
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
Values = Annotated[list[Annotated[str, Field(max_length=200), AfterValidator(no_nul)]], Query(max_length=50)]
PanelKey = Annotated[str, Path(max_length=40, pattern=r"^[a-z_]+$")]


def _dashboard(user: User, name: str) -> Dashboard:
    board = DASHBOARDS.get(name)
    if board is None:
        raise NotFound(f"no dashboard {name[:40]!r}", field="name")
    for needed in board.needs:
        permissions.require(user, needed)
    return board


@dataclass(frozen=True)
class Options:
    channel: tuple[str, ...]
    site: tuple[str, ...]
    team: tuple[str, ...]
    tier: tuple[str, ...]
    tag: tuple[str, ...]
    segment: tuple[str, ...] = ()


def _options(session: Session, where: DashboardFilter, board: Dashboard, now: datetime) -> Options:
    """What each filter offers: tags are those of the period's tickets that are not only on sensitive
    tickets (the KPI engine's rule), so no filter names what only protected tickets are about."""
    if board.name == "success":
        from opsdesk.success.models import Segment
        from opsdesk.success.portfolio import UNSEGMENTED

        names = tuple(session.scalars(select(Segment.name).order_by(Segment.priority, Segment.name)))
        return Options((), (), (), (), (), (*names, UNSEGMENTED))
    if board.name == "workforce":
        from opsdesk.insights.dashboards.workforce import plan_choices

        channels, sites = plan_choices(session)
        return Options(channels, sites, (), (), ())
    tags = snapshots.period_tags(session, where, now)
    return Options(
        channel=tuple(c.value for c in Channel),
        site=tuple(session.scalars(select(Site.name).order_by(Site.name))),
        team=tuple(session.scalars(select(Group.name).order_by(Group.name))),
        tier=("L1", "L2"),
        tag=tags,
    )


def _filter(
    clock_today: date, start: date | None, end: date | None, values: dict[str, list[str]]
) -> DashboardFilter:
    first_default, last_default = default_period(clock_today)
    last = end or last_default
    first = start or (first_default if end is None else last - (last_default - first_default))
    if last < first:
        raise ValidationFailed("the period ends before it starts", field="to")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed(f"the period may span at most {MAX_DAYS} days", field="to")
    clean = {k: tuple(dict.fromkeys(v.strip() for v in vs if v.strip())) for k, vs in values.items()}
    return DashboardFilter(
        first,
        last,
        clean["channel"],
        clean["site"],
        clean["team"],
        clean["tier"],
        clean["tag"],
        clean["segment"],
    )


def _check(where: DashboardFilter, options: Options) -> None:
    for field, chosen, offered in (
        ("channel", where.channels, options.channel),
        ("site", where.sites, options.site),
        ("team", where.teams, options.team),
        ("tier", where.tiers, options.tier),
        ("tag", where.tags, options.tag),
        ("segment", where.segments, options.segment),
    ):
        unknown = [v for v in chosen if v not in offered]
        if unknown:
            raise ValidationFailed(f"unknown {field} {unknown[0][:60]!r}", field=field)


def _panels(
    session: Session, board: Dashboard, where: DashboardFilter, user: User, now: datetime, zone: ZoneInfo
) -> tuple[datetime, list[Panel]]:
    """The board's panels and when they were computed, shared by every process until the data changes
    (``insights.dashboards.snapshots``). QA scores depend on what the reader may see, so the
    productivity board is computed per reader; the workforce board's days per viewer zone."""
    return snapshots.board_panels(session, board, where, user, now, zone)


def _chart(panel: Panel) -> Markup:
    if panel.chart == "table" or not panel.series:
        return Markup("")
    columns = {c.name: c for c in panel.columns}
    labels = [str(v) for v in panel.values(panel.x)]
    if panel.chart == "waterfall":
        return waterfall(
            [
                (label, float(v or 0) / 100)
                for label, v in zip(labels, panel.values(panel.series[0]), strict=True)
            ],
            title=panel.title,
        )
    percent = all(columns[s].unit == "rate" for s in panel.series)
    return grouped_bars(
        {s: [None if v is None else float(v) for v in panel.values(s)] for s in panel.series},
        labels,
        percent=percent,
        legend={s: columns[s].label for s in panel.series},
        title=panel.title,
    )


def _cell(value: Any, unit: str, missing: str) -> str:
    if value is None:
        return missing
    if unit == "rate":
        return f"{float(value) * 100:.1f}%"
    if unit == "cents":
        return f"${float(value) / 100:,.0f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@router.get("/dashboards")
def dashboards_index(request: Request, user: PageUser) -> Response:
    boards = visible(user)
    if not boards:
        permissions.require(user, permissions.INSIGHTS_READ)
    return page(request, "dashboards/index.html", user, boards=boards)


@router.get("/dashboards/{name}")
def dashboard_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    name: Annotated[str, Path(max_length=40)],
    start: From = None,
    end: To = None,
    channel: Values = [],  # noqa: B006 (FastAPI copies defaults)
    site: Values = [],  # noqa: B006
    team: Values = [],  # noqa: B006
    tier: Values = [],  # noqa: B006
    tag: Values = [],  # noqa: B006
    segment: Values = [],  # noqa: B006
) -> Response:
    board = _dashboard(user, name)
    now = clock.now()
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    values = {"channel": channel, "site": site, "team": team, "tier": tier, "tag": tag, "segment": segment}
    error, computed_at = None, None
    panels: list[Panel] = []
    options: Options | None = None
    try:
        where = _filter(now.date(), start, end, values)
        options = _options(session, where, board, now)
        _check(where, options)
        computed_at, panels = _panels(session, board, where, user, now, zone)
    except ValidationFailed as exc:
        error = exc.message
        if options is None:  # the period itself is wrong: show the form for the default one
            where = _filter(now.date(), None, None, {k: [] for k in values})
            options = _options(session, where, board, now)
    return page(
        request,
        "dashboards/dashboard.html",
        user,
        status_code=422 if error else 200,
        board=board,
        boards=visible(user),
        where=where,
        options=options,
        error=error,
        panels=[(p, _chart(p)) for p in panels],
        computed_at=computed_at,
        cell=_cell,
        query=where.query(),
    )


@router.get("/dashboards/{name}/{panel}.{fmt}")
def dashboard_download(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    name: Annotated[str, Path(max_length=40)],
    panel: PanelKey,
    fmt: Annotated[str, Path(pattern=r"^(csv|xlsx)$")],
    start: From = None,
    end: To = None,
    channel: Values = [],  # noqa: B006
    site: Values = [],  # noqa: B006
    team: Values = [],  # noqa: B006
    tier: Values = [],  # noqa: B006
    tag: Values = [],  # noqa: B006
    segment: Values = [],  # noqa: B006
) -> Response:
    """Exactly the numbers of one panel for the same filter: one header row of column names, then the
    rows as the page's table holds them (rates 0..1, hours, cents), empty where the page says none."""
    board = _dashboard(user, name)
    now = clock.now()
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    values = {"channel": channel, "site": site, "team": team, "tier": tier, "tag": tag, "segment": segment}
    where = _filter(now.date(), start, end, values)
    _check(where, _options(session, where, board, now))
    _at, panels = _panels(session, board, where, user, now, zone)
    chosen = next((p for p in panels if p.key == panel), None)
    if chosen is None:
        raise NotFound(f"no panel {panel!r} on {board.name}", field="panel")
    filename = f"{board.name}-{chosen.key}-{where.start}-{where.end}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(_csv(chosen), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(
        _xlsx(chosen),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=headers,
    )


def _csv(panel: Panel) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(panel.column_names())
    writer.writerows(["" if v is None else v for v in row] for row in panel.rows)
    return out.getvalue()


def _xlsx(panel: Panel) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(panel.key[:31])
    sheet.append(panel.column_names())
    for row in panel.rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
