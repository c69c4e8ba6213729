"""Support signals per desk organisation, for customer health: how many tickets a customer raised, how
many were still open, escalated or breached an SLA, and how its people rated the answers (CSAT).
``success`` reads the desk only through here.

Everything is "as known at ``end``": tickets created in ``[start, end)``, open at ``end`` (created before
it and not solved by then), escalations and SLA breaches recorded in the window. So a health score for a
past date sees what a CSM could have seen on that date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.desk.models import Ticket
from opsdesk.desk.sla.tracking import BREACH_EVENT
from opsdesk.desk.surveys.actions import RATED_EVENT
from opsdesk.desk.surveys.scale import csat_pct

ESCALATION_EVENT = "escalated"


@dataclass(frozen=True)
class OrganisationSignals:
    organisation_id: int
    tickets_created: int
    tickets_open: int
    escalations: int
    sla_breaches: int
    # Share of good ratings (0-100) in the window; None when nobody rated a ticket in it.
    csat_pct: float | None = None
    csat_good: int = 0
    csat_bad: int = 0


def organisation_signals(
    session: Session, organisation_ids: Iterable[int], *, start: datetime, end: datetime
) -> dict[int, OrganisationSignals]:
    """Signals for each requested organisation (zeros when it has no tickets)."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return {}
    in_orgs = Ticket.organisation_id.in_(ids)
    created = dict(
        session.execute(
            select(Ticket.organisation_id, func.count())
            .where(in_orgs, Ticket.created_at >= start, Ticket.created_at < end)
            .group_by(Ticket.organisation_id)
        ).all()
    )
    still_open = and_(
        Ticket.created_at < end,
        or_(Ticket.solved_at.is_(None), Ticket.solved_at >= end),
        or_(Ticket.closed_at.is_(None), Ticket.closed_at >= end),
    )
    open_ = dict(
        session.execute(
            select(Ticket.organisation_id, func.count())
            .where(in_orgs, still_open, Ticket.merged_into_id.is_(None))
            .group_by(Ticket.organisation_id)
        ).all()
    )
    events = session.execute(
        select(Ticket.organisation_id, Event.type, func.count())
        .join(Ticket, and_(Event.subject_type == "ticket", Event.subject_id == Ticket.id))
        .where(in_orgs, Event.type.in_([ESCALATION_EVENT, BREACH_EVENT]), Event.at >= start, Event.at < end)
        .group_by(Ticket.organisation_id, Event.type)
    ).all()
    counted = {(org, str(kind)): int(n) for org, kind, n in events if org is not None}
    ratings = csat_by_organisation(session, ids, start=start, end=end)
    return {
        org: OrganisationSignals(
            organisation_id=org,
            tickets_created=int(created.get(org, 0)),
            tickets_open=int(open_.get(org, 0)),
            escalations=counted.get((org, ESCALATION_EVENT), 0),
            sla_breaches=counted.get((org, BREACH_EVENT), 0),
            csat_pct=csat_pct(*ratings.get(org, (0, 0))),
            csat_good=ratings.get(org, (0, 0))[0],
            csat_bad=ratings.get(org, (0, 0))[1],
        )
        for org in ids
    }


def csat_by_organisation(
    session: Session, organisation_ids: Iterable[int], *, start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    """(good, bad) ratings per organisation: each ticket's latest ``csat_received`` event in
    ``[start, end)``, so a changed rating counts once, as it stood at ``end``."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Ticket.organisation_id, Event.subject_id, Event.data)
        .join(Ticket, and_(Event.subject_type == "ticket", Event.subject_id == Ticket.id))
        .where(Ticket.organisation_id.in_(ids), Event.type == RATED_EVENT, Event.at >= start, Event.at < end)
        .order_by(Event.at, Event.id)
    ).all()
    latest: dict[int, tuple[int, str]] = {}
    for org, ticket_id, data in rows:
        if org is not None and isinstance(data, dict):
            latest[int(ticket_id)] = (int(org), str(data.get("rating")))
    counts: dict[int, tuple[int, int]] = {}
    for org, rating in latest.values():
        good, bad = counts.get(org, (0, 0))
        counts[org] = (good + (rating == "good"), bad + (rating == "bad"))
    return counts


STAFF_TICKET_TOUCHES = ("message_added", "call_completed")


def staff_ticket_touches(
    session: Session,
    organisation_ids: Iterable[int],
    staff_ids: Iterable[int],
    *,
    start: datetime,
    end: datetime,
) -> dict[tuple[int, int], int]:
    """(organisation, person) -> the replies, internal notes and phone calls those people made in
    ``[start, end)`` on the organisations' tickets: their work with the customer on the desk."""
    orgs, people = sorted(set(organisation_ids)), sorted(set(staff_ids))
    if not orgs or not people:
        return {}
    rows = session.execute(
        select(Ticket.organisation_id, Event.actor_id, func.count())
        .join(Ticket, and_(Event.subject_type == "ticket", Event.subject_id == Ticket.id))
        .where(
            Ticket.organisation_id.in_(orgs),
            Event.actor_id.in_(people),
            Event.type.in_(STAFF_TICKET_TOUCHES),
            Event.at >= start,
            Event.at < end,
        )
        .group_by(Ticket.organisation_id, Event.actor_id)
    ).all()
    return {(int(org), int(actor)): int(n) for org, actor, n in rows if org is not None and actor is not None}
