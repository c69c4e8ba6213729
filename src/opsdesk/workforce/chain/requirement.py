"""Links 3 and 4: each month's volume on a representative week, and the agents it needs per site.

Volume of month m per channel and interval = contacts per life per week x rate factor x lives of m x the
channel's weekly profile share of that interval. The channel's targets turn it into agents on shift
(Erlang C/A for phone, Erlang on AHT / concurrency for chat, workload within the response time for email
and social; shrinkage included, see opsdesk.workforce.staffing) per queue: each part of the demand
mix (skill, language) is a queue of its own or pooled with the channel's largest part
(opsdesk.workforce.chain.queues). Agents are shared across channels, so the channels' agents are added
per interval and demand part, then the follow-the-sun split hands each part's agents to the sites open
at that instant with the skill and language (opsdesk.workforce.coverage); work no open site can take is
kept as unserved, never dropped. Within a site a demand part goes to the teams that can take
it in proportion to their headcount, the same rule the split uses between sites.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from opsdesk.workforce.chain.contacts import ChannelFit
from opsdesk.workforce.chain.queues import queue_requirement
from opsdesk.workforce.channels import Channel
from opsdesk.workforce.coverage import CoverageSplit, split_parts
from opsdesk.workforce.scheduling.language_queues import OWN_QUEUE_MIN_OCCUPANCY
from opsdesk.workforce.sites import SitesConfig
from opsdesk.workforce.staffing import StaffingTargets


@dataclass(frozen=True)
class MonthRequirement:
    volume: dict[str, np.ndarray]  # channel -> contacts per interval of the week
    agents: dict[str, np.ndarray]  # channel -> agents on shift per interval
    split: CoverageSplit
    team_hours: dict[tuple[str, str], float]  # (site, team) -> agent-hours on shift per week
    queues: list[dict[str, Any]]  # own queue or pooled, per channel, skill and language (with languages)


def week_grid(start: datetime, interval_minutes: int) -> pd.DatetimeIndex:
    return pd.date_range(
        pd.Timestamp(start), periods=7 * 24 * 60 // interval_minutes, freq=f"{interval_minutes}min"
    )


def month_requirement(
    grid: pd.DatetimeIndex,
    lives: float,
    fits: dict[Channel, ChannelFit],
    targets: dict[Channel, StaffingTargets],
    sites: SitesConfig,
    *,
    rate_factor: float,
    min_own_queue_occupancy: float = OWN_QUEUE_MIN_OCCUPANCY,
) -> MonthRequirement:
    volume: dict[str, np.ndarray] = {}
    for channel, fit in fits.items():
        week = fit.per_life_week * rate_factor * lives * fit.profile
        volume[channel.value] = np.round(week, 2)  # two decimals keep the exact staffing arithmetic small
    queued = queue_requirement(
        grid, volume, targets, sites.demand_mix, min_own_queue_occupancy=min_own_queue_occupancy
    )
    split = split_parts(
        {part: pd.Series(agents, index=grid) for part, agents in queued.by_part.items()}, sites.sites
    )
    hours = (grid[1] - grid[0]).total_seconds() / 3600 if len(grid) > 1 else 1.0
    team_hours: dict[tuple[str, str], float] = defaultdict(float)
    for site in sites.sites:
        for team in site.teams:
            team_hours[(site.name, team.name)] += 0.0
    for row in split.required.itertuples():
        site = sites.site(str(row.site))
        skill = None if pd.isna(row.skill) else row.skill
        language = None if pd.isna(row.language) else row.language
        able = [team for team in site.teams if team.headcount > 0 and team.serves(skill, language)]
        capacity = sum(team.headcount for team in able)
        for team in able:
            team_hours[(site.name, team.name)] += int(row.required) * hours * team.headcount / capacity
    return MonthRequirement(
        volume=volume,
        agents=queued.by_channel,
        split=split,
        team_hours=dict(team_hours),
        queues=queued.decisions,
    )


def site_hours(split: CoverageSplit, hours: float) -> tuple[dict[str, float], float]:
    """Agent-hours per week per site, and the unserved agent-hours no open site could take."""
    by_site: dict[str, float] = defaultdict(float)
    for row in split.required.itertuples():
        by_site[str(row.site)] += int(row.required) * hours
    unserved = float(split.unserved["required"].sum()) * hours if len(split.unserved) else 0.0
    return dict(by_site), unserved


def on_shift_hours_per_person(sites: SitesConfig) -> dict[str, float]:
    """Hours a full-time person is on duty (not on break) in a week at each site, by the site's rules:
    the weekly hours cap, or fewer when the working days allowed hold less at the mean shift length."""
    hours = {}
    for site in sites.sites:
        shift = float(np.mean(site.shifts.lengths_hours)) - site.shifts.break_minutes / 60
        days = 7 - site.rules.min_days_off_per_week
        hours[site.name] = min(site.rules.max_hours_per_week, days * shift)
    return hours
