"""Each process keeps the active SLA policies, with their calendars built, until they change.

Every ticket change looks up the policy that applies; reloading the policies, their schedules and
versions through the ORM and rebuilding the calendars cost more than the rest of the SLA refresh. The
policies change rarely, and every write to them bumps the "sla" configuration version in its own
transaction (``opsdesk.core.config_versions``), so one SELECT of that version tells whether the snapshot
held here is current, in this process and in any other serving the same database.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from opsdesk.core.config_versions import bumped_in_transaction, read_version, ride_on_authentication
from opsdesk.desk.sla.calendars import calendar_at_for
from opsdesk.desk.sla.metrics import CalendarAt
from opsdesk.desk.sla.models import BusinessSchedule, SlaPolicy
from opsdesk.desk.sla.policies import normalise_tag, targets_for

SLA_CONFIG = "sla"
"""The configuration version that every write to policies, schedules and their hours bumps."""
ride_on_authentication(SLA_CONFIG)  # ticket changes consult the policies: their version comes along


@dataclass(frozen=True)
class CachedPolicy:
    """An active policy as the clocks use it, shared by every session of the process (so immutable,
    and detached from any session). ``targets`` are by priority, as durations."""

    id: int
    name: str
    position: int
    priorities: frozenset[str]
    channels: frozenset[str]
    customer_tags: frozenset[str]
    targets: Mapping[str, Mapping[str, timedelta]]
    pausing_statuses: frozenset[str]
    schedule_id: int | None
    schedule_name: str | None
    calendar_at: CalendarAt

    @property
    def active(self) -> bool:
        """Only active policies are cached."""
        return True


@dataclass(frozen=True)
class PolicySnapshot:
    """The active policies in list order, as of configuration ``version``."""

    version: int
    policies: tuple[CachedPolicy, ...]

    @property
    def uses_tags(self) -> bool:
        """Whether any condition looks at customer tags (if none does, a ticket's tags need no load)."""
        return any(p.customer_tags for p in self.policies)


_ACTIVE_POLICIES = (
    select(SlaPolicy)
    .where(SlaPolicy.active.is_(True))
    .order_by(SlaPolicy.position, SlaPolicy.id)
    .options(selectinload(SlaPolicy.schedule).selectinload(BusinessSchedule.versions))
)
_lock = threading.Lock()
_snapshots: WeakKeyDictionary[Engine, PolicySnapshot] = WeakKeyDictionary()
loads = 0
"""Snapshots built by this process: tells a cache hit from a reload without timing anything."""


def policy_snapshot(session: Session) -> PolicySnapshot:
    """The active policies as this transaction sees them, from the cache when its version is current.

    The version is read before the policies are, and the snapshot is stored under it: a change
    committed in between makes the stored rows newer than their version, which costs one more reload
    later, never a stale snapshot under a newer version. The cache is per engine, so a process that uses
    several databases (the tests do) never mixes them up."""
    version = read_version(session, SLA_CONFIG)
    if bumped_in_transaction(session, SLA_CONFIG):
        return _load(session, version)  # rows no one else can see yet: used, never stored
    engine = session.get_bind().engine
    snapshot = _snapshots.get(engine)
    if snapshot is not None and snapshot.version == version:
        return snapshot
    with _lock:  # one thread reloads; the others wait for its snapshot instead of loading their own
        snapshot = _snapshots.get(engine)
        if snapshot is None or snapshot.version != version:
            snapshot = _load(session, version)
            _snapshots[engine] = snapshot
    return snapshot


def _load(session: Session, version: int) -> PolicySnapshot:
    global loads
    loads += 1
    calendars: dict[int | None, CalendarAt] = {}
    policies = []
    for row in session.scalars(_ACTIVE_POLICIES):
        if row.schedule_id not in calendars:
            calendars[row.schedule_id] = calendar_at_for(row.schedule)
        policies.append(
            CachedPolicy(
                id=row.id,
                name=row.name,
                position=row.position,
                priorities=frozenset(row.priorities),
                channels=frozenset(row.channels),
                customer_tags=frozenset(normalise_tag(t) for t in row.customer_tags),
                targets=MappingProxyType(
                    {p: MappingProxyType(targets_for(row.targets, p)) for p in row.targets}
                ),
                pausing_statuses=frozenset(row.pausing_statuses),
                schedule_id=row.schedule_id,
                schedule_name=row.schedule.name if row.schedule is not None else None,
                calendar_at=calendars[row.schedule_id],
            )
        )
    return PolicySnapshot(version, tuple(policies))
