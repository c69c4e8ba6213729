"""What a dashboard is filtered by: a period (UTC days, both included) and any number of channels,
sites, teams (groups), tiers and tags. Every value is in the URL, so a view can be shared; the key of a
filter is what caches are keyed by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

DEFAULT_DAYS = 28
MAX_DAYS = 366


@dataclass(frozen=True)
class DashboardFilter:
    start: date
    end: date
    channels: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    @property
    def restricts_tickets(self) -> bool:
        return bool(self.channels or self.sites or self.teams or self.tiers or self.tags)

    def key(self) -> tuple[object, ...]:
        return (
            self.start,
            self.end,
            *(
                tuple(sorted(v))
                for v in (self.channels, self.sites, self.teams, self.tiers, self.tags, self.segments)
            ),
        )

    def query(self) -> str:
        """The URL query that reproduces this view."""
        pairs = [("from", self.start.isoformat()), ("to", self.end.isoformat())]
        for name, values in (
            ("channel", self.channels),
            ("site", self.sites),
            ("team", self.teams),
            ("tier", self.tiers),
            ("tag", self.tags),
            ("segment", self.segments),
        ):
            pairs += [(name, v) for v in values]
        return urlencode(pairs)


def default_period(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_DAYS - 1), today
