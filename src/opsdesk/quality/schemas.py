"""Request and response shapes of quality assurance: a rubric's definition, a review's ratings,
disputes, coaching and calibration."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opsdesk.core.bounds import Day, Id, LongText, Name, NoNulModel
from opsdesk.quality.scoring import MAX_WEIGHT, Scale

CategoryKey = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z][a-z0-9_]*$")]
RatingValue = Annotated[int, Field(ge=0, le=5)]


class CategoryIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    key: CategoryKey
    name: Name
    description: LongText = ""
    scale: Scale
    weight: Annotated[int, Field(ge=0, le=MAX_WEIGHT)] = 1
    critical: bool = False
    allow_na: bool = False


class SectionIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    categories: Annotated[list[CategoryIn], Field(min_length=1, max_length=50)]


class RubricIn(NoNulModel):
    """A rubric's content: publishing it again under the same name makes a new version."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    sections: Annotated[list[SectionIn], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _keys_are_unique(self) -> RubricIn:
        keys = [c.key for s in self.sections for c in s.categories]
        if len(keys) != len(set(keys)):
            raise ValueError("each category key may appear once in a rubric")
        return self


class RatingIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    value: RatingValue | None = Field(description="The selected rating; null for N/A")
    comment: LongText = ""


class ReviewIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: Id
    agent_id: Id
    rubric_version_id: Id | None = Field(default=None, description="Default: the rubric's latest version")
    rubric_id: Id | None = None
    calibration_session_id: Id | None = None
    ratings: Annotated[dict[CategoryKey, RatingIn], Field(max_length=200)]
    comment: LongText = ""


class DisputeIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    category_key: CategoryKey | None = Field(default=None, description="Null disputes the whole review")
    reason: Annotated[LongText, Field(min_length=10)]


class DisputeResolutionIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool
    corrections: Annotated[dict[CategoryKey, RatingValue | None], Field(max_length=200)] = {}
    note: LongText = ""


class CoachingIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: Id
    kind: str = Field(pattern="^(note|goal)$")
    body: Annotated[LongText, Field(min_length=1)]
    review_id: Id | None = None
    target_iqs: Annotated[float, Field(ge=0, le=100)] | None = None
    due_on: Day | None = None


class CalibrationItemIn(NoNulModel):
    ticket_id: Id
    agent_id: Id


class CalibrationIn(NoNulModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    rubric_version_id: Id
    reviewer_ids: Annotated[list[Id], Field(min_length=2, max_length=50)]
    items: Annotated[list[CalibrationItemIn], Field(min_length=1, max_length=50)]


class AgreedScoreIn(NoNulModel):
    agreed_score: Annotated[float, Field(ge=0, le=100)]


class RatingOut(BaseModel):
    category_key: str
    value: int | None
    score: float | None
    comment: str


class DisputeOut(BaseModel):
    id: int
    review_id: int
    category_key: str | None
    opened_by_id: int
    reason: str
    opened_at: datetime
    status: str
    resolved_by_id: int | None
    resolved_at: datetime | None
    resolution_note: str
    corrections: dict[str, int | None]


class ReviewOut(BaseModel):
    id: int
    ticket_id: int
    agent_id: int
    reviewer_id: int
    rubric_version_id: int
    calibration_session_id: int | None
    score: float | None
    corrected_score: float | None
    effective_score: float | None
    comment: str
    created_at: datetime
    ratings: list[RatingOut]
    disputes: list[DisputeOut]


class IqsOut(BaseModel):
    agent_id: int | None
    start: date | None
    end: date | None
    reviews: int
    iqs: float | None
