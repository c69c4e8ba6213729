"""Per-ticket KPI facts, derived once from the event log and kept as ``ticket_facts.parquet`` beside the
export, so that a KPI request over a large history reads one row per ticket instead of every event.

The facts are the ``ticket_facts`` table of :mod:`duck_sql` (its one definition of first reply, first
and latest solve, reopens, one touch, escalation, latest rating) and, per ticket, how many SLA targets
of each kind were met and breached by :mod:`duck_sla`'s clocks; nothing is computed here a second time.
:func:`derive` writes them; :func:`find` says whether a folder's facts still fit its event log.

SLA outcomes depend on the moment (a running clock breaches later) and on the policies, so the file
records both (``as_of``, ``policies``) and the engine takes its SLA outcomes only for a request at that
same moment under the same policies; otherwise it measures SLA from the events as before, and takes the
other metrics from the facts (they do not depend on the moment)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from opsdesk.insights.kpis import duck_sla, duck_sql
from opsdesk.insights.kpis.business_time import ScheduleVersions
from opsdesk.insights.kpis.sla import FIRST_REPLY, NEXT_REPLY, RESOLUTION, Policy

if TYPE_CHECKING:
    import duckdb

FACTS_FILE = "ticket_facts.parquet"
SLA_TARGETS = (FIRST_REPLY, NEXT_REPLY, RESOLUTION)
SLA_OUTCOMES = tuple((target, hit) for target in SLA_TARGETS for hit in (True, False))
"""The facts' SLA columns: per target, the targets met (``hit``) and those breached."""


def sla_column(target: str, hit: bool) -> str:
    return f"sla_{target}_{'met' if hit else 'breached'}"


SLA_COLUMNS = tuple(sla_column(target, hit) for target, hit in SLA_OUTCOMES)


def fingerprint(policies: Mapping[int, Policy]) -> str:
    """The policies' targets and pausing statuses as one text (equal policies, equal text)."""
    return json.dumps(
        {
            str(policy_id): {
                "targets": {
                    priority: {
                        metric: duration.total_seconds() for metric, duration in sorted(metrics.items())
                    }
                    for priority, metrics in sorted(policy.targets.items())
                },
                "pausing": sorted(policy.pausing_statuses),
            }
            for policy_id, policy in sorted(policies.items())
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class Facts:
    """A folder's ``ticket_facts.parquet`` and what it was derived under."""

    path: Path
    as_of: datetime
    policies: str
    with_sla: bool

    def sla_for(self, now: datetime, policies: Mapping[int, Policy]) -> bool:
        """Whether the file's SLA outcomes are those of a request at ``now`` under ``policies``."""
        return self.with_sla and self.as_of == now and self.policies == fingerprint(policies)


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def derive(
    con: duckdb.DuckDBPyConnection,
    directory: Path,
    *,
    now: datetime,
    policies: Mapping[int, Policy],
    schedules: ScheduleVersions | None = None,
) -> int:
    """Writes ``DIR/ticket_facts.parquet`` from the views of ``con`` (a :class:`DuckSource`'s): the
    ticket facts and, when every ticket under a policy runs on 24x7 hours, its SLA outcomes at ``now``.
    Returns the tickets written. The file is written beside its name and renamed into place."""
    duck_sql.build_facts(con)
    with_sla = duck_sla.supported(con, schedules) and all(
        metric in SLA_TARGETS for policy in policies.values() for m in policy.targets.values() for metric in m
    )
    if with_sla:
        duck_sla.build_samples(con, policies, now)
        counts = ", ".join(
            f"count(*) FILTER (WHERE target = '{target}' AND {'' if hit else 'NOT '}hit)::INTEGER "
            f"AS {sla_column(target, hit)}"
            for target, hit in SLA_OUTCOMES
        )
        outcomes = ", ".join(f"coalesce(s.{c}, 0)::INTEGER AS {c}" for c in SLA_COLUMNS)
        query = f"""
            SELECT f.*, {outcomes}
            FROM ticket_facts f
            LEFT JOIN (SELECT ticket_id, {counts} FROM sla_samples GROUP BY ticket_id) s USING (ticket_id)
        """
    else:
        query = "SELECT * FROM ticket_facts"
    (events,) = con.execute("SELECT count(*) FROM events").fetchone() or (0,)
    metadata = {
        "as_of": now.isoformat(),
        "policies": fingerprint(policies),
        "with_sla": "yes" if with_sla else "no",
        "events": str(events),
    }
    kv = ", ".join(f"{key}: {_sql_text(value)}" for key, value in metadata.items())
    partial = directory / f".{FACTS_FILE}.partial"
    con.execute(
        f"COPY ({query} ORDER BY created_at) TO {_quoted(partial)} "
        f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{kv}}})"
    )
    os.replace(partial, directory / FACTS_FILE)
    (count,) = con.execute("SELECT count(*) FROM ticket_facts").fetchone() or (0,)
    return int(count)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def find(con: duckdb.DuckDBPyConnection, directory: Path) -> Facts | None:
    """The folder's facts, when the file is there and was derived from the event log beside it (the
    same number of events); ``None`` otherwise, and the engine reads the events."""
    path = directory / FACTS_FILE
    if not path.is_file():
        return None
    pairs = con.execute(
        f"SELECT decode(key), decode(value) FROM parquet_kv_metadata({_quoted(path)})"
    ).fetchall()
    metadata = {str(key): str(value) for key, value in pairs}
    events = con.execute(
        f"SELECT sum(num_rows) FROM parquet_file_metadata({_quoted(directory / 'events.parquet')})"
    ).fetchone()
    if "as_of" not in metadata or not events or str(events[0]) != metadata.get("events"):
        return None
    return Facts(
        path=path,
        as_of=datetime.fromisoformat(metadata["as_of"]),
        policies=metadata.get("policies", ""),
        with_sla=metadata.get("with_sla") == "yes",
    )


def attach(con: duckdb.DuckDBPyConnection, facts: Facts) -> None:
    """``ticket_facts`` as a view over the file, in place of :func:`duck_sql.build_facts`."""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW ticket_facts AS SELECT * FROM read_parquet({_quoted(facts.path)})"
    )


SLA_OUTCOME_COLUMNS = tuple(
    (target, sla_column(target, True), sla_column(target, False)) for target in SLA_TARGETS
)
"""Per SLA target, the facts' columns of targets met and breached (for :func:`duck_sql.combined_rows`)."""
