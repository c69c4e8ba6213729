"""The ticket KPIs of ``definitions`` written as SQL for DuckDB, for data too large for data frames.

Each metric here is the same definition as its namesake in ``definitions`` (the fixture tests run every
hand-computed history through both and expect the same rows); it reads the views ``tickets``, ``events``
and ``tags`` that :mod:`duck_source` sets up, with the columns of :mod:`frames`. One pass over the events
gives each ticket's facts (first message, its first two public agent comments, first and latest solve,
reopens, escalations, latest rating); every metric is then a selection of those facts, put in the
period by its ticket's creation (or latest solve) date, and summarised per group by DuckDB itself
(medians and 90th percentiles by linear interpolation, like pandas).

Only calendar time is computed here: in business hours, and for the metrics not listed in
:data:`SQL_METRICS`, the engine uses the frame definitions (see :mod:`duck_engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from opsdesk.insights.kpis.catalogue import METRICS, Basis, Kind
from opsdesk.insights.kpis.request import KpiRequest
from opsdesk.insights.kpis.summary import RESTRICTED_TAG, TICKET_KEYS, _round

if TYPE_CHECKING:
    import duckdb

AGENT_REPLY = "type = 'message_added' AND public IS TRUE AND author_kind = 'agent'"
SOLVE = "type = 'status_changed' AND status = 'solved'"
UNSOLVED_SQL = "('new', 'open', 'pending', 'on_hold')"
DONE_SQL = "('solved', 'closed')"

FACTS = f"""
CREATE OR REPLACE TEMP TABLE ticket_facts AS
WITH per_ticket AS (
    SELECT
        ticket_id,
        arg_min({{'public': public IS TRUE, 'kind': author_kind}}, {{'a': "at", 's': seq}})
            FILTER (WHERE type = 'message_added') AS first_message,
        min({{'a': "at", 's': seq}}, 2) FILTER (WHERE {AGENT_REPLY}) AS first_agent_comments,
        count(*) FILTER (WHERE {AGENT_REPLY}) AS agent_comments,
        bool_or(created_by_agent IS TRUE) FILTER (WHERE type = 'ticket_created') AS by_agent,
        min("at") FILTER (WHERE {SOLVE}) AS first_solve,
        max("at") FILTER (WHERE {SOLVE}) AS last_solve,
        bool_or(type = 'status_changed' AND from_status = 'solved' AND status IN {UNSOLVED_SQL}) AS reopened,
        bool_or(type = 'escalated') AS escalated,
        arg_max({{'at': "at", 'rating': rating, 'score': score, 'scale': scale}}, {{'a': "at", 's': seq}})
            FILTER (WHERE type = 'csat_received') AS rating
    FROM events
    GROUP BY ticket_id
)
SELECT
    t.ticket_id,
    t.created_at,
    f.first_solve,
    CASE WHEN t.status IN {DONE_SQL} AND NOT t.merged THEN f.last_solve END AS latest_solve,
    coalesce(f.by_agent AND f.first_message.public AND f.first_message.kind = 'agent', false) AS opening,
    f.first_agent_comments,
    coalesce(f.agent_comments, 0) AS agent_comments,
    f.first_solve IS NOT NULL AS solved_once,
    coalesce(f.reopened, false) AS reopened,
    coalesce(f.escalated, false) AS escalated,
    f.rating
FROM tickets t LEFT JOIN per_ticket f USING (ticket_id)
"""

_FIRST_REPLY = "first_agent_comments[CASE WHEN opening THEN 2 ELSE 1 END].a"


def _span(end: str) -> str:
    """Created -> ``end`` in seconds (zero when ``end`` is not later), for tickets where it happened."""
    seconds = f"greatest((epoch_us({end}) - epoch_us(created_at)) / 1e6, 0)"
    return f"SELECT ticket_id, {seconds} AS seconds FROM ticket_facts WHERE {end} IS NOT NULL"


SAMPLES: dict[str, str] = {
    "first_reply_time": _span(_FIRST_REPLY),
    "first_resolution_time": _span("first_solve"),
    "full_resolution_time": _span("latest_solve"),
    "reopen_rate": "SELECT ticket_id, reopened AS hit FROM ticket_facts WHERE solved_once",
    "one_touch_rate": (
        "SELECT ticket_id, agent_comments - CASE WHEN opening THEN 1 ELSE 0 END = 1 AS hit "
        "FROM ticket_facts WHERE solved_once"
    ),
    "escalation_rate": "SELECT ticket_id, escalated AS hit FROM ticket_facts",
    "csat": (
        "SELECT ticket_id, rating.at AS \"at\", CASE WHEN rating.scale = 'one_to_five' "
        "AND rating.score IS NOT NULL THEN rating.score >= 4 ELSE coalesce(rating.rating = 'good', false) "
        "END AS hit "
        "FROM ticket_facts WHERE rating IS NOT NULL"
    ),
    "tickets_created": 'SELECT ticket_id, created_at AS "at" FROM ticket_facts',
    "tickets_solved": (
        'SELECT ticket_id, latest_solve AS "at" FROM ticket_facts WHERE latest_solve IS NOT NULL'
    ),
}
"""Per metric, its samples: ``ticket_id`` and ``seconds`` (durations), ``hit`` (rates) or nothing more
(counts); ``at`` when the sample has its own instant."""

SQL_METRICS = frozenset(SAMPLES)
CALENDAR_ONLY = frozenset(name for name in SQL_METRICS if METRICS[name].kind is Kind.DURATION)


def supports(name: str, request: KpiRequest) -> bool:
    """Whether the metric is computed in SQL for this request (durations only in calendar time)."""
    return name in SQL_METRICS and not (request.business_hours and name in CALENDAR_ONLY)


def build_facts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(FACTS)


def rows(con: duckdb.DuckDBPyConnection, request: KpiRequest, name: str) -> list[dict[str, Any]]:
    """One metric's rows for the request, from ``ticket_facts`` (built once by :func:`build_facts`);
    SLA attainment's from ``sla_samples`` (:mod:`duck_sla`), per target."""
    metric = METRICS[name]
    keys = list(request.by)
    samples = SAMPLES.get(name)
    if name == "sla_attainment":
        keys.append("target")
        samples = "SELECT ticket_id, target, hit FROM sla_samples"
    if metric.basis is Basis.TICKET:
        at = "f.latest_solve" if request.date_basis == "solved" else "f.created_at"
        source = f'SELECT s.*, {at} AS "at" FROM ({samples}) s JOIN ticket_facts f USING (ticket_id)'
    else:
        source = str(samples)
    start = datetime.combine(request.start, time(), UTC)
    end = datetime.combine(request.end + timedelta(days=1), time(), UTC)
    labels, joins = _keys(keys)
    numbers = {
        Kind.DURATION: "count(*), avg(seconds), quantile_cont(seconds, 0.5), quantile_cont(seconds, 0.9)",
        Kind.RATE: "count(*), count(*) FILTER (WHERE hit)",
        Kind.COUNT: "count(*)",
    }[metric.kind]
    group = f"GROUP BY {', '.join(labels)} ORDER BY {', '.join(labels)}" if labels else ""
    select_labels = "".join(f"{label}, " for label in labels)
    query = f"""
        WITH samples AS ({source}),
        kept AS (SELECT * FROM samples WHERE "at" >= $start AND "at" < $end)
        SELECT {select_labels}{numbers}
        FROM kept s {joins}
        {group}
    """
    result = con.execute(query, {"start": start, "end": end}).fetchall()
    out = []
    for record in result:
        values = record[len(labels) :]
        if not values[0]:
            continue
        row: dict[str, Any] = dict(zip(keys, record[: len(labels)], strict=True))
        out.append({**row, "metric": name, **_numbers(metric.kind, values)})
    return out


def _keys(keys: Sequence[str]) -> tuple[list[str], str]:
    """SQL for each group key, and the joins they need (ticket fields, visible tags)."""
    labels: list[str] = []
    for key in keys:
        if key == "day":
            labels.append("strftime(s.\"at\", '%Y-%m-%d')")
        elif key == "week":
            labels.append("strftime(date_trunc('week', s.\"at\"), '%Y-%m-%d')")
        elif key == "month":
            labels.append("strftime(s.\"at\", '%Y-%m')")
        elif key in TICKET_KEYS:
            labels.append(f't."{key}"')
        elif key == "target":
            labels.append("s.target")
        else:
            labels.append("g.tag")
    joins = ""
    if any(k in TICKET_KEYS for k in keys):
        joins += " LEFT JOIN tickets t ON t.ticket_id = s.ticket_id"
    if "tag" in keys:
        joins += f"""
        LEFT JOIN (
            SELECT DISTINCT tg.ticket_id,
                CASE WHEN tg.tag IN (
                    SELECT x.tag FROM tags x JOIN tickets y USING (ticket_id) WHERE NOT y.sensitive
                ) THEN tg.tag ELSE '{RESTRICTED_TAG}' END AS tag
            FROM tags tg
        ) g ON g.ticket_id = s.ticket_id"""
    return labels, joins


def _numbers(kind: Kind, values: Sequence[Any]) -> dict[str, Any]:
    n = int(values[0])
    if kind is Kind.DURATION:
        return {
            "n": n,
            "mean_s": _round(values[1]),
            "median_s": _round(values[2]),
            "p90_s": _round(values[3]),
        }
    if kind is Kind.RATE:
        hits = int(values[1])
        return {"n": n, "value": _round(hits / n, 6), "numerator": hits, "denominator": n}
    return {"n": n, "value": n}
