"""Canonical forms of identities, so the same person is found however they typed their address."""

from __future__ import annotations

import re

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import IdentityKind

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def e164(value: str, region: str | None = None) -> str:
    """A phone number in E.164 (``+14155550100``), however it was written; a number without a country
    code is read in ``region`` (the ``phone_region`` setting by default)."""
    import phonenumbers

    if region is None:
        from opsdesk.core.settings import get_settings

        region = get_settings().phone_region
    digits = re.sub(r"\D", "", value)
    if len(digits) < 5 or len(digits) > 17:
        raise ValidationFailed(f"{value!r} is not a phone number", field="phone")
    try:
        number = phonenumbers.parse(value, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(f"{value!r} is not a phone number: {exc}", field="phone") from exc
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_identity(kind: IdentityKind, value: str) -> str:
    value = value.strip()
    if kind is IdentityKind.EMAIL:
        value = value.lower()
        if not _EMAIL.match(value):
            raise ValidationFailed(f"{value!r} is not an email address", field="email")
        return value
    if kind is IdentityKind.PHONE:
        return e164(value)
    if kind is IdentityKind.SOCIAL:
        # "platform:handle": the same handle on two platforms may be two people.
        platform, sep, handle = value.lower().rpartition(":")
        handle = handle.strip().lstrip("@")
        if not handle:
            raise ValidationFailed(f"{value!r} is not a social handle", field="handle")
        return f"{platform.strip()}{sep}{handle}"
    if not value:
        raise ValidationFailed("an identity needs a value", field="value")
    return value
