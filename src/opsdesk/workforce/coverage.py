"""Follow-the-sun split: which site covers how many agents of each interval's requirement.

Each interval's requirement (whole agents, UTC) is first divided by the demand mix (e.g. 10% needs Spanish,
15% needs L2), then each part goes to the sites open at that instant in proportion to their headcount able
to take it. Whole agents are handed out by largest remainder, so the parts add up exactly to the
requirement; a part that no open site can take is reported as unserved rather than dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from opsdesk.workforce.sites import DemandShare, Site

SPLIT_COLUMNS = ["timestamp", "site", "skill", "language", "required"]
UNSERVED_COLUMNS = ["timestamp", "skill", "language", "required"]


@dataclass(frozen=True)
class CoverageSplit:
    required: pd.DataFrame  # SPLIT_COLUMNS, one row per interval, site and demand part with required > 0
    unserved: pd.DataFrame  # UNSERVED_COLUMNS: parts no open site could take


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Whole numbers proportional to the weights that add up to total (ties go to the earlier weight)."""
    weight_sum = sum(weights)
    if total == 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    whole = [math.floor(x + 1e-9) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in order[: total - sum(whole)]:
        whole[i] += 1
    return whole


def split_interval(
    required: int, at: datetime, sites: Sequence[Site], mix: Sequence[DemandShare]
) -> tuple[dict[tuple[str, int], int], dict[int, int]]:
    """One interval: agents per (site name, demand index) and unserved agents per demand index."""
    cells: list[tuple[str | None, int]] = []
    weights: list[float] = []
    open_sites = [site for site in sites if site.is_open(at)]
    for k, demand in enumerate(mix):
        capacities = [(site.name, site.capacity(demand.skill, demand.language)) for site in open_sites]
        total_capacity = sum(c for _, c in capacities)
        if total_capacity == 0:
            cells.append((None, k))
            weights.append(demand.share)
            continue
        for site_name, capacity in capacities:
            if capacity:
                cells.append((site_name, k))
                weights.append(demand.share * capacity / total_capacity)
    served: dict[tuple[str, int], int] = {}
    unserved: dict[int, int] = {}
    for (name, k), agents in zip(cells, largest_remainder(required, weights), strict=True):
        if not agents:
            continue
        if name is None:
            unserved[k] = agents
        else:
            served[(name, k)] = agents
    return served, unserved


def split_requirement(
    requirement: pd.Series, sites: Sequence[Site], mix: Sequence[DemandShare]
) -> CoverageSplit:
    """Split a requirement series (aware UTC timestamps -> whole agents) across the sites."""
    rows: list[tuple[datetime, str, str | None, str | None, int]] = []
    lost: list[tuple[datetime, str | None, str | None, int]] = []
    for at, value in requirement.items():
        instant = pd.Timestamp(at).to_pydatetime()
        served, unserved = split_interval(int(value), instant, sites, mix)
        rows.extend(
            (instant, name, mix[k].skill, mix[k].language, agents) for (name, k), agents in served.items()
        )
        lost.extend((instant, mix[k].skill, mix[k].language, agents) for k, agents in unserved.items())
    return CoverageSplit(
        required=pd.DataFrame(rows, columns=SPLIT_COLUMNS),
        unserved=pd.DataFrame(lost, columns=UNSERVED_COLUMNS),
    )


def split_parts(
    required: dict[tuple[str | None, str | None], pd.Series], sites: Sequence[Site]
) -> CoverageSplit:
    """Split a requirement already divided by demand part (skill, language) across the sites."""
    splits = [
        split_requirement(series, sites, [DemandShare(skill=skill, language=language, share=1.0)])
        for (skill, language), series in required.items()
    ]
    return CoverageSplit(
        required=pd.concat(
            [s.required for s in splits if len(s.required)] or [pd.DataFrame(columns=SPLIT_COLUMNS)],
            ignore_index=True,
        ),
        unserved=pd.concat(
            [s.unserved for s in splits if len(s.unserved)] or [pd.DataFrame(columns=UNSERVED_COLUMNS)],
            ignore_index=True,
        ),
    )
