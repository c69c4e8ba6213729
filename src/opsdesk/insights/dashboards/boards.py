"""The dashboards: each one's name, title, the permissions a reader needs, the filters it takes and
the function that builds its panels. The pages draw them; the snapshot job precomputes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.models import User
from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.dashboards.panels import Panel

Builder = Callable[[Session, DashboardFilter, User | None, datetime, ZoneInfo], list[Panel]]


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    needs: tuple[str, ...]
    """Every permission a reader needs (core.permissions)."""
    filters: tuple[str, ...]
    """Which multi-value filters it takes: channel, site, team, tier, tag, segment."""
    build: Builder
    per_reader: bool = False
    """Its numbers depend on what the reader may see (QA reviews), so it is computed per reader."""
    per_zone: bool = False
    """It places times on days in the viewer's zone, so it is computed per zone."""


def _support(
    session: Session, where: DashboardFilter, user: User | None, now: datetime, zone: ZoneInfo
) -> list[Panel]:
    from opsdesk.insights.dashboards.support import support_overview

    return support_overview(session, where, now=now)


def _productivity(
    session: Session, where: DashboardFilter, user: User | None, now: datetime, zone: ZoneInfo
) -> list[Panel]:
    from opsdesk.insights.dashboards.productivity import productivity_dashboard

    if user is None:
        raise ValueError("the productivity dashboard is computed for a reader")
    return productivity_dashboard(session, where, reader=user, now=now)


def _sla(
    session: Session, where: DashboardFilter, user: User | None, now: datetime, zone: ZoneInfo
) -> list[Panel]:
    from opsdesk.insights.dashboards.support import sla_dashboard

    return sla_dashboard(session, where, now=now)


def _success(
    session: Session, where: DashboardFilter, user: User | None, now: datetime, zone: ZoneInfo
) -> list[Panel]:
    from opsdesk.insights.dashboards.success import success_dashboard

    return success_dashboard(session, where, today=now.date())


def _workforce(
    session: Session, where: DashboardFilter, user: User | None, now: datetime, zone: ZoneInfo
) -> list[Panel]:
    from opsdesk.insights.dashboards.workforce import workforce_dashboard

    return workforce_dashboard(session, where, zone=zone)


TICKET_FILTERS = ("channel", "site", "team", "tier", "tag")
DASHBOARDS: dict[str, Dashboard] = {
    d.name: d
    for d in (
        Dashboard("support", "Support overview", (permissions.INSIGHTS_READ,), TICKET_FILTERS, _support),
        Dashboard(
            "productivity",
            "Agent and team productivity",
            (permissions.INSIGHTS_READ,),
            TICKET_FILTERS,
            _productivity,
            per_reader=True,
        ),
        Dashboard("sla", "SLA attainment", (permissions.INSIGHTS_READ,), TICKET_FILTERS, _sla),
        Dashboard("success", "Customer success", (permissions.SUCCESS_READ,), ("segment",), _success),
        Dashboard(
            "workforce",
            "Workforce",
            (permissions.WORKFORCE_READ, permissions.INSIGHTS_READ),
            ("channel", "site"),
            _workforce,
            per_zone=True,
        ),
    )
}


def visible(user: User) -> list[Dashboard]:
    return [d for d in DASHBOARDS.values() if all(permissions.has(user, p) for p in d.needs)]
