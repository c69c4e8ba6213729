"""The signed links a survey email carries: one per rating (bound to the ticket, the choice and an
expiry), the comment form behind them (bound to the ticket) and opting out (bound to the person)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.core.signing import BadLink, sign, verify

LINK_LIFETIME = timedelta(days=30)  # a closed ticket refuses ratings sooner; this bounds a leaked link
RATE = "csat.rate"
FORM = "csat.form"
OPT_OUT = "csat.opt_out"


def _bounded_int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**31 - 1:
        raise BadLink("this link is not valid", field="token")
    return value


def rating_token(settings: Settings, *, ticket_id: int, choice: str, now: datetime) -> str:
    return sign(settings, RATE, {"t": ticket_id, "r": choice}, expires=now + LINK_LIFETIME)


def read_rating_token(settings: Settings, token: str, *, now: datetime) -> tuple[int, str]:
    body = verify(settings, RATE, token, now=now)
    choice = body.get("r")
    if not isinstance(choice, str):
        raise BadLink("this link is not valid", field="token")
    return _bounded_int(body, "t"), choice


def form_token(settings: Settings, *, ticket_id: int, now: datetime) -> str:
    return sign(settings, FORM, {"t": ticket_id}, expires=now + LINK_LIFETIME)


def read_form_token(settings: Settings, token: str, *, now: datetime) -> int:
    return _bounded_int(verify(settings, FORM, token, now=now), "t")


def opt_out_token(settings: Settings, *, user_id: int, now: datetime) -> str:
    return sign(settings, OPT_OUT, {"u": user_id}, expires=now + LINK_LIFETIME)


def read_opt_out_token(settings: Settings, token: str, *, now: datetime) -> int:
    return _bounded_int(verify(settings, OPT_OUT, token, now=now), "u")


def public_link(settings: Settings, path: str) -> str:
    if not path.startswith("/"):
        raise ValidationFailed("a link path starts with /", field="path")
    return settings.link_base() + path
