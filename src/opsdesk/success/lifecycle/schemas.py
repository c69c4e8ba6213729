"""Request and response shapes of the lifecycle API: phase owners, hand-offs, checklists, timing."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import Day, Id, NoNulModel
from opsdesk.success.lifecycle.handoff import MAX_DUE_DAYS, MAX_ITEMS, MAX_TEXT
from opsdesk.success.lifecycle.phases import Phase
from opsdesk.success.models import Stage
from opsdesk.success.playbooks.schemas import TaskOut

Position = Annotated[int, Field(ge=0, lt=MAX_ITEMS)]


class PhaseOwnersIn(NoNulModel):
    """The owners to change; a field left out keeps its owner, null clears it."""

    model_config = ConfigDict(extra="forbid")

    implementation: Id | None = None
    renewal: Id | None = None


class PhaseOwnerOut(BaseModel):
    phase: Phase
    role: str
    user_id: int | None
    name: str | None


class ItemIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["check", "task"]
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    required: bool = True
    due_days: int = Field(default=7, ge=0, le=MAX_DUE_DAYS)


class ChecklistIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class ItemOut(BaseModel):
    kind: str
    text: str
    required: bool
    due_days: int


class ChecklistOut(BaseModel):
    from_stage: Stage
    to: Stage
    default: bool
    items: list[ItemOut]


class HandOffIn(NoNulModel):
    """``checked``: the positions (from 0) of the ticked checks among the checklist's checks."""

    model_config = ConfigDict(extra="forbid")

    to: Stage
    on: Day | None = None
    checked: list[Position] = Field(default_factory=list, max_length=MAX_ITEMS)
    note: str = Field(default="", max_length=2000)


class AnswerOut(BaseModel):
    item: str
    required: bool
    done: bool


class HandOffOut(BaseModel):
    account_id: int
    from_stage: Stage
    to: Stage
    on: date
    next_owner_id: int | None
    checklist: list[AnswerOut]
    tasks: list[TaskOut]


class SpellOut(BaseModel):
    stage: Stage
    start: date
    end: date | None
    days: int


class AccountTimingOut(BaseModel):
    account_id: int
    name: str
    segment: str
    csm: str | None
    stage: Stage | None
    since: date | None
    days_in_stage: int | None
    days_by_stage: dict[str, int]
    time_to_launch_days: int | None
    implementing_for_days: int | None


class LifecycleOut(BaseModel):
    account_id: int
    stage: Stage
    stage_since: date
    owners: list[PhaseOwnerOut]
    next_stages: list[Stage]
    history: list[SpellOut]
    time_to_launch_days: int | None


class SegmentTimingOut(BaseModel):
    segment: str
    accounts: int
    median_days: dict[str, float | None]
    finished: dict[str, int]
    running: dict[str, int]
    median_time_to_launch_days: float | None
    launched: int


class LifecycleReportOut(BaseModel):
    segments: list[SegmentTimingOut]
    accounts: list[AccountTimingOut]
