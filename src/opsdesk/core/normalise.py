"""Canonical forms of identities, so the same person is found however they typed their address."""

from __future__ import annotations

import re

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import IdentityKind

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_identity(kind: IdentityKind, value: str) -> str:
    value = value.strip()
    if kind is IdentityKind.EMAIL:
        value = value.lower()
        if not _EMAIL.match(value):
            raise ValidationFailed(f"{value!r} is not an email address", field="email")
        return value
    if kind is IdentityKind.PHONE:
        digits = re.sub(r"[^\d+]", "", value)
        if len(re.sub(r"\D", "", digits)) < 5:
            raise ValidationFailed(f"{value!r} is not a phone number", field="phone")
        return digits
    if kind is IdentityKind.SOCIAL:
        return value.lower().lstrip("@")
    if not value:
        raise ValidationFailed("an identity needs a value", field="value")
    return value
