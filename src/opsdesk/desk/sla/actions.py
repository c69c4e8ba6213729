"""Writes on SLA policies and business-hours schedules; each leaves an audit row in the same transaction.

Policy and schedule changes reach a ticket's SLA the next time the ticket changes or falls due (as in
Zendesk); they never rewrite history, because a schedule change is a new version from a given instant.
Every write here bumps the "sla" configuration version, which is how each process's policy cache learns
of it: a write that skipped the bump would go unseen by processes that cached the policies before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import audit
from opsdesk.core.clock import Clock
from opsdesk.core.config_versions import bump_version
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.jobs import enqueue
from opsdesk.core.models import User
from opsdesk.desk.models import Channel, Priority, Status
from opsdesk.desk.sla.business_hours import BusinessHours, format_wall_time
from opsdesk.desk.sla.jobs import REFRESH_NAME
from opsdesk.desk.sla.models import BusinessSchedule, BusinessScheduleVersion, SlaPolicy
from opsdesk.desk.sla.policies import METRICS, normalise_tag
from opsdesk.desk.sla.policy_cache import SLA_CONFIG

PAUSABLE_STATUSES = (Status.PENDING.value, Status.ON_HOLD.value)
MAX_TARGET_MINUTES = 366 * 24 * 60


def _hours(
    timezone: str, intervals: Sequence[Mapping[str, Any]], holidays: Sequence[str | date], always_open: bool
) -> BusinessHours:
    return BusinessHours.from_spec(
        timezone=timezone, intervals=intervals, holidays=holidays, always_open=always_open
    )


def _version(
    schedule: BusinessSchedule, hours: BusinessHours, effective_from: datetime, now: datetime
) -> None:
    """Stores hours in the canonical shape, so what is read back is what the calendar used."""
    schedule.versions.append(
        BusinessScheduleVersion(
            effective_from=effective_from,
            timezone=hours.timezone,
            always_open=hours.always_open,
            intervals=[
                {"weekday": i.weekday, "start": format_wall_time(i.start), "end": format_wall_time(i.end)}
                for i in hours.intervals
            ],
            holidays=sorted(d.isoformat() for d in hours.holidays),
            created_at=now,
        )
    )


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("a name is required", field="name")
    if len(name) > 100:
        raise ValidationFailed("the name is longer than 100 characters", field="name")
    return name


def create_business_schedule(
    session: Session,
    *,
    name: str,
    timezone: str,
    intervals: Sequence[Mapping[str, Any]] = (),
    holidays: Sequence[str | date] = (),
    always_open: bool = False,
    actor: User | None,
    clock: Clock,
) -> BusinessSchedule:
    name = _check_name(name)
    hours = _hours(timezone, intervals, holidays, always_open)
    if session.scalar(select(BusinessSchedule.id).where(BusinessSchedule.name == name)) is not None:
        raise Conflict(f"a business schedule named {name!r} exists", field="name")
    now = clock.now()
    schedule = BusinessSchedule(name=name, created_at=now)
    _version(schedule, hours, now, now)
    session.add(schedule)
    session.flush()
    bump_version(session, SLA_CONFIG)
    audit.record(
        session,
        actor=actor,
        action="business_schedule.create",
        subject_type="business_schedule",
        subject_id=schedule.id,
        at=now,
        detail={"name": name, "timezone": hours.timezone},
    )
    return schedule


def change_business_hours(
    session: Session,
    *,
    schedule: BusinessSchedule,
    timezone: str,
    intervals: Sequence[Mapping[str, Any]] = (),
    holidays: Sequence[str | date] = (),
    always_open: bool = False,
    effective_from: datetime | None = None,
    actor: User | None,
    clock: Clock,
) -> BusinessSchedule:
    """New hours from ``effective_from`` (now by default, never in the past: durations already measured
    keep the hours they were measured with)."""
    now = clock.now()
    effective_from = effective_from or now
    if effective_from.tzinfo is None:
        raise ValidationFailed("effective_from needs a time zone", field="effective_from")
    if effective_from < now:
        raise ValidationFailed("new hours cannot take effect in the past", field="effective_from")
    if any(v.effective_from == effective_from for v in schedule.versions):
        raise Conflict("the schedule already changes at that instant", field="effective_from")
    _version(schedule, _hours(timezone, intervals, holidays, always_open), effective_from, now)
    session.flush()
    bump_version(session, SLA_CONFIG)
    audit.record(
        session,
        actor=actor,
        action="business_schedule.change",
        subject_type="business_schedule",
        subject_id=schedule.id,
        at=now,
        detail={"effective_from": effective_from.isoformat(), "timezone": timezone},
    )
    _refresh_tickets_later(session, clock, delay=effective_from - now)
    return schedule


def _check_targets(targets: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    clean: dict[str, dict[str, int]] = {}
    for priority, metrics in targets.items():
        if priority not in Priority.__members__.values():
            raise ValidationFailed(f"unknown priority {priority!r}", field="targets")
        if not isinstance(metrics, Mapping):
            raise ValidationFailed(f"targets for {priority} must map metrics to minutes", field="targets")
        clean[priority] = {}
        for metric, minutes in metrics.items():
            where = f"targets.{priority}.{metric}"
            if metric not in METRICS:
                known = ", ".join(METRICS)
                raise ValidationFailed(f"unknown metric {metric!r}; use one of {known}", field=where)
            if minutes is None:
                continue
            whole = isinstance(minutes, int) and not isinstance(minutes, bool)
            if not whole or not 0 < minutes <= MAX_TARGET_MINUTES:
                raise ValidationFailed("a target is a whole number of minutes, at least 1", field=where)
            clean[priority][metric] = minutes
    if not any(clean.values()):
        raise ValidationFailed("a policy needs at least one target", field="targets")
    return clean


def _check_values(values: Sequence[str], allowed: Sequence[str], field: str) -> list[str]:
    for value in values:
        if value not in allowed:
            raise ValidationFailed(f"{value!r} is not one of {', '.join(allowed)}", field=field)
    return sorted(set(values), key=list(allowed).index)


def _conditions(
    priorities: Sequence[str], channels: Sequence[str], customer_tags: Sequence[str], pausing: Sequence[str]
) -> dict[str, list[str]]:
    return {
        "priorities": _check_values(priorities, [p.value for p in Priority], "priorities"),
        "channels": _check_values(channels, [c.value for c in Channel], "channels"),
        "customer_tags": sorted({normalise_tag(t) for t in customer_tags if t.strip()}),
        "pausing_statuses": _check_values(pausing, PAUSABLE_STATUSES, "pausing_statuses"),
    }


def _check_unique_name(session: Session, name: str, policy: SlaPolicy | None = None) -> str:
    name = _check_name(name)
    clash = session.scalar(select(SlaPolicy).where(SlaPolicy.name == name))
    if clash is not None and clash is not policy:
        raise Conflict(f"an SLA policy named {name!r} exists", field="name")
    return name


def _place(session: Session, policy: SlaPolicy, position: int | None) -> None:
    """Puts ``policy`` at ``position`` (the end when None) and renumbers the list 0..n-1."""
    others = [
        p
        for p in session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id))
        if p is not policy
    ]
    if position is None:
        position = len(others)
    if not 0 <= position <= len(others):
        raise ValidationFailed(f"position must be 0 to {len(others)}", field="position")
    others.insert(position, policy)
    for index, item in enumerate(others):
        item.position = index


def _refresh_tickets_later(session: Session, clock: Clock, delay: timedelta | None = None) -> None:
    """Due times of tickets in flight depend on the policies and hours: recompute them in the background
    once this change commits (or when new hours take effect)."""
    enqueue(session, REFRESH_NAME, clock=clock, delay=delay)


def create_sla_policy(
    session: Session,
    *,
    name: str,
    targets: Mapping[str, Any],
    priorities: Sequence[str] = (),
    channels: Sequence[str] = (),
    customer_tags: Sequence[str] = (),
    schedule: BusinessSchedule | None = None,
    pausing_statuses: Sequence[str] = (Status.PENDING.value,),
    position: int | None = None,
    active: bool = True,
    actor: User | None,
    clock: Clock,
) -> SlaPolicy:
    """Adds a policy at ``position`` (0 = first; the end of the list by default), moving later ones down."""
    now = clock.now()
    policy = SlaPolicy(
        name=_check_unique_name(session, name),
        position=0,
        active=active,
        targets=_check_targets(targets),
        schedule=schedule,
        created_at=now,
        updated_at=now,
        **_conditions(priorities, channels, customer_tags, pausing_statuses),
    )
    _place(session, policy, position)
    session.add(policy)
    session.flush()
    bump_version(session, SLA_CONFIG)
    audit.record(
        session,
        actor=actor,
        action="sla_policy.create",
        subject_type="sla_policy",
        subject_id=policy.id,
        at=now,
        detail={"name": policy.name, "position": policy.position},
    )
    _refresh_tickets_later(session, clock)
    return policy


class _Keep:
    """Marks an argument that was not given, so None can mean "24x7" for the schedule."""


KEEP: Final = _Keep()


def update_sla_policy(
    session: Session,
    *,
    policy: SlaPolicy,
    actor: User | None,
    clock: Clock,
    name: str | _Keep = KEEP,
    targets: Mapping[str, Any] | _Keep = KEEP,
    priorities: Sequence[str] | _Keep = KEEP,
    channels: Sequence[str] | _Keep = KEEP,
    customer_tags: Sequence[str] | _Keep = KEEP,
    schedule: BusinessSchedule | _Keep | None = KEEP,
    pausing_statuses: Sequence[str] | _Keep = KEEP,
    position: int | _Keep = KEEP,
    active: bool | _Keep = KEEP,
) -> SlaPolicy:
    """Changes what is given and leaves the rest."""
    changed: list[str] = []
    if not isinstance(name, _Keep):
        policy.name = _check_unique_name(session, name, policy)
        changed.append("name")
    if not isinstance(targets, _Keep):
        policy.targets = _check_targets(targets)
        changed.append("targets")
    conditions = _conditions(
        policy.priorities if isinstance(priorities, _Keep) else priorities,
        policy.channels if isinstance(channels, _Keep) else channels,
        policy.customer_tags if isinstance(customer_tags, _Keep) else customer_tags,
        policy.pausing_statuses if isinstance(pausing_statuses, _Keep) else pausing_statuses,
    )
    for field_name, value in conditions.items():
        if value != getattr(policy, field_name):
            setattr(policy, field_name, value)
            changed.append(field_name)
    if not isinstance(schedule, _Keep):
        policy.schedule = schedule
        changed.append("schedule")
    if not isinstance(active, _Keep):
        policy.active = active
        changed.append("active")
    if not isinstance(position, _Keep):
        _place(session, policy, position)
        changed.append("position")
    now = clock.now()
    policy.updated_at = now
    session.flush()
    bump_version(session, SLA_CONFIG)
    audit.record(
        session,
        actor=actor,
        action="sla_policy.update",
        subject_type="sla_policy",
        subject_id=policy.id,
        at=now,
        detail={"changed": changed},
    )
    _refresh_tickets_later(session, clock)
    return policy


def delete_sla_policy(session: Session, *, policy: SlaPolicy, actor: User | None, clock: Clock) -> None:
    """Removes a policy; its recorded breaches stay in the event log, which keeps its id."""
    session.delete(policy)
    session.flush()
    for index, item in enumerate(
        session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id))
    ):
        item.position = index
    bump_version(session, SLA_CONFIG)
    audit.record(
        session,
        actor=actor,
        action="sla_policy.delete",
        subject_type="sla_policy",
        subject_id=policy.id,
        at=clock.now(),
        detail={"name": policy.name},
    )
    _refresh_tickets_later(session, clock)


def delete_business_schedule(
    session: Session, *, schedule: BusinessSchedule, actor: User | None, clock: Clock
) -> None:
    users = session.scalars(select(SlaPolicy.name).where(SlaPolicy.schedule_id == schedule.id)).all()
    if users:
        raise Conflict(
            f"policies {', '.join(users)} use this schedule; change them first", field="schedule_id"
        )
    session.delete(schedule)
    session.flush()
    bump_version(session, SLA_CONFIG)
    audit.record(
        session,
        actor=actor,
        action="business_schedule.delete",
        subject_type="business_schedule",
        subject_id=schedule.id,
        at=clock.now(),
        detail={"name": schedule.name},
    )
