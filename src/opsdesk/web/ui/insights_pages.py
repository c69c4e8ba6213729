"""/insights/workflows: where tickets' time goes, mined from the event log — the directly-follows graph,
variants, bottlenecks and rework, filtered by period, channels and groups (all in the URL, so a view can
be shared). Only tickets the reader may see are counted."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import select

from opsdesk.core import permissions
from opsdesk.core.bounds import MAX_ID
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Group
from opsdesk.desk.models import Channel
from opsdesk.insights.workflow import WorkflowFilter, workflow_report
from opsdesk.web.api.params import QueryFilter
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import PageUser
from opsdesk.web.ui.flow_chart import flow_graph
from opsdesk.web.ui.form_values import optional_day
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
Channels = Annotated[list[Channel], Query(max_length=len(Channel))]
GroupIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Query(max_length=100)]
TOP_VARIANTS = 15
DEFAULT_DAYS = 7  # a week reads in about 2 s on the demo; longer periods wait for the DuckDB reader


@router.get("/insights/workflows")
def workflows(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    start: Annotated[QueryFilter, Query(alias="from", max_length=20)] = "",
    end: Annotated[QueryFilter, Query(alias="to", max_length=20)] = "",
    channel: Channels = [],  # noqa: B006 (FastAPI copies defaults)
    group: GroupIds = [],  # noqa: B006
) -> Response:
    permissions.require(user, permissions.INSIGHTS_READ)
    if not start.strip() and not end.strip():  # by default the last DEFAULT_DAYS days, not all history
        today = clock.now().date()
        start, end = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()
    error = None
    report = None
    try:
        where = WorkflowFilter(
            start=optional_day(start, "from"),
            end=optional_day(end, "to"),
            channels=tuple(c.value for c in channel),
            group_ids=tuple(group),
        )
        if where.start and where.end and where.end < where.start:
            raise ValidationFailed("the period ends before it starts", field="to")
        report = workflow_report(session, user=user, where=where)
    except ValidationFailed as exc:
        error = exc.message
    groups = session.execute(select(Group.id, Group.name).order_by(Group.name)).all()
    shown = [
        ("from", start),
        ("to", end),
        *(("channel", c.value) for c in channel),
        *(("group", g) for g in group),
    ]
    return page(
        request,
        "insights/workflows.html",
        user,
        status_code=422 if error else 200,
        error=error,
        report=report,
        graph=flow_graph(report["activity_order"], report["edges"]) if report else None,
        variants=report["variants"][:TOP_VARIANTS] if report else [],
        filters={"from": start, "to": end, "channels": {c.value for c in channel}, "groups": set(group)},
        channels=[c.value for c in Channel],
        groups=groups,
        query=urlencode([(k, v) for k, v in shown if v != ""]),
    )
