"""The years dates may fall in: those the database, the calendars and the KPIs handle. Apart from
``core.bounds`` (pydantic types) so the command line can check dates without loading pydantic."""

from __future__ import annotations

from datetime import date, datetime

FIRST_YEAR = 1900
LAST_YEAR = 2200
YEARS = f"in the years {FIRST_YEAR}-{LAST_YEAR}"


def in_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the date must be {YEARS}")
    return value


def in_years_at(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the time must be {YEARS}")
    return value
