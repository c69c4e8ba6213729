"""Which languages get their own queue and which share one, and the agents each language needs.

A language with its own queue is staffed by its own Erlang model (only its speakers answer it), which is
exact but loses the economies of scale of a big queue: a small queue needs many agents for little work
(0.3 Erlangs of phone calls at 80% in 20 s need 2 agents, 15% busy). So the languages are decided one by
one against a threshold on that loss:

- the language with the most workload anchors the shared (pooled) queue;
- any other language gets its own queue when its own Erlang requirement would keep its agents at least
  `min_occupancy` busy (default OWN_QUEUE_MIN_OCCUPANCY = 50%: workload over agents, summed over the
  intervals), i.e. when its volume justifies a queue of its own;
- the others join the pooled queue: one Erlang model on the pool's summed volume, whose agents are then
  divided among the pool's languages by their share of its workload in each interval (largest remainder,
  so they add up). Pooling assumes the agents who take a pooled language also take the anchor's work
  (bilingual agents), which is how a small language is served in practice.

The result is the requirement by demand part (skill, language) that `schedule_jointly` takes, and one
decision per language with the numbers behind it, for the plan to show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.coverage import largest_remainder
from opsdesk.workforce.scheduling.joint import Part
from opsdesk.workforce.staffing import StaffingTargets, exact, staff_intervals

OWN_QUEUE_MIN_OCCUPANCY = 0.5


@dataclass(frozen=True)
class QueueDecision:
    language: str
    queue: Literal["own", "pooled"]
    workload_erlangs: float  # mean offered work in agents over the intervals
    own_queue_agents: int  # agent-intervals (before shrinkage) its own queue would need
    own_queue_occupancy: float  # its workload over those agents
    reason: str


@dataclass(frozen=True)
class LanguageQueues:
    parts: list[Part]
    required: np.ndarray  # [part, period]: scheduled agents (after shrinkage), whole
    decisions: list[QueueDecision]


def percent(share: float) -> str:
    """A share for a reason: whole percent, with one decimal under 10% (a small language's queue is
    often under 1% busy, which "0%" would hide)."""
    return f"{share:.1%}" if 0 < share < 0.1 else f"{share:.0%}"


def _workload(volume: np.ndarray, targets: StaffingTargets) -> np.ndarray:
    """Offered work in agents per interval (chat sessions share an agent `concurrency` ways)."""
    return volume * float(targets.effective_aht) / float(exact(targets.interval_seconds))


def plan_language_queues(
    timestamps: Sequence[object] | pd.DatetimeIndex,
    volume_by_language: Mapping[str, ArrayLike],
    targets: StaffingTargets,
    *,
    skill: str | None = None,
    min_occupancy: float = OWN_QUEUE_MIN_OCCUPANCY,
) -> LanguageQueues:
    """Own queue or pooled for each language of one channel, and the agents each needs per interval."""
    if not volume_by_language:
        raise ValidationFailed("no language has volume", field="languages")
    if not 0 < min_occupancy <= 1:
        raise ValidationFailed("must be above 0 and at most 1", field="min_occupancy")
    stamps = list(timestamps)
    volumes = {
        language: np.asarray(values, dtype=np.float64) for language, values in volume_by_language.items()
    }
    for language, values in volumes.items():
        if values.shape != (len(stamps),):
            raise ValidationFailed(f"{language}: one volume per interval is needed", field="volume")
    work = {language: _workload(values, targets) for language, values in volumes.items()}
    order = sorted(volumes, key=lambda language: (-float(work[language].sum()), language))
    anchor = order[0]

    def staff(volume: np.ndarray) -> pd.DataFrame:
        return staff_intervals({"timestamp": stamps, "volume": volume}, targets)

    decisions: dict[str, QueueDecision] = {}
    own: dict[str, np.ndarray] = {}
    pooled = [anchor]
    for language in order:
        frame = staff(volumes[language])
        agents = int(frame["agents"].sum())
        load = float(work[language].sum())
        occupancy = load / agents if agents else 0.0
        base = QueueDecision(
            language=language,
            queue="pooled",
            workload_erlangs=load / max(1, len(stamps)),
            own_queue_agents=agents,
            own_queue_occupancy=occupancy,
            reason="",
        )
        if language == anchor:
            decisions[language] = replace(base, reason="most workload: anchors the shared queue")
        elif occupancy >= min_occupancy:
            own[language] = frame["scheduled_agents"].to_numpy(dtype=np.int64)
            decisions[language] = replace(
                base,
                queue="own",
                reason=f"its own queue keeps agents {percent(occupancy)} busy "
                f"(threshold {min_occupancy:.0%})",
            )
        else:
            pooled.append(language)
            decisions[language] = replace(
                base,
                reason=f"its own queue would keep agents only {percent(occupancy)} busy "
                f"(threshold {min_occupancy:.0%}): shares the {anchor} queue",
            )
    pool_required = staff(sum((volumes[language] for language in pooled), np.zeros(len(stamps))))[
        "scheduled_agents"
    ].to_numpy(dtype=np.int64)
    shares = np.zeros((len(pooled), len(stamps)), dtype=np.int64)
    for p, agents in enumerate(pool_required):
        shares[:, p] = largest_remainder(int(agents), [float(work[language][p]) for language in pooled])
        if agents and not shares[:, p].any():  # no workload there, yet staffed (e.g. backlog): the anchor
            shares[0, p] = agents
    parts = [Part(skill=skill, language=language) for language in pooled] + [
        Part(skill=skill, language=language) for language in own
    ]
    required = np.vstack([shares, *[own[language][None, :] for language in own]])
    return LanguageQueues(parts=parts, required=required, decisions=[decisions[lang] for lang in order])
