"""Email drafts from task templates. Placeholders are plain ``{name}`` fields from a fixed list, filled
with str.format_map over strings only, so a template can neither reach attributes nor run code (no
``{account.__class__}``, no ``{x[0]}``, no conversions); ``{{`` and ``}}`` are literal braces."""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

from opsdesk.core.errors import ValidationFailed

PLACEHOLDERS = frozenset(
    {
        "account_name",
        "covered_lives",
        "stage",
        "csm_name",
        "csm_email",
        "contact_name",
        "contact_email",
        "contact_title",
        "owner_name",
        "due_date",
        "playbook_name",
        "trigger_reason",
        "renewal_date",
        "days_to_renewal",
        "engagement_pct",
        "health_score",
        "stage_from",
        "stage_to",
        "nps_score",
        "escalation_title",
        "severity",
    }
)


def check_template(text: str, field: str) -> None:
    """Refuse a template that would not render: bad braces or a placeholder outside the list."""
    try:
        parts = list(Formatter().parse(text))
    except ValueError as exc:
        raise ValidationFailed(
            f"{field}: {exc} (write {{{{ and }}}} for literal braces)", field=field
        ) from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join(sorted(PLACEHOLDERS))
            raise ValidationFailed(f"{field}: unknown placeholder {{{name}}} (known: {known})", field=field)


class _Values(dict[str, str]):
    """Placeholders with no value for this account render empty rather than failing the run."""

    def __missing__(self, key: str) -> str:
        return ""


def render(text: str, values: Mapping[str, str]) -> str:
    check_template(text, "template")
    return text.format_map(_Values({k: v for k, v in values.items() if k in PLACEHOLDERS}))
