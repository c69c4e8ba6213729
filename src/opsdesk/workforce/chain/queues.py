"""Link 4a: the queues a month's volume is staffed in, one Erlang model per queue.

The demand mix divides each channel's volume into parts (skill, language). Skills are always queues of
their own (an L2 engineer's work is not an advocate's). Within a skill, each language is decided by
opsdesk.workforce.scheduling.plan_language_queues: the language with the most work anchors the skill's
shared queue; another language gets its own queue when that queue would keep its agents at least
`min_own_queue_occupancy` busy at the channel's service level, otherwise it is pooled with the anchor
and staffed by multilingual agents. A part whose language is left open ("any") is the anchor's work.

The agents of every queue are added over the channels per part (agents are shared across channels), and
each decision is kept with its numbers so the plan can say which languages got a queue and why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opsdesk.workforce.channels import Channel
from opsdesk.workforce.scheduling.language_queues import plan_language_queues
from opsdesk.workforce.sites import DemandShare
from opsdesk.workforce.staffing import StaffingTargets, staff_intervals

ANY_LANGUAGE = "any"

PartKey = tuple[str | None, str | None]  # (skill, language); None: any


@dataclass(frozen=True)
class QueuedRequirement:
    by_part: dict[PartKey, np.ndarray]  # scheduled agents per interval, added over the channels
    by_channel: dict[str, np.ndarray]  # scheduled agents per interval, added over the parts
    decisions: list[dict[str, Any]]  # one per (channel, skill, language) where a skill has languages


def skill_languages(mix: Sequence[DemandShare]) -> dict[str | None, dict[str | None, float]]:
    """Share of the volume per skill and language, in the mix's order."""
    shares: dict[str | None, dict[str | None, float]] = defaultdict(dict)
    for demand in mix:
        languages = shares[demand.skill]
        languages[demand.language] = languages.get(demand.language, 0.0) + demand.share
    return dict(shares)


def queue_requirement(
    grid: pd.DatetimeIndex,
    volume: dict[str, np.ndarray],
    targets: dict[Channel, StaffingTargets],
    mix: Sequence[DemandShare],
    *,
    min_own_queue_occupancy: float,
) -> QueuedRequirement:
    """Scheduled agents per demand part for one week of volume per channel, and the queue decisions."""
    by_part: dict[PartKey, np.ndarray] = {}
    by_channel: dict[str, np.ndarray] = {}
    decisions: list[dict[str, Any]] = []
    zero = np.zeros(len(grid), dtype=np.int64)
    for channel_name, week in volume.items():
        channel = Channel(channel_name)
        total = zero.copy()
        for skill, languages in skill_languages(mix).items():
            if len(languages) == 1:
                (language,) = languages
                agents = staff_intervals(
                    {"timestamp": grid, "volume": np.round(week * languages[language], 2)}, targets[channel]
                )["scheduled_agents"].to_numpy(dtype=np.int64)
                by_part[(skill, language)] = by_part.get((skill, language), zero) + agents
                total += agents
                continue
            named = {language or ANY_LANGUAGE: share for language, share in languages.items()}
            queues = plan_language_queues(
                grid,
                {label: np.round(week * share, 2) for label, share in named.items()},
                targets[channel],
                skill=skill,
                min_occupancy=min_own_queue_occupancy,
            )
            for part, agents in zip(queues.parts, queues.required, strict=True):
                key = (skill, None if part.language == ANY_LANGUAGE else part.language)
                by_part[key] = by_part.get(key, zero) + agents.astype(np.int64)
                total += agents.astype(np.int64)
            decisions.extend(
                {
                    "channel": channel_name,
                    "skill": skill,
                    "language": d.language,
                    "queue": d.queue,
                    "workload_erlangs": round(d.workload_erlangs, 3),
                    "own_queue_occupancy": round(d.own_queue_occupancy, 3),
                    "reason": d.reason,
                }
                for d in queues.decisions
            )
        by_channel[channel_name] = total
    return QueuedRequirement(by_part=by_part, by_channel=by_channel, decisions=decisions)
