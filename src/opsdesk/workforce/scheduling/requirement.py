"""The requirement to schedule, read from the staffing output (`opsdesk staff`).

STAFF.csv has timestamp,volume,agents,scheduled_agents,service_level,asa_seconds,occupancy; the requirement
is scheduled_agents (after shrinkage: people to have on shift). Optional columns: `channel` (rows of one
interval are added up, agents being shared across channels) and `site` (that row's requirement is for that
site only instead of being split follow-the-sun). Missing intervals inside the span need nobody.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.scheduling.templates import Horizon

REQUIRED_COLUMNS = ("timestamp", "scheduled_agents")
FOLLOW_THE_SUN = ""  # the `site` of rows to split across whichever sites are open


@dataclass
class Requirement:
    horizon: Horizon
    # site name (FOLLOW_THE_SUN for rows without one) -> whole agents per interval, UTC-indexed
    by_site: dict[str, pd.Series] = field(default_factory=dict)


def _instant(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"{where}: timestamp {text!r} is not an ISO date-time") from None
    # A time without an offset is read as UTC: the staffing output is on the UTC grid.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_requirement(path: Path, *, known_sites: set[str] | None = None) -> Requirement:
    """Parse STAFF.csv; every error names the file and line."""
    try:
        return _read_requirement(path, known_sites)
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path.name}: not UTF-8 text") from None
    except csv.Error as exc:
        raise ValidationFailed(f"{path.name}: not a readable CSV file ({exc})") from None


def _read_requirement(path: Path, known_sites: set[str] | None) -> Requirement:
    name = path.name
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"{name}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise ValidationFailed(f"{name} line 1: missing column {', '.join(missing)}")
        cells: dict[tuple[str, datetime], int] = {}
        seen: dict[tuple[str, str, datetime], int] = {}
        for row in reader:
            line = reader.line_num
            where = f"{name} line {line}"
            if None in row or any(value is None for value in row.values()):
                raise ValidationFailed(f"{where}: the row does not have the header's {len(header)} fields")
            at = _instant(row["timestamp"], where)
            text = row["scheduled_agents"].strip()
            try:
                agents = float(text)
            except ValueError:
                raise ValidationFailed(f"{where}: scheduled_agents {text!r} is not a number") from None
            if agents < 0 or agents != int(agents):
                raise ValidationFailed(f"{where}: scheduled_agents must be a whole number of agents >= 0")
            site = (row.get("site") or "").strip()
            if site and known_sites is not None and site not in known_sites:
                raise ValidationFailed(f"{where}: site {site!r} is not in the sites file")
            key = (site, (row.get("channel") or "").strip(), at)
            if key in seen:
                raise ValidationFailed(f"{where}: interval {row['timestamp']} repeats line {seen[key]}")
            seen[key] = line
            cells[(site, at)] = cells.get((site, at), 0) + int(agents)
    if not cells:
        raise ValidationFailed(f"{name}: no intervals")
    instants = sorted({at for _, at in cells})
    steps = {later - earlier for earlier, later in itertools.pairwise(instants)}
    interval = min(steps) if steps else timedelta(minutes=30)
    for at in instants:
        if (at - instants[0]) % interval:
            line = min(line for (_, _, when), line in seen.items() if when == at)
            raise ValidationFailed(
                f"{name} line {line}: {at.isoformat()} is off the {interval} interval grid"
            )
    periods = (instants[-1] - instants[0]) // interval + 1
    horizon = Horizon(start=instants[0], interval=interval, periods=periods)
    index = pd.DatetimeIndex([horizon.at(p) for p in range(periods)])
    by_site: dict[str, pd.Series] = {}
    for (site, at), agents in cells.items():
        series = by_site.setdefault(site, pd.Series(0, index=index, dtype="int64"))
        series.iloc[(at - horizon.start) // interval] += agents
    return Requirement(horizon=horizon, by_site=by_site)
