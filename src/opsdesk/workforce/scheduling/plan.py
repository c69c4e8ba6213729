"""Schedule every site for one horizon: the follow-the-sun split decides what each site must cover, then
each site gets its own CP-SAT model (sites share no people, so separate models lose nothing)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from opsdesk.workforce.coverage import CoverageSplit, split_requirement
from opsdesk.workforce.scheduling.model import SiteSchedule, Weights, schedule_site
from opsdesk.workforce.scheduling.requirement import FOLLOW_THE_SUN, Requirement
from opsdesk.workforce.scheduling.templates import Horizon
from opsdesk.workforce.sites import DemandShare, SitesConfig


def site_requirement(
    split: CoverageSplit, site: str, horizon: Horizon
) -> tuple[list[DemandShare], np.ndarray]:
    """The demand parts one site was given and the agents each needs per interval ([parts, periods])."""
    rows = split.required[split.required["site"] == site]
    parts = sorted(
        {(row.skill, row.language) for row in rows.itertuples()}, key=lambda p: (str(p[0]), str(p[1]))
    )
    demands = [DemandShare(skill=skill, language=language, share=1.0) for skill, language in parts]
    matrix = np.zeros((max(1, len(demands)), horizon.periods), dtype=np.int64)
    if not demands:
        return [DemandShare(share=1.0)], matrix
    index = {part: k for k, part in enumerate(parts)}
    step = horizon.interval.total_seconds()
    for row in rows.itertuples():
        period = int((pd.Timestamp(row.timestamp) - pd.Timestamp(horizon.start)).total_seconds() // step)
        matrix[index[(row.skill, row.language)], period] += int(row.required)
    return demands, matrix


def split_by_site(requirement: Requirement, config: SitesConfig) -> CoverageSplit:
    """Follow-the-sun rows split across all sites; rows that name a site split across its teams only."""
    parts = [
        split_requirement(
            series, config.sites if site == FOLLOW_THE_SUN else [config.site(site)], config.demand_mix
        )
        for site, series in requirement.by_site.items()
    ]
    return CoverageSplit(
        required=pd.concat([part.required for part in parts], ignore_index=True),
        unserved=pd.concat([part.unserved for part in parts], ignore_index=True),
    )


def schedule_sites(
    split: CoverageSplit,
    config: SitesConfig,
    horizon: Horizon,
    *,
    weights: Weights = Weights(),
    time_limit: float = 30.0,
    workers: int = 2,
    on_site_done: Callable[[SiteSchedule], None] | None = None,
) -> list[SiteSchedule]:
    """One schedule per site. The time limit is shared: a site solved early leaves its time to the next."""
    deadline = time.monotonic() + time_limit
    results = []
    for i, site in enumerate(config.sites):
        demands, required = site_requirement(split, site.name, horizon)
        share = max(0.1, (deadline - time.monotonic()) / (len(config.sites) - i))
        result = schedule_site(
            site, demands, required, horizon, weights=weights, time_limit=share, workers=workers
        )
        results.append(result)
        if on_site_done:
            on_site_done(result)
    return results
