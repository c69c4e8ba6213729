"""How long before a term ends its renewal opportunity opens; apart from :mod:`renewals` so that the
command line can show the default without loading the models."""

from __future__ import annotations

DEFAULT_LEAD_DAYS = 120
MAX_LEAD_DAYS = 730
