"""What the sampler samples from, read from the event log: each agent's solved conversations per week
with the facts the targeted rules need, and the reviewers with what they may read.

A candidate is (ticket, agent) for each agent who solved the ticket, in the week (Monday start, UTC) of
their latest solve in the range. Facts: the latest ``csat_received`` rating, handle time from
``call_completed`` (talk + hold + wrap), ``escalated``, reopens (``status_changed`` from solved to an
unsolved status) and ``sla_breached`` events.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.models import Event, Role, User
from opsdesk.desk import access as desk_access
from opsdesk.desk.models import Ticket
from opsdesk.quality.sampling import Candidate, Pick, Reviewer, Rules, sample

UNSOLVED = {"new", "open", "pending", "on_hold"}


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def candidates(session: Session, *, start: date, weeks: int) -> list[Candidate]:
    first = monday(start)
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = since + timedelta(weeks=weeks)
    changed = (
        select(Event.subject_id, Event.actor_id, Event.at, Event.data)
        .join(User, User.id == Event.actor_id)
        .where(
            Event.subject_type == "ticket",
            Event.type == "status_changed",
            Event.at >= since,
            Event.at < until,
            User.role != Role.REQUESTER,
        )
    )
    solves: dict[tuple[int, int], datetime] = {}
    for ticket_id, actor_id, at, data in session.execute(changed.order_by(Event.id)):
        if data.get("to") == "solved":
            solves[(int(ticket_id), int(actor_id))] = at
    if not solves:
        return []
    # The tickets as a subquery, not a list of ids: a busy month is tens of thousands of them.
    worked = changed.with_only_columns(Event.subject_id).scalar_subquery()
    facts = _facts(session, worked, until)
    rows = session.execute(select(Ticket.id, Ticket.sensitive).where(Ticket.id.in_(worked)))
    sensitive = {ticket_id: flag for ticket_id, flag in rows}
    return [
        Candidate(
            ticket_id=ticket_id,
            agent_id=agent_id,
            week=monday(at.astimezone(UTC).date()),
            sensitive=bool(sensitive[ticket_id]),
            **facts.get(ticket_id, {}),
        )
        for (ticket_id, agent_id), at in sorted(solves.items())
    ]


def _facts(session: Session, worked: Any, until: datetime) -> dict[int, dict[str, Any]]:
    facts: dict[int, dict[str, Any]] = defaultdict(dict)
    rows = session.execute(
        select(Event.subject_id, Event.type, Event.data)
        .where(
            Event.subject_type == "ticket",
            Event.subject_id.in_(worked),
            Event.type.in_(
                ["csat_received", "call_completed", "escalated", "status_changed", "sla_breached"]
            ),
            Event.at < until,
        )
        .order_by(Event.id)
    )
    for subject_id, type_, data in rows:
        entry = facts[int(subject_id)]
        if type_ == "csat_received":
            entry["csat"] = data.get("rating")
        elif type_ == "call_completed":
            handled = sum(float(data.get(k) or 0) for k in ("talk_s", "hold_s", "wrap_s"))
            entry["handle_seconds"] = entry.get("handle_seconds", 0.0) + handled
        elif type_ == "escalated":
            entry["escalated"] = True
        elif type_ == "status_changed" and data.get("from") == "solved" and data.get("to") in UNSOLVED:
            entry["reopened"] = entry.get("reopened", 0) + 1
        elif type_ == "sla_breached":
            metric = str(data.get("metric") or data.get("target") or "target")
            entry["sla_breaches"] = (*entry.get("sla_breaches", ()), metric)
    return facts


def reviewers(session: Session) -> list[Reviewer]:
    """Active staff who review, and whether they may read sensitive conversations."""
    staff = session.scalars(
        select(User).where(User.active.is_(True), User.role != Role.REQUESTER).order_by(User.id)
    )
    return [
        Reviewer(id=user.id, sensitive_access=desk_access.has_sensitive_access(user))
        for user in staff
        if permissions.has(user, permissions.QA_REVIEW) and user.role in (Role.QA_REVIEWER, Role.QA_LEAD)
    ]


def weekly_sample(session: Session, *, start: date, weeks: int = 1, rules: Rules, seed: int) -> list[Pick]:
    return sample(candidates(session, start=start, weeks=weeks), reviewers(session), rules, seed=seed)


def queue_rows(
    session: Session, user: User, clock: Clock, week: date | None, seed: int
) -> list[dict[str, Any]]:
    """The sample of the week holding ``week`` (default: this one): a reviewer's own queue, or for a
    lead every pick on a conversation they may read."""
    permissions.require(user, permissions.QA_REVIEW)
    picks = weekly_sample(session, start=week or clock.now().date(), rules=Rules(), seed=seed)
    manage = permissions.has(user, permissions.QA_MANAGE)
    tickets = {
        t.id: t
        for t in session.scalars(select(Ticket).where(Ticket.id.in_({p.candidate.ticket_id for p in picks})))
    }
    return [
        {
            "ticket_id": p.candidate.ticket_id,
            "agent_id": p.candidate.agent_id,
            "week": p.candidate.week,
            "reason": p.reason,
            "why": p.why,
            "reviewer_id": p.reviewer_id,
        }
        for p in picks
        if p.reviewer_id == user.id or (manage and desk_access.can_see(user, tickets[p.candidate.ticket_id]))
    ]
