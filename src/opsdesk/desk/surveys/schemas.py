"""CSAT request and response shapes for the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import LongText, NoNulModel, ShortText
from opsdesk.desk.surveys.scale import REASONS, Rating, Scale, Via


class SatisfactionIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["good", "bad", "1", "2", "3", "4", "5"] = Field(
        description="good or bad on the good/bad scale; 1-5 on the 1-5 scale (4 and 5 count as good)"
    )
    comment: LongText | None = Field(default=None, description="Left out: keep the earlier comment")
    reason: ShortText | None = Field(default=None, description="One of: " + "; ".join(REASONS))
    via: Literal["api", "chat"] = "api"


class SatisfactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_number: int = Field(validation_alias="ticket_id")
    rating: Rating
    score: int | None
    scale: Scale
    comment: str
    reason: str | None
    via: Via
    created_at: datetime
    updated_at: datetime
