"""Each process keeps the active rules compiled until they change (the "automation" configuration
version, bumped by every write to a rule, tells it when), so a ticket change evaluates its triggers
without reading or compiling them: one version read, which requests get for free with their
authentication (see ``core.config_versions``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from opsdesk.core.config_versions import bumped_in_transaction, read_version, ride_on_authentication
from opsdesk.desk.automation.conditions import Predicate, compile_conditions
from opsdesk.desk.automation.models import Rule, RuleKind
from opsdesk.desk.automation.rule_index import TriggerIndex, index_key

AUTOMATION_CONFIG = "automation"
ride_on_authentication(AUTOMATION_CONFIG)  # every ticket change consults the triggers


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    kind: RuleKind
    position: int
    once_per_ticket: bool
    matches: Predicate
    actions: Sequence[Mapping[str, Any]]
    index_key: tuple[str, str, tuple[Any, ...]] | None = None


def compile_rule(
    *,
    id: int,
    name: str,
    kind: RuleKind,
    position: int,
    once_per_ticket: bool,
    conditions: Mapping[str, Any],
    actions: Sequence[Mapping[str, Any]],
) -> CompiledRule:
    return CompiledRule(
        id=id,
        name=name,
        kind=kind,
        position=position,
        once_per_ticket=once_per_ticket,
        matches=compile_conditions(conditions),
        actions=tuple(actions),
        index_key=index_key(conditions),
    )


@dataclass(frozen=True)
class RuleSnapshot:
    version: int
    triggers: tuple[CompiledRule, ...]
    time_rules: tuple[CompiledRule, ...]
    trigger_index: TriggerIndex


_snapshots: WeakKeyDictionary[Engine, RuleSnapshot] = WeakKeyDictionary()
_lock = threading.Lock()


def _load(session: Session, version: int) -> RuleSnapshot:
    rows = session.scalars(
        select(Rule).where(Rule.active.is_(True)).order_by(Rule.kind, Rule.position, Rule.id)
    ).all()
    compiled = [
        compile_rule(
            id=r.id,
            name=r.name,
            kind=r.kind,
            position=r.position,
            once_per_ticket=r.once_per_ticket,
            conditions=r.conditions,
            actions=r.actions,
        )
        for r in rows
    ]
    triggers = tuple(c for c in compiled if c.kind is RuleKind.TRIGGER)
    return RuleSnapshot(
        version=version,
        triggers=triggers,
        time_rules=tuple(c for c in compiled if c.kind is RuleKind.TIME),
        trigger_index=TriggerIndex.build([t.index_key for t in triggers]),
    )


def rule_snapshot(session: Session) -> RuleSnapshot:
    """The active rules as this transaction sees them, from the cache when its version is current."""
    version = read_version(session, AUTOMATION_CONFIG)
    if bumped_in_transaction(session, AUTOMATION_CONFIG):
        return _load(session, version)
    engine = session.get_bind().engine
    snapshot = _snapshots.get(engine)
    if snapshot is not None and snapshot.version == version:
        return snapshot
    with _lock:
        snapshot = _snapshots.get(engine)
        if snapshot is None or snapshot.version != version:
            snapshot = _load(session, version)
            _snapshots[engine] = snapshot
    return snapshot
