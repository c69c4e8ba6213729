"""Which conversations each reviewer reviews in a week, and why.

Per week: first a random ``per_agent`` of each active agent's conversations (stratified by agent, so
every agent who worked that week is covered), then the targeted samples, each rule taking up to its
quota of the conversations that meet it and were not already picked. Each pick goes to the least
loaded reviewer allowed to read it (sensitive conversations only to reviewers with sensitive access);
a pick nobody may read is reported, not given to someone who may not.

Reproducible: the same candidates, reviewers, rules and seed give the same queues (every random draw
is seeded by the seed, the week and the stratum, so adding a week does not reshuffle the others).
Pure: plain values in and out.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

RANDOM = "random"
LOW_CSAT = "low_csat"
LONG_HANDLE = "long_handle"
ESCALATED = "escalated"
REOPENED = "reopened"
SLA_BREACHED = "sla_breached"
TARGETED = (LOW_CSAT, LONG_HANDLE, ESCALATED, REOPENED, SLA_BREACHED)


@dataclass(frozen=True)
class Candidate:
    """One agent's work on one ticket in one week, with the facts the targeted rules look at."""

    ticket_id: int
    agent_id: int
    week: date
    sensitive: bool = False
    csat: str | None = None  # the latest rating: "good" or "bad"
    handle_seconds: float | None = None
    escalated: bool = False
    reopened: int = 0
    sla_breaches: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reviewer:
    id: int
    sensitive_access: bool = False


@dataclass(frozen=True)
class Rules:
    per_agent: int = 2
    long_handle_seconds: float = 30 * 60
    # Per week, how many of each targeted rule's conversations to add.
    targeted: dict[str, int] = field(
        default_factory=lambda: {LOW_CSAT: 3, LONG_HANDLE: 2, ESCALATED: 2, REOPENED: 2, SLA_BREACHED: 2}
    )


@dataclass(frozen=True)
class Pick:
    candidate: Candidate
    reason: str
    why: str
    reviewer_id: int | None  # None: no reviewer may read it


def meets(candidate: Candidate, reason: str, rules: Rules) -> str | None:
    """Why ``candidate`` meets the targeted rule ``reason``, or None when it does not."""
    if reason == LOW_CSAT and candidate.csat == "bad":
        return "the customer rated it bad"
    if (
        reason == LONG_HANDLE
        and candidate.handle_seconds is not None
        and candidate.handle_seconds > rules.long_handle_seconds
    ):
        return (
            f"handled for {candidate.handle_seconds / 60:.0f} min (over {rules.long_handle_seconds / 60:.0f})"
        )
    if reason == ESCALATED and candidate.escalated:
        return "escalated to L2"
    if reason == REOPENED and candidate.reopened:
        return f"reopened {candidate.reopened} time{'s' if candidate.reopened > 1 else ''}"
    if reason == SLA_BREACHED and candidate.sla_breaches:
        return f"SLA breached ({', '.join(candidate.sla_breaches)})"
    return None


def sample(
    candidates: Sequence[Candidate], reviewers: Sequence[Reviewer], rules: Rules, *, seed: int
) -> list[Pick]:
    for reason in rules.targeted:
        if reason not in TARGETED:
            raise ValueError(f"no targeted rule {reason!r}; rules are {', '.join(TARGETED)}")
    weeks: dict[date, list[Candidate]] = {}
    for candidate in sorted(candidates, key=lambda c: (c.week, c.agent_id, c.ticket_id)):
        weeks.setdefault(candidate.week, []).append(candidate)
    picks: list[Pick] = []
    for week, work in sorted(weeks.items()):
        picks.extend(_sample_week(week, work, reviewers, rules, seed))
    return picks


def _sample_week(
    week: date, work: list[Candidate], reviewers: Sequence[Reviewer], rules: Rules, seed: int
) -> list[Pick]:
    chosen: list[tuple[Candidate, str, str]] = []
    taken: set[tuple[int, int]] = set()
    by_agent: dict[int, list[Candidate]] = {}
    for candidate in work:
        by_agent.setdefault(candidate.agent_id, []).append(candidate)
    for agent_id, theirs in sorted(by_agent.items()):
        draw = random.Random(f"{seed}:{week.isoformat()}:agent:{agent_id}")
        for candidate in draw.sample(theirs, min(rules.per_agent, len(theirs))):
            chosen.append((candidate, RANDOM, f"random pick for the agent ({len(theirs)} this week)"))
            taken.add((candidate.ticket_id, candidate.agent_id))
    for reason in TARGETED:
        quota = rules.targeted.get(reason, 0)
        eligible = [
            (c, why)
            for c in work
            if (c.ticket_id, c.agent_id) not in taken and (why := meets(c, reason, rules)) is not None
        ]
        draw = random.Random(f"{seed}:{week.isoformat()}:{reason}")
        for candidate, why in draw.sample(eligible, min(quota, len(eligible))):
            chosen.append((candidate, reason, why))
            taken.add((candidate.ticket_id, candidate.agent_id))
    return _assign(chosen, reviewers)


def _assign(chosen: list[tuple[Candidate, str, str]], reviewers: Sequence[Reviewer]) -> list[Pick]:
    load = {r.id: 0 for r in reviewers}
    picks = []
    # Sensitive work first: fewer reviewers may take it, so it gets first claim on their time.
    for candidate, reason, why in sorted(chosen, key=lambda item: not item[0].sensitive):
        allowed = [
            r
            for r in reviewers
            if r.id != candidate.agent_id and (r.sensitive_access or not candidate.sensitive)
        ]
        reviewer = min(allowed, key=lambda r: (load[r.id], r.id)) if allowed else None
        if reviewer is not None:
            load[reviewer.id] += 1
        picks.append(Pick(candidate, reason, why, reviewer.id if reviewer is not None else None))
    return picks
