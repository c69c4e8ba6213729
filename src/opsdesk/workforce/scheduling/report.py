"""Tables a planner reads: one row per shift, and coverage per interval and site."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from opsdesk.workforce.scheduling.model import SiteSchedule
from opsdesk.workforce.scheduling.templates import Horizon
from opsdesk.workforce.sites import SitesConfig

SHIFT_COLUMNS = ["agent", "site", "team", "skills", "languages", "start", "end", "break_start", "break_end"]
COVERAGE_COLUMNS = ["timestamp", "site", "required", "scheduled", "under", "over"]
UNSERVED = "(no open site)"


def _local_iso(instant: datetime | None, config: SitesConfig, site: str) -> str:
    return "" if instant is None else instant.astimezone(config.site(site).zone).isoformat()


def shifts_table(schedules: Sequence[SiteSchedule], config: SitesConfig) -> pd.DataFrame:
    """Shift times in the site's local time with their UTC offset, so they are exact and readable."""
    rows = []
    for schedule in schedules:
        site = config.site(schedule.site)
        teams = {team.name: team for team in site.teams}
        for shift in schedule.shifts:
            team = teams[shift.team]
            rows.append(
                [
                    shift.agent,
                    shift.site,
                    shift.team,
                    " ".join(team.skills),
                    " ".join(team.languages),
                    _local_iso(shift.start, config, shift.site),
                    _local_iso(shift.end, config, shift.site),
                    _local_iso(shift.break_start, config, shift.site),
                    _local_iso(shift.break_end, config, shift.site),
                ]
            )
    return pd.DataFrame(rows, columns=SHIFT_COLUMNS)


def coverage_table(
    schedules: Sequence[SiteSchedule], horizon: Horizon, unserved: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Required, scheduled, under and over agents per interval (UTC) and site. Work the split could give
    to no open site is listed under site UNSERVED, so the required column adds up to the requirement."""
    stamps = [horizon.at(p).isoformat() for p in range(horizon.periods)]
    frames = [
        pd.DataFrame(
            {
                "timestamp": stamps,
                "site": schedule.site,
                "required": schedule.required,
                "scheduled": schedule.scheduled,
                "under": schedule.under,
                "over": schedule.over,
            }
        )
        for schedule in schedules
    ]
    if unserved is not None and len(unserved):
        lost = unserved.groupby("timestamp")["required"].sum()
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": [pd.Timestamp(at).isoformat() for at in lost.index],
                    "site": UNSERVED,
                    "required": lost.to_numpy(),
                    "scheduled": 0,
                    "under": lost.to_numpy(),
                    "over": 0,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(["timestamp", "site"], kind="stable")
