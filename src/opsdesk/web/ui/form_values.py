"""Values typed into page forms and filters, checked once for every page: errors name the field."""

from __future__ import annotations

from datetime import date

from opsdesk.core.bounds import in_years
from opsdesk.core.errors import ValidationFailed


def optional_day(text: str, field: str) -> date | None:
    """A YYYY-MM-DD date in the years OpsDesk handles, or None for a blank field."""
    if not text.strip():
        return None
    try:
        return in_years(date.fromisoformat(text.strip()))
    except ValueError:
        raise ValidationFailed(f"{text[:20]!r} is not a date (YYYY-MM-DD)", field=field) from None
