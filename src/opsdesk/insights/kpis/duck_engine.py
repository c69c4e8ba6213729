"""A KPI request answered by DuckDB: the metrics :mod:`duck_sql` defines in SQL run there (SLA
attainment too, by :mod:`duck_sla`, when every ticket under a policy has 24x7 hours); the others, and
durations in business hours, through the frame definitions of :mod:`engine`, over frames read from the
same source. Over a Parquet export with per-ticket facts (:mod:`duck_facts`), the SQL metrics read the
facts instead of the events. The rows are those :func:`engine.compute` gives for the same history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdesk.insights.kpis import duck_facts, duck_sla, duck_sql, sla
from opsdesk.insights.kpis.business_time import ScheduleVersions
from opsdesk.insights.kpis.duck_source import DuckSource
from opsdesk.insights.kpis.engine import compute as compute_frames
from opsdesk.insights.kpis.engine import sort_rows
from opsdesk.insights.kpis.request import KpiRequest


def compute(
    source: DuckSource,
    request: KpiRequest,
    *,
    now: datetime,
    schedules: ScheduleVersions | None = None,
    policies: Mapping[int, sla.Policy] | None = None,
) -> list[dict[str, Any]]:
    in_sql = [name for name in request.metrics if duck_sql.supports(name, request)]
    if "sla_attainment" in request.metrics and duck_sla.supported(source.con, schedules):
        in_sql.append("sla_attainment")
    by_metric: dict[str, list[dict[str, Any]]] = {name: [] for name in request.metrics}
    facts = source.facts
    if in_sql and facts is not None:
        duck_facts.attach(source.con, facts)
    elif in_sql:
        duck_sql.build_facts(source.con)
    sla_facts = facts is not None and facts.sla_for(now, policies or {})
    if "sla_attainment" in in_sql and not sla_facts:
        duck_sla.build_samples(source.con, policies or {}, now)
    together = [
        name
        for name in in_sql
        if name in duck_sql.SELECTIONS and (name != "tickets_created" or request.date_basis == "created")
    ]
    outcomes = duck_facts.SLA_OUTCOME_COLUMNS if "sla_attainment" in in_sql and sla_facts else ()
    if together or outcomes:
        by_metric.update(duck_sql.combined_rows(source.con, request, together, outcomes))
    for name in in_sql:
        if name not in together and not (name == "sla_attainment" and outcomes):
            by_metric[name] = duck_sql.rows(source.con, request, name)
    rest = tuple(name for name in request.metrics if name not in in_sql)
    if rest:
        frames = source.frames(request)
        for row in compute_frames(
            frames, replace(request, metrics=rest), now=now, schedules=schedules, policies=policies
        ):
            by_metric[row["metric"]].append(row)
    return sort_rows([row for name in request.metrics for row in by_metric[name]], request)
