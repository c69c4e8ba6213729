"""The database reads agent productivity needs beyond the KPI engine's frames: who wrote each public
reply, presence events, QA reviews the reader may see, and the agents with their teams and sites."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event, Group, Role, Site, User, group_members
from opsdesk.insights.productivity.agents import Agent
from opsdesk.quality.models import Review
from opsdesk.quality.queries import reviews_query
from opsdesk.quality.scoring import iqs

if TYPE_CHECKING:
    import pandas as pd

# Written by desk/routing/presence.set_presence: data "from" and "to" are the statuses.
PRESENCE_EVENT = "presence_changed"
STAFF = (Role.AGENT, Role.SUPPORT_LEAD, Role.ADMIN)


def staff(session: Session) -> tuple[list[Agent], dict[int, list[str]], dict[int, list[str]]]:
    """Agents and leads, each one's teams (groups) and site."""
    people = session.execute(
        select(User.id, User.email, User.name, Site.name)
        .outerjoin(Site, Site.id == User.site_id)
        .where(User.role.in_(STAFF))
        .order_by(User.name, User.id)
    ).all()
    teams: dict[int, list[str]] = defaultdict(list)
    for user_id, name in session.execute(
        select(group_members.c.user_id, Group.name).join(Group, Group.id == group_members.c.group_id)
    ):
        teams[int(user_id)].append(name)
    agents = [Agent(int(i), email or "", name or "") for i, email, name, _site in people]
    sites = {int(i): [site] for i, _e, _n, site in people if site}
    return agents, dict(teams), sites


def reply_authors(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """Event id -> author, for the messages added in [start, end) by a user."""
    rows = session.execute(
        select(Event.id, Event.actor_id).where(
            Event.type == "message_added",
            Event.subject_type == "ticket",
            Event.at >= start,
            Event.at < end,
            Event.actor_id.is_not(None),
        )
    )
    return {int(i): int(a) for i, a in rows if a is not None}


def presence(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """Presence events (agent_id, at, status) in [start, end), plus each agent's last one before."""
    import pandas as pd

    agent = case((Event.subject_type == "user", Event.subject_id), else_=Event.actor_id)
    status = Event.data["to"].as_string()
    before = (
        select(func.max(Event.id))
        .where(Event.type == PRESENCE_EVENT, Event.at < start)
        .group_by(agent)
        .scalar_subquery()
    )
    rows = session.execute(
        select(agent, Event.at, status).where(
            Event.type == PRESENCE_EVENT,
            (and_(Event.at >= start, Event.at < end)) | Event.id.in_(before),
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["agent_id", "at", "status"])
    frame = frame[frame["agent_id"].notna()]
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def qa_scores(session: Session, reader: User, first: date, last: date) -> dict[int, tuple[int, float | None]]:
    """Agent -> (scored reviews, IQS) over the reviews created from ``first`` to ``last`` (UTC days,
    both included) that ``reader`` may read; calibration reviews never count."""
    scores: dict[int, list[float | None]] = defaultdict(list)
    query = reviews_query(reader, start=first, end=last).with_only_columns(
        Review.agent_id, Review.score, Review.corrected, Review.corrected_score
    )
    for agent_id, score, corrected, corrected_score in session.execute(query):
        scores[int(agent_id)].append(corrected_score if corrected else score)
    return {a: (sum(s is not None for s in v), iqs(v)) for a, v in scores.items()}
