"""The zone a page shows times in, and the one filter every template formats a time with.

The zone is, in order: the user's own preference (``User.timezone``, set on /preferences); the zone
of the site the agent works at; the zone the browser reports (``static/zone.js`` writes it into a
cookie, as CSP allows no inline script); UTC. Times are rendered on the server, with the zone's
abbreviation after them and its name on hover, so no reader has to guess which zone a time is in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context
from markupsafe import Markup, escape

from opsdesk.core.models import User

ZONE_COOKIE = "opsdesk_zone"
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")


@dataclass(frozen=True)
class ViewerZone:
    zone: ZoneInfo
    source: str  # "preference", "site", "browser" or "default"


@lru_cache(maxsize=1024)
def zone_named(name: str | None) -> ZoneInfo | None:
    """The IANA zone of that name, or None for anything else (the cookie is the client's to write)."""
    if not name or len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def viewer_zone(user: User | None, browser_zone: str | None) -> ViewerZone:
    if user is not None and (zone := zone_named(user.timezone)) is not None:
        return ViewerZone(zone, "preference")
    site = user.site if user is not None and user.site_id is not None else None
    if site is not None and (zone := zone_named(site.timezone)) is not None:
        return ViewerZone(zone, "site")
    if (zone := zone_named(browser_zone)) is not None:
        return ViewerZone(zone, "browser")
    return ViewerZone(ZoneInfo("UTC"), "default")


def zone_abbreviation(local: datetime) -> str:
    """CET, EST, PST; a zone without a letter abbreviation (``+08``) reads as UTC+08."""
    name = local.tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def format_time(value: datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(zone)
    return f"{local.strftime(fmt)} {zone_abbreviation(local)}"


@pass_context
def when(context: Any, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> Markup:
    """A time in the viewer's zone, with the zone: ``2026-03-02 10:00 CET``."""
    if value is None:
        return Markup("")
    viewer = context.get("zone")
    zone = viewer.zone if isinstance(viewer, ViewerZone) else ZoneInfo("UTC")
    stamp = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), zone.key, escape(format_time(value, zone, fmt))
    )
