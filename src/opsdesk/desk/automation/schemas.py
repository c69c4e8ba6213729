"""Request and response shapes for rules, their dry run, and macros. Conditions and actions are free
JSON here, bounded in size; their meaning is checked by ``automation.validation`` (a 422 naming the
exact key, e.g. ``actions[1].to``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import Name, NoNulModel
from opsdesk.desk.automation.dry_run import MAX_DAYS
from opsdesk.desk.automation.models import Macro, Rule, RuleKind

Conditions = dict[str, list[dict[str, Any]]]


class RuleIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: RuleKind = RuleKind.TRIGGER
    position: int = Field(default=100, ge=0, le=1_000_000)
    active: bool = True
    description: str = Field(default="", max_length=2000)
    conditions: Conditions = Field(
        default_factory=dict, examples=[{"all": [{"field": "priority", "op": "is", "value": "urgent"}]}]
    )
    actions: list[dict[str, Any]] = Field(max_length=50, examples=[[{"action": "add_tags", "tags": ["vip"]}]])
    once_per_ticket: bool = False


class RuleUpdate(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool | None = None
    description: str | None = Field(default=None, max_length=2000)
    conditions: Conditions | None = None
    actions: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    once_per_ticket: bool | None = None


class DryRunIn(RuleIn):
    days: int = Field(default=7, ge=1, le=MAX_DAYS)


class RuleOut(BaseModel):
    id: int
    name: str
    kind: RuleKind
    position: int
    active: bool
    description: str
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    once_per_ticket: bool
    failures: int
    last_error: str | None
    disabled_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls.model_validate(rule, from_attributes=True)


class DryRunOut(BaseModel):
    rule: str
    kind: str
    days: int
    since: str
    until: str
    tickets_examined: int
    tickets_changed: int
    firings: list[dict[str, Any]]


class MacroIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    reply_template: str = Field(
        default="", max_length=20_000, examples=["Hi {{ requester.first_name }}, ..."]
    )
    reply_public: bool = True
    actions: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    shared: bool = False


class MacroUpdate(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    reply_template: str | None = Field(default=None, max_length=20_000)
    reply_public: bool | None = None
    actions: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    shared: bool | None = None
    active: bool | None = None


class MacroOut(BaseModel):
    id: int
    name: str
    owner_id: int | None
    shared: bool
    active: bool
    reply_template: str
    reply_public: bool
    actions: list[dict[str, Any]]
    usage_count: int

    @classmethod
    def of(cls, macro: Macro) -> MacroOut:
        return cls.model_validate(macro, from_attributes=True)


class MacroAppliedOut(BaseModel):
    ticket: int
    macro_id: int
    changes: list[dict[str, Any]]
