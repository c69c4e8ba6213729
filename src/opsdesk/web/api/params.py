"""Path and query parameter types, bounded where they are declared (and so in the OpenAPI document):
an out-of-range id, offset or date is a 422 naming the parameter, never a database error."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Form, Path, Query
from pydantic import AfterValidator

from opsdesk.core.bounds import MAX_ID, MAX_OFFSET, YEARS, in_years, in_years_at, no_nul

MAX_LIMIT = 1000
MAX_FORM_TEXT = 1_000_000  # a message body, as the API's MAX_BODY_CHARS

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]
QueryDay = Annotated[Annotated[date, AfterValidator(in_years)] | None, Query(description=f"A date {YEARS}")]
QueryMoment = Annotated[
    Annotated[datetime, AfterValidator(in_years_at)] | None, Query(description=f"A time {YEARS}")
]
QueryText = Annotated[Annotated[str, AfterValidator(no_nul)] | None, Query(min_length=1, max_length=200)]
_Day = Annotated[date, AfterValidator(in_years)]
From = Annotated[_Day | None, Query(alias="from", description=f"The first day, {YEARS}")]
To = Annotated[_Day | None, Query(alias="to", description=f"The last day, {YEARS}")]
RequiredFrom = Annotated[_Day, Query(alias="from", description=f"The first day, {YEARS}")]
RequiredTo = Annotated[_Day, Query(alias="to", description=f"The last day, {YEARS}")]


def _blank_or_id(value: str) -> str:
    if value and not (value.isdigit() and 1 <= int(value) <= MAX_ID):
        raise ValueError(f"must be empty or a whole number from 1 to {MAX_ID}")
    return value


# Page forms and filters: text without NUL within a length, and ids picked from a <select> (or blank).
FormText = Annotated[str, Form(max_length=MAX_FORM_TEXT), AfterValidator(no_nul)]
FormLine = Annotated[str, Form(max_length=2000), AfterValidator(no_nul)]
FormBlankOrId = Annotated[str, Form(max_length=10), AfterValidator(_blank_or_id)]
# A <select> a form shows only to some readers: None when the form did not send it.
FormOptionalId = Annotated[
    str | None, Form(max_length=10), AfterValidator(lambda v: v if v is None else _blank_or_id(v))
]
QueryFilter = Annotated[str, Query(max_length=500), AfterValidator(no_nul)]
OptionalFilter = Annotated[Annotated[str, AfterValidator(no_nul)] | None, Query(max_length=500)]
QueryCursor = Annotated[str | None, Query(max_length=200)]
