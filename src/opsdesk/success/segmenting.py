"""Segment writes: the default covered-lives bands, segments added or changed, and each account placed in
the segment its rules (and, for a parent, its family's covered lives) select. Runs in the caller's
transaction (flush, never commit)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.success import published, queries
from opsdesk.success.models import Account, Segment
from opsdesk.success.segments import DEFAULT_BANDS, SegmentRules, matching_segment, validate_rules


def ensure_default_segments(session: Session, *, clock: Clock) -> list[Segment]:
    """Create the five covered-lives bands when no segment exists yet."""
    existing = queries.segments(session)
    if existing:
        return existing
    for band in DEFAULT_BANDS:
        session.add(Segment(name=band.name, priority=band.priority, rules=band.rules, created_at=clock.now()))
    session.flush()
    return queries.segments(session)


def create_segment(
    session: Session, *, name: str, rules: list[dict[str, Any]], priority: int, clock: Clock
) -> Segment:
    """Add a segment and re-segment every account, since the new rules may claim some of them."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a segment needs a name", field="name")
    if session.scalar(select(Segment.id).where(Segment.name == name)) is not None:
        raise Conflict(f"a segment named {name!r} already exists", field="name")
    segment = Segment(name=name, priority=priority, rules=validate_rules(rules), created_at=clock.now())
    session.add(segment)
    session.flush()
    resegment(session, session.scalars(select(Account)).all(), clock=clock)
    return segment


def update_segment(
    session: Session,
    *,
    segment: Segment,
    clock: Clock,
    rules: list[dict[str, Any]] | None = None,
    priority: int | None = None,
) -> Segment:
    """Change a segment's rules or priority and re-segment every account under the new rules."""
    if rules is not None:
        segment.rules = validate_rules(rules)
    if priority is not None:
        segment.priority = priority
    session.flush()
    resegment(session, session.scalars(select(Account)).all(), clock=clock)
    return segment


def family_lives(account: Account) -> int:
    """The covered lives of an account and every account below it. An employer's parent record often
    holds no lives of its own (its subsidiaries do): segmented on its own zero it fell in no segment."""
    total, seen, stack = 0, set(), [account]
    while stack:
        current = stack.pop()
        if id(current) in seen:  # a cycle would be a data error; count each account once
            continue
        seen.add(id(current))
        total += current.covered_lives or 0
        stack.extend(current.children)
    return total


def _attributes(account: Account) -> dict[str, Any]:
    return {
        "covered_lives": family_lives(account),
        "industry": account.industry,
        "region": account.region,
        "stage": account.stage.value,
        "name": account.name,
        "owner_email": account.owner.email if account.owner else None,
    }


def _with_ancestors(accounts: Iterable[Account]) -> list[Account]:
    """The accounts and every parent above them, once each: a child's lives count in its parents'."""
    found: dict[int, Account] = {}  # by identity: a new account has no id yet
    for account in accounts:
        current: Account | None = account
        while current is not None and id(current) not in found:
            found[id(current)] = current
            current = current.parent
    return list(found.values())


def resegment(session: Session, accounts: Iterable[Account], *, clock: Clock, record: bool = True) -> None:
    """Recompute the rule-based segment of each account and of its parents (segmented on their family's
    covered lives), recording the ones that move (a new account's segment is part of its creation event
    instead)."""
    rows = queries.segments(session)
    rules = [SegmentRules(s.name, s.priority, s.rules) for s in rows]
    by_name = {s.name: s for s in rows}
    given = list(accounts)
    named = {id(account) for account in given}
    for account in _with_ancestors(given):
        name = matching_segment(rules, _attributes(account))
        new_id = by_name[name].id if name else None
        if new_id != account.segment_id:
            old = account.segment.name if account.segment else None
            account.segment_id = new_id
            account.segment = by_name[name] if name else None
            published.publish(
                session, account, clock=clock, **{published.SEGMENT: published.segment_name(account)}
            )
            if record or id(account) not in named:  # a parent's move is always recorded
                append_event(
                    session,
                    subject_type="account",
                    subject_id=account.id,
                    type="account_segment_changed",
                    at=clock.now(),
                    data={"from": old, "to": name},
                )


def segment_by_name(session: Session, name: str) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is None:
        known = ", ".join(s.name for s in queries.segments(session))
        raise ValidationFailed(f"unknown segment {name!r} (known: {known})", field="segment")
    return segment
