"""The pure rules of relationship NPS: scoring answers, and which contacts a schedule asks today.

NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100; passives (7-8) count only in the
total. A contact is asked when its role is on its account's schedule, it has an address, and it was
not asked within the schedule's period (so a missed run catches up, and nobody is asked twice)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.core.errors import ValidationFailed


class Category(enum.StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


def category(score: int) -> Category:
    if not 0 <= score <= 10:
        raise ValidationFailed("an NPS score is a whole number from 0 to 10", field="score")
    return Category.PROMOTER if score >= 9 else Category.PASSIVE if score >= 7 else Category.DETRACTOR


@dataclass(frozen=True)
class NpsSummary:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> float | None:
        if not self.responses:
            return None
        return (self.promoters - self.detractors) * 100.0 / self.responses


def summarise(scores: Iterable[int]) -> NpsSummary:
    kinds = [category(s) for s in scores]
    return NpsSummary(
        responses=len(kinds),
        promoters=kinds.count(Category.PROMOTER),
        passives=kinds.count(Category.PASSIVE),
        detractors=kinds.count(Category.DETRACTOR),
    )


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    every: timedelta


@dataclass(frozen=True)
class Candidate:
    contact_id: int
    account_id: int
    segment_id: int | None
    role: str
    email: str | None


def rule_for(segment_id: int | None, rules: Mapping[int | None, Rule]) -> Rule | None:
    """The segment's own schedule, else the one without a segment (None when neither exists)."""
    if segment_id is not None and segment_id in rules:
        return rules[segment_id]
    return rules.get(None)


def due(
    candidates: Sequence[Candidate],
    rules: Mapping[int | None, Rule],
    last_asked: Mapping[int, datetime],
    now: datetime,
) -> list[Candidate]:
    """The contacts to invite now, in the order given."""
    out = []
    for c in candidates:
        rule = rule_for(c.segment_id, rules)
        if rule is None or c.role not in rule.roles or not c.email:
            continue
        asked = last_asked.get(c.contact_id)
        if asked is None or now - asked >= rule.every:
            out.append(c)
    return out
