"""Saving and deleting views. Anyone on the desk saves personal views; shared ones, which the whole
team sees in its list, are a lead's or an admin's to make and change (as in Zendesk)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, User
from opsdesk.desk import ticket_sort
from opsdesk.desk.views import filters as view_filters
from opsdesk.desk.views.models import SavedView

SHARERS = (Role.ADMIN, Role.SUPPORT_LEAD)


def can_share(user: User) -> bool:
    return user.active and user.role in SHARERS


def _check_owner(user: User, view: SavedView) -> None:
    """Its owner may change a view; a shared one also a lead or admin. Another's personal view is not
    found: its existence is not another agent's business."""
    if view.owner_id == user.id or (view.shared and can_share(user)):
        return
    if view.shared:
        raise PermissionDenied("only a support lead or an admin may change a shared view")
    raise NotFound(f"no view {view.id}", field="id")


def save_view(
    session: Session,
    *,
    owner: User,
    clock: Clock,
    name: str,
    filters: Mapping[str, Any],
    sort: str | None = None,
    shared: bool = False,
) -> SavedView:
    """A new view, or the owner's view of that name replaced."""
    if not owner.is_staff or not owner.active:
        raise PermissionDenied("only staff save ticket views")
    if shared and not can_share(owner):
        raise PermissionDenied("only a support lead or an admin may share a view", field="shared")
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("a view's name is 1-100 characters", field="name")
    cleaned = view_filters.clean(filters)
    if sort:
        ticket_sort.parse(sort)
    view = session.scalar(select(SavedView).where(SavedView.owner_id == owner.id, SavedView.name == name))
    now = clock.now()
    if view is None:
        view = SavedView(owner_id=owner.id, name=name, created_at=now)
        session.add(view)
    view.filters, view.sort, view.shared, view.updated_at = cleaned, sort or None, shared, now
    session.flush()
    append_event(
        session,
        subject_type="saved_view",
        subject_id=view.id,
        type="view_saved",
        at=now,
        actor=owner,
        data={"name": name, "shared": shared, "filters": cleaned, "sort": sort},
    )
    return view


def delete_view(session: Session, *, view: SavedView, actor: User, clock: Clock) -> None:
    _check_owner(actor, view)
    append_event(
        session,
        subject_type="saved_view",
        subject_id=view.id,
        type="view_deleted",
        at=clock.now(),
        actor=actor,
        data={"name": view.name},
    )
    session.delete(view)


def import_shared_views(session: Session, data: object, *, owner: User, clock: Clock) -> list[SavedView]:
    """Shared views from a YAML file's data (a list of {name, filters, sort}), saved under ``owner``;
    all or none, the error naming the entry."""
    if not isinstance(data, list):
        raise ValidationFailed("the file must hold a list of views", field="file")
    saved = []
    for index, entry in enumerate(data):
        where = f"entry {index + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValidationFailed(f"{where}: expected a mapping with a name", field=where)
        unknown = set(entry) - {"name", "filters", "sort"}
        if unknown:
            raise ValidationFailed(f"{where}: unknown field {sorted(unknown)[0]!r}", field=where)
        raw = entry.get("filters") or {}
        if not isinstance(raw, dict):
            raise ValidationFailed(f"{where}: filters must be a mapping", field=where)
        try:
            saved.append(
                save_view(
                    session,
                    owner=owner,
                    clock=clock,
                    name=entry["name"],
                    filters=raw,
                    sort=entry.get("sort"),
                    shared=True,
                )
            )
        except (ValidationFailed, Conflict) as exc:
            raise ValidationFailed(f"{where} ({entry['name']}): {exc.message}", field=exc.field) from exc
    return saved
