"""Email drafts: whitelisted placeholders only, no attribute or index access, literal braces kept."""

from __future__ import annotations

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.playbooks.drafts import check_template, render


def test_render_fills_known_placeholders_and_blanks_missing_ones() -> None:
    text = "Hi {contact_name}, {account_name} renews {renewal_date}. {{not a field}}"
    assert (
        render(text, {"contact_name": "Ana", "account_name": "Acme"}) == "Hi Ana, Acme renews . {not a field}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "{account.__class__}",
        "{contact_name[0]}",
        "{contact_name!r}",
        "{covered_lives:>99999}",
        "{password}",
        "{",
        "}",
    ],
)
def test_unsafe_or_unknown_templates_are_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_template(text, "email_body")
    assert caught.value.field == "email_body"


def test_values_are_not_formatted_again() -> None:
    assert render("{account_name}", {"account_name": "{csm_email}"}) == "{csm_email}"
