"""The desk at a glance: backlog by status, who has what, and the last four weeks of demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.database import utc_day
from opsdesk.core.models import User
from opsdesk.desk.access import visible_to
from opsdesk.desk.models import UNSOLVED, Channel, Status, Ticket
from opsdesk.desk.queries import view_condition


@dataclass
class DeskOverview:
    unsolved_by_status: dict[str, int]
    unassigned: int
    mine: int
    breaching_soon: int
    overdue: int
    days: list[date] = field(default_factory=list)
    created_by_channel: dict[str, list[int]] = field(default_factory=dict)
    solved_per_day: list[int] = field(default_factory=list)


def desk_overview(
    session: Session, *, user: User, clock: Clock, soon_minutes: int, days: int = 28
) -> DeskOverview:
    now = clock.now()
    visible = visible_to(user)
    unsolved = Ticket.status.in_(UNSOLVED)
    by_status = dict(
        session.execute(
            select(Ticket.status, func.count()).where(visible, unsolved).group_by(Ticket.status)
        ).all()
    )

    def count(condition: ColumnElement[bool]) -> int:
        return int(session.scalar(select(func.count()).select_from(Ticket).where(visible, condition)) or 0)

    def in_view(view: str) -> int:
        """The length of the list the tile opens: the list's own condition, counted."""
        return count(view_condition(user, view, now, soon_minutes))

    since = (now - timedelta(days=days - 1)).date()
    day_list = [since + timedelta(days=i) for i in range(days)]
    dialect = session.get_bind().dialect.name
    created_day = utc_day(Ticket.created_at, dialect)
    created_rows = session.execute(
        select(created_day, Ticket.channel, func.count())
        .where(visible, Ticket.created_at >= now - timedelta(days=days))
        .group_by(created_day, Ticket.channel)
    ).all()
    created: dict[str, list[int]] = {c.value: [0] * days for c in Channel}
    for day, channel, n in created_rows:
        index = (_as_date(day) - since).days
        if 0 <= index < days:
            created[Channel(channel).value][index] += int(n)
    solved_day = utc_day(Ticket.solved_at, dialect)
    solved_rows = session.execute(
        select(solved_day, func.count())
        .where(visible, Ticket.solved_at.is_not(None), Ticket.solved_at >= now - timedelta(days=days))
        .group_by(solved_day)
    ).all()
    solved = [0] * days
    for day, n in solved_rows:
        index = (_as_date(day) - since).days
        if 0 <= index < days:
            solved[index] += int(n)
    return DeskOverview(
        unsolved_by_status={s.value: int(by_status.get(s, 0)) for s in UNSOLVED},
        unassigned=in_view("unassigned"),
        mine=in_view("mine"),
        breaching_soon=in_view("breaching_soon"),
        overdue=in_view("overdue"),
        days=day_list,
        created_by_channel={k: v for k, v in created.items() if any(v)},
        solved_per_day=solved,
    )


def _as_date(value: object) -> date:
    """SQLite returns the cast day as text, PostgreSQL as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


__all__ = ["DeskOverview", "Status", "desk_overview"]
