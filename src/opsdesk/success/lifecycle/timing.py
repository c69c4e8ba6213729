"""Time in stage and time to launch, from the stage-change history alone (pure).

An account's history is its creation (in some stage, since a day) and its dated stage changes. Each
stage it passed through is a *spell* from the day it entered to the day it left; the running spell
ends today. Time to launch is the length of the implementation that ended in launch (or straight in
adoption: the customer went live): the latest one, for a customer that came back after churning.

Segment medians use finished spells only: a spell still running is a lower bound, and mixing lower
bounds into a median understates it; the number still running is reported beside it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from statistics import median

from opsdesk.success.models import Stage

LIVE = (Stage.LAUNCH, Stage.ADOPTION)


@dataclass(frozen=True)
class Entered:
    """An account entered ``stage`` on ``on``; ``seq`` orders entries on the same day (the event id)."""

    account_id: int
    stage: Stage
    on: date
    seq: int = 0


@dataclass(frozen=True)
class Spell:
    account_id: int
    stage: Stage
    start: date
    end: date | None  # None: still in the stage

    def days(self, today: date) -> int:
        return ((self.end or today) - self.start).days


def spells(entries: Iterable[Entered]) -> dict[int, list[Spell]]:
    """Each account's spells in order. An entry dated before the one it follows (a change back-dated
    past an earlier one) is placed by its date; a repeated stage continues the running spell."""
    by_account: dict[int, list[Entered]] = defaultdict(list)
    for entry in entries:
        by_account[entry.account_id].append(entry)
    out: dict[int, list[Spell]] = {}
    for account_id, rows in by_account.items():
        rows.sort(key=lambda e: (e.on, e.seq))
        kept: list[Entered] = []
        for entry in rows:
            if kept and kept[-1].stage is entry.stage:
                continue
            kept.append(entry)
        out[account_id] = [
            Spell(account_id, e.stage, e.on, kept[n + 1].on if n + 1 < len(kept) else None)
            for n, e in enumerate(kept)
        ]
    return out


def time_to_launch(history: list[Spell]) -> int | None:
    """Days of the latest implementation that ended with the customer live, or None."""
    for spell, after in zip(reversed(history[:-1]), reversed(history[1:]), strict=True):
        if spell.stage is Stage.IMPLEMENTATION and after.stage in LIVE and spell.end is not None:
            return (spell.end - spell.start).days
    return None


@dataclass(frozen=True)
class AccountTiming:
    account_id: int
    stage: Stage | None
    since: date | None
    days_in_stage: int | None
    days_by_stage: dict[Stage, int]  # total days in each stage, the running spell up to today
    time_to_launch: int | None
    implementing_for: int | None  # days into an implementation not finished yet


def account_timing(account_id: int, history: list[Spell], today: date) -> AccountTiming:
    totals: dict[Stage, int] = defaultdict(int)
    for spell in history:
        totals[spell.stage] += max(0, spell.days(today))
    current = history[-1] if history else None
    running = current is not None and current.stage is Stage.IMPLEMENTATION
    return AccountTiming(
        account_id=account_id,
        stage=current.stage if current else None,
        since=current.start if current else None,
        days_in_stage=max(0, current.days(today)) if current else None,
        days_by_stage=dict(totals),
        time_to_launch=time_to_launch(history),
        implementing_for=max(0, current.days(today)) if running and current else None,
    )


@dataclass
class SegmentTiming:
    segment: str
    accounts: int = 0
    median_days: dict[Stage, float | None] = field(default_factory=dict)  # finished spells only
    finished: dict[Stage, int] = field(default_factory=dict)
    running: dict[Stage, int] = field(default_factory=dict)
    median_time_to_launch: float | None = None
    launched: int = 0


def segment_timing(
    histories: Mapping[int, list[Spell]], segment_of: Mapping[int, str]
) -> list[SegmentTiming]:
    """Per segment (in name order) of the accounts in ``segment_of``."""
    finished: dict[str, dict[Stage, list[int]]] = defaultdict(lambda: defaultdict(list))
    running: dict[str, dict[Stage, int]] = defaultdict(lambda: defaultdict(int))
    launches: dict[str, list[int]] = defaultdict(list)
    accounts: dict[str, int] = defaultdict(int)
    for account_id, segment in segment_of.items():
        history = histories.get(account_id, [])
        accounts[segment] += 1
        for spell in history:
            if spell.end is None:
                running[segment][spell.stage] += 1
            elif spell.end >= spell.start:
                finished[segment][spell.stage].append((spell.end - spell.start).days)
        launch = time_to_launch(history)
        if launch is not None and launch >= 0:
            launches[segment].append(launch)
    rows = []
    for segment in sorted(accounts):
        spans = finished[segment]
        rows.append(
            SegmentTiming(
                segment=segment,
                accounts=accounts[segment],
                median_days={s: float(median(spans[s])) if spans[s] else None for s in Stage},
                finished={s: len(spans[s]) for s in Stage},
                running={s: running[segment][s] for s in Stage},
                median_time_to_launch=float(median(launches[segment])) if launches[segment] else None,
                launched=len(launches[segment]),
            )
        )
    return rows
