"""Dashboards computed once for every process: the finished panels of a view (and a period's tag
choices) are stored in ``dashboard_snapshots`` with the newest event id they were computed at.

A view is looked up in this process's cache, then in the table, and computed only when neither holds
it: under the same rule as the process cache (valid while no event has been added since, and for
``FRESH_SECONDS`` after it was computed even when events arrived). What a process computes it stores,
so the others read it. The snapshot job (:func:`refresh`, every minute and at start) computes the
default period of the dashboards that are the same for every reader (support, SLA, customer success,
and the productivity numbers all readers share: all but QA), and of the per-reader and per-zone ones
(productivity, workforce) for whoever viewed them in the last week, whenever the data has changed, so
the first view after a change or a restart is a read.

What is shown is always the stored form (panels through JSON and back), whether just computed or read,
so a view cannot look different depending on which process answered it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

# Every package's tables registered: success reads some optional tables only when they are (see
# success.portfolio._table), and a view must not depend on which process computed it.
import opsdesk.schema  # noqa: F401
from opsdesk.core.database import transaction
from opsdesk.core.models import User
from opsdesk.insights.dashboards.boards import DASHBOARDS, Dashboard
from opsdesk.insights.dashboards.data import CACHE, FRESH_SECONDS, MISSING, period_data, watermark
from opsdesk.insights.dashboards.filters import DashboardFilter, default_period
from opsdesk.insights.dashboards.models import DashboardSnapshot
from opsdesk.insights.dashboards.panels import Column, Panel

if TYPE_CHECKING:
    from opsdesk.insights.dashboards.productivity import Work

log = logging.getLogger(__name__)
T = TypeVar("T")
TAGS = "tags"
WORK = "productivity_work"
KEEP_VIEWED = timedelta(days=7)
"""Per-reader and per-zone views are precomputed while their reader looked at them this recently."""
TOUCH_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class View:
    board: str  # a dashboard's name, or TAGS
    where: DashboardFilter
    reader_id: int | None
    zone: str  # "" unless the dashboard depends on the viewer's zone
    day: date

    @property
    def key(self) -> str:
        full = [self.board, self.where.key(), self.reader_id, self.zone, self.day]
        return hashlib.sha256(json.dumps(full, default=str).encode()).hexdigest()


def view_of(
    board: Dashboard, where: DashboardFilter, reader: User | None, zone: ZoneInfo, now: datetime
) -> View:
    return View(
        board.name,
        where,
        reader.id if board.per_reader and reader is not None else None,
        zone.key if board.per_zone else "",
        now.date(),
    )


def encode(panels: list[Panel]) -> str:
    return json.dumps([asdict(p) for p in panels], default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers; anything else (dates, decimals) as the text a page shows."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def decode(body: str) -> list[Panel]:
    panels = []
    for raw in json.loads(body):
        raw["columns"] = [Column(**c) for c in raw["columns"]]
        panels.append(Panel(**raw))
    return panels


def _valid(row: DashboardSnapshot, event_id: int, now: datetime) -> bool:
    return row.event_id == event_id or timedelta(0) <= now - row.computed_at < timedelta(
        seconds=FRESH_SECONDS
    )


def _writer(session: Session) -> sessionmaker[Session]:
    """A session on the same database for a short write of its own, so a page's read never turns
    into a write transaction (and the job's long reads never hold SQLite's write lock)."""
    return sessionmaker(bind=session.get_bind(), expire_on_commit=False)


def _store(
    factory: sessionmaker[Session], view: View, event_id: int, now: datetime, body: str, viewed: datetime
) -> None:
    values = {
        "key": view.key,
        "board": view.board,
        "day": view.day,
        "period_start": view.where.start,
        "period_end": view.where.end,
        "filtered": view.where.key()[2:] != ((),) * 6,
        "reader_id": view.reader_id,
        "zone": view.zone,
        "event_id": event_id,
        "computed_at": now,
        "viewed_at": viewed,
        "body": body,
    }
    changed = {k: values[k] for k in ("event_id", "computed_at", "viewed_at", "body")}
    try:
        with transaction(factory) as session:
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            statement = insert(DashboardSnapshot).values(values)
            session.execute(statement.on_conflict_do_update(index_elements=["key"], set_=changed))
    except OperationalError:
        # Sharing is an optimisation: a view that could not be stored (the database busy) is still shown.
        log.warning("dashboard snapshot %s could not be stored", view.board, exc_info=True)


def shared(
    session: Session,
    view: View,
    now: datetime,
    compute: Callable[[], str],
    parse: Callable[[str], T],
    *,
    mark: tuple[str, int],
) -> tuple[datetime, T]:
    """When the view was computed and its parsed body, from this process's cache, the table, or
    ``compute`` (then stored for the other processes)."""
    found = CACHE.get(view.key, mark, now)
    if found is not MISSING:
        return found
    row = session.get(DashboardSnapshot, view.key)
    if row is not None and _valid(row, mark[1], now):
        if now - row.viewed_at >= TOUCH_EVERY:
            _touch(_writer(session), view.key, now)
        value = (row.computed_at, parse(row.body))
        CACHE.put(view.key, (mark[0], row.event_id), row.computed_at, value)
        return value
    body = compute()
    _store(_writer(session), view, mark[1], now, body, now)
    value = (now, parse(body))
    CACHE.put(view.key, mark, now, value)
    return value


def _touch(factory: sessionmaker[Session], key: str, now: datetime) -> None:
    try:
        with transaction(factory) as session:
            session.execute(
                update(DashboardSnapshot).where(DashboardSnapshot.key == key).values(viewed_at=now)
            )
    except OperationalError:
        log.warning("dashboard snapshot's view time not recorded", exc_info=True)


def board_panels(
    session: Session,
    board: Dashboard,
    where: DashboardFilter,
    user: User | None,
    now: datetime,
    zone: ZoneInfo,
) -> tuple[datetime, list[Panel]]:
    """When the view was computed, and its panels."""
    view = view_of(board, where, user, zone, now)

    def compute() -> str:
        return encode(board.build(session, where, user, now, zone))

    return shared(session, view, now, compute, decode, mark=watermark(session))


def period_tags(session: Session, where: DashboardFilter, now: datetime) -> tuple[str, ...]:
    """The tags a ticket dashboard's filter offers for the period (see ``PeriodData.visible_tags``)."""
    view = View(TAGS, DashboardFilter(where.start, where.end), None, "", now.date())

    def compute() -> str:
        return json.dumps(period_data(session, where, now).visible_tags())

    def parse(body: str) -> tuple[str, ...]:
        return tuple(json.loads(body))

    return shared(session, view, now, compute, parse, mark=watermark(session))[1]


def shared_work(session: Session, where: DashboardFilter, now: datetime) -> Work:
    """The productivity dashboard's numbers that are the same for every reader (all but QA), shared
    like a view, so a reader's first productivity view costs the QA query, not the engine."""
    from opsdesk.insights.dashboards.productivity import Work, period_work

    view = View(WORK, where, None, "", now.date())

    def compute() -> str:
        return period_work(session, where, now=now).to_json()

    return shared(session, view, now, compute, Work.from_json, mark=watermark(session))[1]


def refresh(factory: sessionmaker[Session], now: datetime) -> list[str]:
    """Compute the default period's views that are missing or out of date (as a page would judge
    them), store them, and drop views of past days and personal views nobody looked at for a week;
    the boards computed."""
    today = now.date()
    start, end = default_period(today)
    default = DashboardFilter(start, end)
    personal = or_(DashboardSnapshot.reader_id.is_not(None), DashboardSnapshot.zone != "")
    done: list[str] = []
    with transaction(factory, write=False) as session:
        mark = watermark(session)
        # (view, when its reader last looked at it): the same for every reader, or personal and recent.
        wanted: list[tuple[View, datetime | None]] = [
            (View(name, default, None, "", today), None) for name in (TAGS, WORK)
        ]
        wanted += [
            (View(b.name, default, None, "", today), None)
            for b in DASHBOARDS.values()
            if not (b.per_reader or b.per_zone)
        ]
        recent = session.execute(
            select(
                DashboardSnapshot.board,
                DashboardSnapshot.reader_id,
                DashboardSnapshot.zone,
                func.max(DashboardSnapshot.viewed_at),
            )
            .where(
                personal,
                DashboardSnapshot.filtered.is_(False),
                DashboardSnapshot.viewed_at >= now - KEEP_VIEWED,
            )
            .group_by(DashboardSnapshot.board, DashboardSnapshot.reader_id, DashboardSnapshot.zone)
        ).all()
        wanted += [
            (View(name, default, reader_id, zone, today), viewed)
            for name, reader_id, zone, viewed in recent
            if name in DASHBOARDS
        ]
        for view, viewed in wanted:
            row = session.get(DashboardSnapshot, view.key)
            if row is not None and _valid(row, mark[1], now):
                continue
            body = _compute(session, view, now)
            if body is not None:
                _store(_writer(session), view, mark[1], now, body, viewed or now)
                done.append(view.board)
    with transaction(factory) as session:
        session.execute(
            delete(DashboardSnapshot).where(
                or_(
                    and_(DashboardSnapshot.day < today, or_(~personal, DashboardSnapshot.filtered)),
                    and_(personal, DashboardSnapshot.viewed_at < now - KEEP_VIEWED),
                )
            )
        )
    return done


def _compute(session: Session, view: View, now: datetime) -> str | None:
    if view.board == TAGS:
        return json.dumps(period_data(session, view.where, now).visible_tags())
    if view.board == WORK:
        from opsdesk.insights.dashboards.productivity import period_work

        return period_work(session, view.where, now=now).to_json()
    board = DASHBOARDS[view.board]
    reader = session.get(User, view.reader_id) if view.reader_id is not None else None
    if board.per_reader and (reader is None or not reader.active):
        return None
    zone = ZoneInfo(view.zone or "UTC")
    return encode(board.build(session, view.where, reader, now, zone))
