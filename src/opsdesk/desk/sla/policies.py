"""Which SLA policy applies to a ticket: the first active one, in list order, whose conditions match
(Zendesk's rule, so policies imported from it behave the same)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

METRICS = ("first_reply", "next_reply", "resolution")


class Conditions(Protocol):
    """What decides whether a policy applies: a stored policy row, or the per-process cached copy."""

    @property
    def id(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def active(self) -> bool: ...
    @property
    def priorities(self) -> Collection[str]: ...
    @property
    def channels(self) -> Collection[str]: ...
    @property
    def customer_tags(self) -> Collection[str]: ...


PolicyT = TypeVar("PolicyT", bound=Conditions)


def normalise_tag(tag: str) -> str:
    """Ticket tags are stored lowercase with underscores; organisation tags and conditions are compared
    in the same form."""
    return re.sub(r"\s+", "_", tag.strip().lower())


@dataclass(frozen=True)
class TicketFacts:
    """What a policy condition can look at. ``customer_tags`` are the ticket's tags together with the
    requester organisation's tags."""

    priority: str
    channel: str
    customer_tags: frozenset[str]


def matches(policy: Conditions, facts: TicketFacts) -> bool:
    """Every non-empty condition must hold; within one condition any listed value is enough."""
    if policy.priorities and facts.priority not in policy.priorities:
        return False
    if policy.channels and facts.channel not in policy.channels:
        return False
    wanted = {normalise_tag(tag) for tag in policy.customer_tags}
    return not wanted or bool(facts.customer_tags & wanted)


def select_policy(policies: Iterable[PolicyT], facts: TicketFacts) -> PolicyT | None:
    ordered = sorted((p for p in policies if p.active), key=lambda p: (p.position, p.id))
    return next((p for p in ordered if matches(p, facts)), None)


def targets_for(targets: Mapping[str, Any], priority: str) -> dict[str, timedelta]:
    """The policy's targets for one priority, as durations; a metric without a target is left out."""
    minutes = targets.get(priority) or {}
    return {metric: timedelta(minutes=int(minutes[metric])) for metric in METRICS if minutes.get(metric)}
