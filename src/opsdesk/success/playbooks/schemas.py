"""Request and response shapes for playbooks, tasks and success plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import Day, Id, Moment, NoNulModel
from opsdesk.success.playbooks.models import (
    EmailStatus,
    ObjectiveStatus,
    OwnerRule,
    TaskStatus,
    TriggerKind,
)


class TemplateIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    due_offset_days: int = Field(default=0, ge=0, le=365)
    owner_rule: OwnerRule = OwnerRule.ACCOUNT_CSM
    owner_user_id: Id | None = None
    email_subject: str | None = Field(default=None, max_length=300)
    email_body: str | None = Field(default=None, max_length=20_000)
    # False: the email is sent to the account's primary contact as soon as the playbook fires.
    email_needs_approval: bool = True


class PlaybookIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    trigger_kind: TriggerKind
    trigger_params: dict[str, Any] = Field(default_factory=dict, max_length=50)
    templates: list[TemplateIn] = Field(min_length=1, max_length=50)
    active: bool = True


class PlaybookUpdateIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    trigger_params: dict[str, Any] | None = Field(default=None, max_length=50)
    templates: list[TemplateIn] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None


class TemplateOut(TemplateIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int


class PlaybookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    trigger_kind: TriggerKind
    trigger_params: dict[str, Any]
    active: bool
    created_at: datetime
    updated_at: datetime
    templates: list[TemplateOut]


class RunIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    now: Moment | None = None  # evaluate as of this moment (default: the server clock), never later
    playbook_ids: list[Id] | None = Field(default=None, max_length=1000)


class RunOut(BaseModel):
    now: datetime
    fired: int
    tasks_created: int
    lost_races: int
    by_playbook: dict[str, int]


class TaskIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Id
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    due_on: Day
    owner_id: Id | None = None


class TaskUpdateIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = None
    due_on: Day | None = None
    owner_id: Id | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    email_subject: str | None = Field(default=None, max_length=300)
    email_body: str | None = Field(default=None, max_length=20_000)


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    playbook_id: int | None
    title: str
    description: str
    status: TaskStatus
    due_on: date
    owner_id: int | None
    email_subject: str | None
    email_body: str | None
    email_to: str | None
    email_needs_approval: bool
    created_at: datetime
    completed_at: datetime | None


class TaskEmailIn(NoNulModel):
    """Approve and send the task's email; omitted fields keep the rendered draft's."""

    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(default=None, min_length=3, max_length=320)
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, min_length=1, max_length=20_000)


class TaskEmailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    to: str
    subject: str
    status: EmailStatus
    approved_by_id: int | None
    rfc_message_id: str | None
    created_at: datetime
    sent_at: datetime | None


class ObjectiveIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    objective: str = Field(min_length=1, max_length=2000)
    target_date: Day


class ObjectiveUpdateIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    objective: str | None = Field(default=None, min_length=1, max_length=2000)
    target_date: Day | None = None
    status: ObjectiveStatus | None = None


class ObjectiveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    objective: str
    target_date: date
    status: ObjectiveStatus


class PlanIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Id
    title: str = Field(min_length=1, max_length=200)
    owner_id: Id | None = None
    objectives: list[ObjectiveIn] = Field(default_factory=list, max_length=100)


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    title: str
    owner_id: int | None
    created_at: datetime
    objectives: list[ObjectiveOut]


class EpisodeOut(BaseModel):
    """A condition episode the playbook fired on: shows why tasks exist and why a rerun adds none."""

    model_config = ConfigDict(from_attributes=True)

    account_id: int
    episode_key: str
    reason: str
    fired_at: datetime
