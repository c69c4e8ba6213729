"""The bounded types every request field is declared with, defined once: ids within the columns' range,
text without NUL, dates within the years the database, the calendars and the KPIs handle. Bad input is
then a 4xx naming the field, never a database or arithmetic error, and the OpenAPI document states the
bounds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator

from opsdesk.core.years import FIRST_YEAR as FIRST_YEAR
from opsdesk.core.years import LAST_YEAR as LAST_YEAR
from opsdesk.core.years import YEARS as YEARS
from opsdesk.core.years import in_years as in_years
from opsdesk.core.years import in_years_at as in_years_at

MAX_ID = 2_147_483_647  # the INTEGER primary keys of PostgreSQL (and what SQLite's are kept to)
MAX_OFFSET = 10_000_000
MAX_CENTS = 10**15  # ten trillion in money: far above any contract, far below BIGINT (x12 months, x rates)
MAX_PEPM_CENTS = 10**8
MAX_LIVES = 10_000_000
MAX_TARGET_MINUTES = 366 * 24 * 60


def no_nul(value: str) -> str:
    """Databases cannot store NUL or unpaired surrogates (which JSON escapes can carry) in text;
    refuse them here rather than fail in the database."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text is not valid Unicode (an unpaired surrogate)") from exc
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, AfterValidator(no_nul)]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
ShortText = Annotated[Text, Field(max_length=200)]
LongText = Annotated[Text, Field(max_length=10_000)]
Tag = Annotated[Text, Field(min_length=1, max_length=80)]
Day = Annotated[date, AfterValidator(in_years), Field(description=f"A date {YEARS}")]
Moment = Annotated[datetime, AfterValidator(in_years_at), Field(description=f"A time {YEARS}")]


def _text_at_fault(value: Any, where: str = "") -> str | None:
    """Where in a JSON value the first string with NUL (or an unpaired surrogate) is, or None."""
    if isinstance(value, str):
        try:
            no_nul(value)
        except ValueError:
            return where or "body"
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (found := _text_at_fault(item, f"{where}.{index}".lstrip("."))) is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}".lstrip(".")
            found = _text_at_fault(key, path) or _text_at_fault(item, path)
            if found is not None:
                return found
    return None


class NoNulModel(BaseModel):
    """A request body whose every string, however nested (free-form JSON included), is free of NUL: a
    base class, so no field of a new body can forget it. The error names the field."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_anywhere(cls, value: Any) -> Any:
        where = _text_at_fault(value)
        if where is not None:
            inside = "" if where == "body" else f" (at {where})"
            raise ValueError(f"text may not contain NUL characters or unpaired surrogates{inside}")
        return value
