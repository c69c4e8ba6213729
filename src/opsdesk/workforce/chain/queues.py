"""Link 4a: the queues a month's volume is staffed in, one Erlang model per queue.

The demand mix divides each channel's volume into parts (skill, language). Each part is decided by
opsdesk.workforce.scheduling.plan_language_queues: the part with the most work anchors the channel's
shared queue; another part gets its own queue when that queue would keep its agents at least
`min_own_queue_occupancy` busy at the channel's service level, otherwise it is pooled with the anchor:
one Erlang model on the pool's summed volume, whose agents are divided among its parts by workload and
still need the part's skill and language (multilingual agents, or L2 engineers who also take L1 work).

The agents of every queue are added over the channels per part (agents are shared across channels), and
each decision is kept with its numbers so the plan can say which parts got a queue and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from opsdesk.workforce.channels import Channel
from opsdesk.workforce.scheduling.language_queues import plan_language_queues
from opsdesk.workforce.sites import DemandShare
from opsdesk.workforce.staffing import StaffingTargets, staff_intervals

ANY = "any"

PartKey = tuple[str | None, str | None]  # (skill, language); None: any


@dataclass(frozen=True)
class QueuedRequirement:
    by_part: dict[PartKey, np.ndarray]  # scheduled agents per interval, added over the channels
    by_channel: dict[str, np.ndarray]  # scheduled agents per interval, added over the parts
    decisions: list[dict[str, Any]]  # one per channel and part, when the mix has more than one part


def label(part: PartKey) -> str:
    skill, language = part
    return f"{skill or ANY}/{language or ANY}"


def mix_parts(mix: Sequence[DemandShare]) -> dict[PartKey, float]:
    """Share of the volume per demand part, in the mix's order."""
    shares: dict[PartKey, float] = {}
    for demand in mix:
        key = (demand.skill, demand.language)
        shares[key] = shares.get(key, 0.0) + demand.share
    return shares


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
    shares = mix_parts(mix)
    keys = {label(part): part for part in shares}
    for channel_name, week in volume.items():
        channel = Channel(channel_name)
        if len(shares) == 1:  # one queue: nothing to decide
            (part,) = shares
            agents = staff_intervals({"timestamp": grid, "volume": week}, targets[channel])
            by_channel[channel_name] = agents["scheduled_agents"].to_numpy(dtype=np.int64)
            by_part[part] = by_part.get(part, zero) + by_channel[channel_name]
            continue
        queues = plan_language_queues(
            grid,
            {label(part): np.round(week * share, 2) for part, share in shares.items()},
            targets[channel],
            min_occupancy=min_own_queue_occupancy,
        )
        total = zero.copy()
        for queue_part, agents in zip(queues.parts, queues.required, strict=True):
            key = keys[str(queue_part.language)]
            by_part[key] = by_part.get(key, zero) + agents.astype(np.int64)
            total += agents.astype(np.int64)
        by_channel[channel_name] = total
        decisions.extend(
            {
                "channel": channel_name,
                "skill": keys[d.language][0],
                "language": keys[d.language][1],
                "queue": d.queue,
                "workload_erlangs": round(d.workload_erlangs, 3),
                "own_queue_occupancy": round(d.own_queue_occupancy, 3),
                "reason": d.reason,
            }
            for d in queues.decisions
        )
    return QueuedRequirement(by_part=by_part, by_channel=by_channel, decisions=decisions)
