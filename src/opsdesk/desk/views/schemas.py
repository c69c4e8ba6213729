"""Request and response shapes of saved views and bulk actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from opsdesk.core.bounds import Id, Name, NoNulModel, Tag
from opsdesk.desk.bulk import MAX_BULK
from opsdesk.desk.models import Priority, Status
from opsdesk.desk.ticket_sort import SORT_PATTERN
from opsdesk.desk.views.models import SavedView


class ViewIn(NoNulModel):
    name: Annotated[Name, Field(max_length=100)]
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="The ticket list's filters: status, priority, channel (lists), assignee_id, group_id, "
        "requester_id, organisation_id, tag, view",
        max_length=20,
    )
    sort: Annotated[str | None, Field(max_length=20, pattern=SORT_PATTERN)] = None
    shared: bool = False


class ViewOut(BaseModel):
    id: int
    name: str
    shared: bool
    owner_id: int
    filters: dict[str, Any]
    sort: str | None
    count: int | None = None

    @classmethod
    def of(cls, view: SavedView, count: int | None = None) -> ViewOut:
        return cls(
            id=view.id,
            name=view.name,
            shared=view.shared,
            owner_id=view.owner_id,
            filters=view.filters,
            sort=view.sort,
            count=count,
        )


class AssignAction(BaseModel):
    type: Literal["assign"]
    assignee_id: Id | None = Field(description="An agent, or null to unassign")


class GroupAction(BaseModel):
    type: Literal["group"]
    group_id: Id | None


class StatusAction(BaseModel):
    type: Literal["status"]
    status: Status


class PriorityAction(BaseModel):
    type: Literal["priority"]
    priority: Priority


class TagsAction(BaseModel):
    type: Literal["tags"]
    add: list[Tag] = Field(default_factory=list, max_length=50)
    remove: list[Tag] = Field(default_factory=list, max_length=50)


BulkActionIn = Annotated[
    AssignAction | GroupAction | StatusAction | PriorityAction | TagsAction, Field(discriminator="type")
]


class BulkIn(NoNulModel):
    ticket_ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)
    actions: list[BulkActionIn] = Field(min_length=1, max_length=20)


class BulkOut(BaseModel):
    applied: list[int]
    skipped: dict[int, str]
