"""The KPI engine's frames for a period, narrowed to a dashboard's filter, and the engine's rows over
them. Frames and finished dashboards are cached in the process, keyed by the database and the period
(and filter). An entry is reused while the newest event's id is the one it was computed at (every
change to tickets appends an event, and the log is append-only), and for up to ``FRESH_SECONDS`` after
it was computed even when events arrived since: on a busy desk a new event comes every few seconds, and
a dashboard a few minutes old (the page says when it was computed) beats one recomputed on every view.
A filter change reuses the period's frames instead of reading the tables again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.kpis.frames import KpiFrames
from opsdesk.insights.kpis.request import KpiRequest

if TYPE_CHECKING:
    from opsdesk.desk.sla.business_hours import BusinessHours
    from opsdesk.desk.sla.policy_cache import CachedPolicy

T = TypeVar("T")
CACHE_SIZE = 48
FRESH_SECONDS = 300


class _Cache:
    """A small LRU shared by the requests of one process; each entry remembers the watermark and the
    time it was computed at."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Hashable, tuple[tuple[str, int], datetime, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, mark: tuple[str, int], now: datetime) -> Any:
        """The entry if still valid for ``mark`` at ``now``, else :data:`MISSING`."""
        with self._lock:
            if key in self._items:
                was, computed, value = self._items[key]
                if was == mark or (was[0] == mark[0] and now - computed < timedelta(seconds=FRESH_SECONDS)):
                    self._items.move_to_end(key)
                    return value
        return MISSING

    def put(self, key: Hashable, mark: tuple[str, int], computed: datetime, value: Any) -> None:
        with self._lock:
            self._items[key] = (mark, computed, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get_or_make(self, key: Hashable, mark: tuple[str, int], now: datetime, make: Callable[[], T]) -> T:
        found = self.get(key, mark, now)
        if found is not MISSING:
            return found
        value = make()
        self.put(key, mark, now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


MISSING = object()
CACHE = _Cache(CACHE_SIZE)


def watermark(session: Session) -> tuple[str, int]:
    """Which database, and the newest event in it: what a cached answer is valid for."""
    newest = session.scalar(select(func.max(Event.id))) or 0
    return str(session.get_bind().engine.url), int(newest)


@dataclass
class PeriodData:
    """The engine's inputs for one period, read once and narrowed per filter."""

    frames: KpiFrames
    schedules: dict[int, list[tuple[datetime, BusinessHours]]]
    policies: dict[int, CachedPolicy]
    _tags: tuple[str, ...] | None = None

    def visible_tags(self) -> tuple[str, ...]:
        """The period's tags that are on some ticket that is not sensitive (the KPI engine's rule), so
        no filter offers what only protected tickets are about; computed once per period."""
        if self._tags is None:
            from opsdesk.insights.kpis.summary import RESTRICTED_TAG, visible_tags

            shown = set(visible_tags(self.frames.tickets, self.frames.tags)["tag"])
            self._tags = tuple(sorted(t for t in shown if t != RESTRICTED_TAG))
        return self._tags


def period_data(session: Session, where: DashboardFilter, now: datetime) -> PeriodData:
    from opsdesk.insights.kpis.loader import load

    def make() -> PeriodData:
        frames, schedules, policies = load(session, KpiRequest(("tickets_created",), where.start, where.end))
        return PeriodData(frames, schedules, policies)

    return CACHE.get_or_make(("period", where.start, where.end), watermark(session), now, make)


def narrowed(frames: KpiFrames, where: DashboardFilter) -> KpiFrames:
    """The frames of the tickets the filter keeps (any of the channels, and any of the sites, and ...;
    a ticket with any of the tags). Nothing is narrowed without a ticket filter."""
    if not where.restricts_tickets:
        return frames
    tickets = frames.tickets
    keep = tickets["ticket_id"].notna()
    for column, values in (
        ("channel", where.channels),
        ("site", where.sites),
        ("group", where.teams),
        ("tier", where.tiers),
    ):
        if values:
            keep &= tickets[column].isin(values)
    if where.tags:
        tagged = frames.tags.loc[frames.tags["tag"].isin(where.tags), "ticket_id"]
        keep &= tickets["ticket_id"].isin(tagged)
    ids = tickets.loc[keep, "ticket_id"]
    return KpiFrames(
        tickets=tickets[keep],
        tags=frames.tags[frames.tags["ticket_id"].isin(ids)],
        events=frames.events[frames.events["ticket_id"].isin(ids)],
        calls=frames.calls[frames.calls["ticket_id"].isin(ids)],
        agents=frames.agents,
    )


def engine_rows(
    data: PeriodData,
    frames: KpiFrames,
    where: DashboardFilter,
    metrics: tuple[str, ...],
    by: tuple[str, ...],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """The KPI engine's rows for these metrics and groups, exactly as `opsdesk kpi` computes them."""
    from opsdesk.insights.kpis.engine import compute

    request = KpiRequest(metrics, where.start, where.end, by)
    return compute(frames, request, now=now, schedules=data.schedules, policies=data.policies)


def bounds(where: DashboardFilter) -> tuple[datetime, datetime]:
    """The period as UTC instants [start, end)."""
    return (
        datetime.combine(where.start, time(), UTC),
        datetime.combine(where.end + timedelta(days=1), time(), UTC),
    )
