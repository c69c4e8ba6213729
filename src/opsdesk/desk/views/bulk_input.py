"""Bulk actions as the API and the list page send them, turned into the bulk core's actions (the
people and groups they name looked up once, for every ticket)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Group, User
from opsdesk.desk.bulk import Assign, ChangeTags, MoveToGroup, SetPriority, SetStatus, TicketAction
from opsdesk.desk.views.schemas import (
    AssignAction,
    BulkActionIn,
    GroupAction,
    PriorityAction,
    StatusAction,
    TagsAction,
)


def actions_from(session: Session, specs: Sequence[BulkActionIn]) -> list[TicketAction]:
    out: list[TicketAction] = []
    for spec in specs:
        if isinstance(spec, AssignAction):
            assignee = session.get(User, spec.assignee_id) if spec.assignee_id is not None else None
            if spec.assignee_id is not None and (assignee is None or not assignee.is_staff):
                raise ValidationFailed(f"no agent {spec.assignee_id}", field="assignee_id")
            out.append(Assign(assignee))
        elif isinstance(spec, GroupAction):
            group = session.get(Group, spec.group_id) if spec.group_id is not None else None
            if spec.group_id is not None and group is None:
                raise ValidationFailed(f"no group {spec.group_id}", field="group_id")
            out.append(MoveToGroup(group))
        elif isinstance(spec, StatusAction):
            out.append(SetStatus(spec.status))
        elif isinstance(spec, PriorityAction):
            out.append(SetPriority(spec.priority))
        elif isinstance(spec, TagsAction):
            out.append(ChangeTags(add=tuple(spec.add), remove=tuple(spec.remove)))
    return out
