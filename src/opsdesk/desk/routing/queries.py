"""Reads for the routing pages and API: the presence board and the hand-over report per site."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Site, User
from opsdesk.desk.models import UNSOLVED, Status, Ticket
from opsdesk.desk.routing.models import AgentPresence, AgentShift, Handover
from opsdesk.desk.routing.router import CapacityKind
from opsdesk.desk.routing.state import agent_loads, capacity_of, current_settings

_DEFAULT = {"chat": 3, "call": 1, "ticket": 8}


@dataclass(frozen=True)
class PresenceRow:
    user: User
    presence: AgentPresence
    capacity: dict[str, int]
    load: dict[str, int]


def presence_board(session: Session) -> list[PresenceRow]:
    """Every agent with a presence, with their capacity and open work per kind."""
    settings = current_settings(session)
    default = settings.default_capacity if settings is not None else _DEFAULT
    rows = session.execute(
        select(User, AgentPresence).join(AgentPresence, AgentPresence.user_id == User.id).order_by(User.name)
    ).all()
    loads = agent_loads(session, [user.id for user, _ in rows])
    return [
        PresenceRow(
            user=user,
            presence=presence,
            capacity={k.value: v for k, v in capacity_of(presence, default).items()},
            load={k.value: loads.get(user.id, {}).get(k, 0) for k in CapacityKind},
        )
        for user, presence in rows
    ]


@dataclass
class SiteHandovers:
    site: Site
    handed: list[tuple[Handover, Ticket]] = field(default_factory=list)

    @property
    def still_open(self) -> list[tuple[Handover, Ticket]]:
        return [(h, t) for h, t in self.handed if t.status in UNSOLVED]

    @property
    def solved(self) -> int:
        return sum(t.status in (Status.SOLVED, Status.CLOSED) for _h, t in self.handed)


def handovers_since(session: Session, since: datetime, *, limit: int = 2000) -> list[SiteHandovers]:
    """Per site, the tickets it handed over since ``since`` (newest first) and which are still open.
    Sensitive tickets are left out: the report is for the whole team, need-to-know is per ticket."""
    sites = {s.id: SiteHandovers(s) for s in session.scalars(select(Site).order_by(Site.name))}
    rows = session.execute(
        select(Handover, Ticket)
        .join(Ticket, Ticket.id == Handover.ticket_id)
        .where(Handover.at >= since, Ticket.sensitive.is_(False))
        .order_by(Handover.at.desc(), Handover.id.desc())
        .limit(limit)
    ).all()
    by_site: dict[int, list[tuple[Handover, Ticket]]] = defaultdict(list)
    for handover, ticket in rows:
        by_site[handover.from_site_id].append((handover, ticket))
    for site_id, handed in by_site.items():
        if site_id in sites:
            sites[site_id].handed = handed
    return list(sites.values())


def published_shifts(session: Session, user_id: int, start: datetime, end: datetime) -> list[AgentShift]:
    """The agent's published work shifts (not absences) that overlap ``start``-``end``, in order."""
    return list(
        session.scalars(
            select(AgentShift)
            .where(
                AgentShift.user_id == user_id,
                AgentShift.absence.is_(False),
                AgentShift.starts_at < end,
                AgentShift.ends_at > start,
            )
            .order_by(AgentShift.starts_at)
            .limit(1000)
        )
    )
