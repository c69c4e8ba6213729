"""Quality-assurance reads: reviews as each reader may see them, IQS, disputes and their rates, the
agent's trend. IQS is always the mean of effective scores (corrected after an accepted dispute) of
reviews outside calibration sessions (``scoring.iqs``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session, selectinload

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound
from opsdesk.core.models import Event, User
from opsdesk.desk import access as desk_access
from opsdesk.desk.models import Ticket
from opsdesk.quality import access
from opsdesk.quality.models import Coaching, Dispute, DisputeStatus, Review, Rubric, RubricVersion
from opsdesk.quality.scoring import iqs


def _at(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def latest_version(session: Session, rubric_id: int) -> RubricVersion:
    version = session.scalars(
        select(RubricVersion)
        .where(RubricVersion.rubric_id == rubric_id)
        .order_by(RubricVersion.version.desc())
        .limit(1)
    ).first()
    if version is None:
        raise NotFound(f"no rubric #{rubric_id}", field="rubric_id")
    return version


def rubric_version(session: Session, version_id: int) -> RubricVersion:
    version = session.get(RubricVersion, version_id)
    if version is None:
        raise NotFound(f"no rubric version #{version_id}", field="rubric_version_id")
    return version


def rubrics(session: Session) -> list[RubricVersion]:
    """The latest version of every rubric."""
    return [latest_version(session, r) for r in session.scalars(select(Rubric.id).order_by(Rubric.name))]


def review_for(session: Session, review_id: int, user: User, clock: Clock) -> Review:
    """The review if ``user`` may read it, else NotFound (audited for sensitive tickets)."""
    from opsdesk.quality.calibration import revealed

    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(f"no review #{review_id}", field="review_id")
    shown = review.calibration_session_id is None or revealed(session, review.calibration_session_id)
    allowed = access.can_read_review(user, review, revealed=shown)
    access.audit_review_read(session, user, review, clock, allowed=allowed)
    if not allowed:
        raise NotFound(f"no review #{review_id}", field="review_id")
    return review


def _visible(user: User) -> Any:
    """Reviews outside calibration that ``user`` may read, as a SQL condition."""
    own = Review.agent_id == user.id
    if not user.active:
        return false()
    if not permissions.has(user, permissions.QA_REVIEW):
        return own
    return or_(own, desk_access.visible_to(user))


def reviews_query(
    user: User,
    *,
    agent_id: int | None = None,
    reviewer_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Select[Any]:
    query = (
        select(Review)
        .join(Ticket, Ticket.id == Review.ticket_id)
        .where(Review.calibration_session_id.is_(None), _visible(user))
        .options(selectinload(Review.ratings), selectinload(Review.disputes))
        .order_by(Review.created_at.desc(), Review.id.desc())
    )
    if agent_id is not None:
        query = query.where(Review.agent_id == agent_id)
    if reviewer_id is not None:
        query = query.where(Review.reviewer_id == reviewer_id)
    if start is not None:
        query = query.where(Review.created_at >= _at(start))
    if end is not None:
        query = query.where(Review.created_at < _at(end + timedelta(days=1)))
    return query


def reviews(
    session: Session, user: User, *, limit: int = 200, offset: int = 0, **filters: Any
) -> list[Review]:
    return list(session.scalars(reviews_query(user, **filters).limit(limit).offset(offset)))


@dataclass(frozen=True)
class Iqs:
    reviews: int
    iqs: float | None


def iqs_of(
    session: Session,
    user: User,
    *,
    agent_id: int | None = None,
    group_id: int | None = None,
    site_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Iqs:
    """IQS of an agent, a team (group), a site or everyone, over the reviews ``user`` may read."""
    query = reviews_query(user, agent_id=agent_id, start=start, end=end)
    if group_id is not None or site_id is not None:
        from opsdesk.core.models import group_members

        query = query.join(User, User.id == Review.agent_id)
        if site_id is not None:
            query = query.where(User.site_id == site_id)
        if group_id is not None:
            query = query.where(
                User.id.in_(select(group_members.c.user_id).where(group_members.c.group_id == group_id))
            )
    scores: list[float | None] = [r.effective_score for r in session.scalars(query)]
    return Iqs(reviews=len(scores), iqs=iqs(scores))


def iqs_by_agent(session: Session, user: User) -> dict[int, Iqs]:
    """Every reviewed agent's IQS over the reviews ``user`` may read, in one pass."""
    scores: dict[int, list[float | None]] = defaultdict(list)
    query = reviews_query(user).with_only_columns(
        Review.agent_id, Review.score, Review.corrected, Review.corrected_score
    )
    for agent_id, score, corrected, corrected_score in session.execute(query):
        scores[agent_id].append(corrected_score if corrected else score)
    return {agent_id: Iqs(reviews=len(s), iqs=iqs(s)) for agent_id, s in scores.items()}


def open_disputes(session: Session, user: User) -> list[Dispute]:
    """Disputes awaiting a lead, oldest first, for a lead; the agent's own otherwise."""
    query = (
        select(Dispute)
        .join(Review, Review.id == Dispute.review_id)
        .join(Ticket, Ticket.id == Review.ticket_id)
        .where(Dispute.status == DisputeStatus.OPEN, _visible(user))
        .order_by(Dispute.opened_at, Dispute.id)
    )
    if not access.can_manage(user):
        query = query.where(Review.agent_id == user.id)
    return list(session.scalars(query))


def dispute_stats(session: Session, user: User) -> dict[str, dict[str, Any]]:
    """Per category (``"(whole review)"`` for review disputes): opened, accepted and rejected counts,
    acceptance rate among resolved, and mean hours to resolve."""
    rows = session.scalars(
        select(Dispute)
        .join(Review, Review.id == Dispute.review_id)
        .join(Ticket, Ticket.id == Review.ticket_id)
        .where(_visible(user))
    )
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"opened": 0, "accepted": 0, "rejected": 0, "_h": []}
    )
    for d in rows:
        entry = stats[d.category_key or "(whole review)"]
        entry["opened"] += 1
        if d.status is not DisputeStatus.OPEN and d.resolved_at is not None:
            entry[d.status.value] += 1
            entry["_h"].append((d.resolved_at - d.opened_at).total_seconds() / 3600)
    for entry in stats.values():
        hours = entry.pop("_h")
        resolved = entry["accepted"] + entry["rejected"]
        entry["accepted_rate"] = entry["accepted"] / resolved if resolved else None
        entry["rejected_rate"] = entry["rejected"] / resolved if resolved else None
        entry["mean_hours_to_resolve"] = sum(hours) / len(hours) if hours else None
    return dict(sorted(stats.items()))


def coaching_for(session: Session, agent_id: int) -> list[Coaching]:
    return list(
        session.scalars(
            select(Coaching).where(Coaching.agent_id == agent_id).order_by(Coaching.created_at.desc())
        )
    )


def agent_trend(
    session: Session, user: User, agent_id: int, *, weeks: int, today: date
) -> list[dict[str, Any]]:
    """Week by week (Monday starts): the agent's IQS, CSAT (good / rated, latest rating per ticket
    assigned to them) and tickets they solved, side by side."""
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    rows: list[dict[str, Any]] = []
    csat = _csat_by_week(session, agent_id, first)
    solved = _solved_by_week(session, agent_id, first)
    for n in range(weeks):
        week = first + timedelta(days=7 * n)
        quality = iqs_of(session, user, agent_id=agent_id, start=week, end=week + timedelta(days=6))
        good, rated = csat.get(week, (0, 0))
        rows.append(
            {
                "week": week,
                "iqs": quality.iqs,
                "reviews": quality.reviews,
                "csat": good / rated if rated else None,
                "csat_ratings": rated,
                "solved": solved.get(week, 0),
            }
        )
    return rows


def _week_of(at: datetime) -> date:
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _csat_by_week(session: Session, agent_id: int, first: date) -> dict[date, tuple[int, int]]:
    latest: dict[int, tuple[datetime, str]] = {}
    rows = session.execute(
        select(Event.subject_id, Event.at, Event.data)
        .join(Ticket, Ticket.id == Event.subject_id)
        .where(
            Event.subject_type == "ticket",
            Event.type == "csat_received",
            Event.at >= _at(first),
            Ticket.assignee_id == agent_id,
        )
        .order_by(Event.id)
    )
    for ticket_id, at, data in rows:
        latest[int(ticket_id)] = (at, str(data.get("rating")))
    weeks: dict[date, tuple[int, int]] = {}
    for at, rating in latest.values():
        good, rated = weeks.get(_week_of(at), (0, 0))
        weeks[_week_of(at)] = (good + (rating == "good"), rated + 1)
    return weeks


def _solved_by_week(session: Session, agent_id: int, first: date) -> dict[date, int]:
    weeks: dict[date, int] = defaultdict(int)
    rows = session.execute(
        select(Event.at, Event.data).where(
            Event.subject_type == "ticket",
            Event.type == "status_changed",
            Event.actor_id == agent_id,
            Event.at >= _at(first),
        )
    )
    for at, data in rows:
        if data.get("to") == "solved":
            weeks[_week_of(at)] += 1
    return dict(weeks)


def calls_on(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    """The ticket's calls as the reviewer sees them beside the conversation: when, and how long the
    customer waited, talked, was held and the agent wrapped up."""
    rows = session.execute(
        select(Event.at, Event.data)
        .where(Event.subject_type == "ticket", Event.subject_id == ticket_id, Event.type == "call_completed")
        .order_by(Event.id)
    )
    return [
        {"at": at, **{k: data.get(k) for k in ("agent_id", "wait_s", "talk_s", "hold_s", "wrap_s")}}
        for at, data in rows
    ]
