"""The views a person sees (their own, then the team's shared ones) and how many tickets each holds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.desk.queries import count_tickets
from opsdesk.desk.views.filters import to_filters
from opsdesk.desk.views.models import SavedView


def views_for(session: Session, user: User) -> list[SavedView]:
    return list(
        session.scalars(
            select(SavedView)
            .where(or_(SavedView.owner_id == user.id, SavedView.shared.is_(True)))
            .options(selectinload(SavedView.owner))
            .order_by(SavedView.shared, SavedView.name, SavedView.id)
        )
    )


def shared_views(session: Session) -> list[SavedView]:
    return list(session.scalars(select(SavedView).where(SavedView.shared.is_(True)).order_by(SavedView.name)))


def view_for(session: Session, view_id: int, user: User) -> SavedView:
    """A view ``user`` may use: their own or a shared one; NotFound otherwise."""
    view = session.get(SavedView, view_id)
    if view is None or not (view.shared or view.owner_id == user.id):
        raise NotFound(f"no view {view_id}", field="view_id")
    return view


@dataclass(frozen=True)
class CountedView:
    view: SavedView
    count: int


def counted_views(
    session: Session, *, user: User, clock: Clock, breaching_soon_minutes: int
) -> list[CountedView]:
    """Each view with the number of tickets its list holds for ``user`` (what they may see only)."""
    return [
        CountedView(
            view,
            count_tickets(
                session,
                user=user,
                filters=to_filters(view.filters),
                clock=clock,
                breaching_soon_minutes=breaching_soon_minutes,
            ),
        )
        for view in views_for(session, user)
    ]
