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
        arg_min(public IS TRUE AND author_kind = 'agent', log_order)
            FILTER (WHERE type = 'message_added') AS first_message_by_agent,
        min(log_order) FILTER (WHERE {AGENT_REPLY}) AS first_agent_comment,
        arg_min("at", log_order) FILTER (WHERE {AGENT_REPLY}) AS first_agent_comment_at,
        count(*) FILTER (WHERE {AGENT_REPLY}) AS agent_comments,
        bool_or(created_by_agent IS TRUE) FILTER (WHERE type = 'ticket_created') AS by_agent,
        min("at") FILTER (WHERE {SOLVE}) AS first_solve,
        max("at") FILTER (WHERE {SOLVE}) AS last_solve,
        bool_or(type = 'status_changed' AND from_status = 'solved' AND status IN {UNSOLVED_SQL}) AS reopened,
        bool_or(type = 'escalated') AS escalated,
        max(log_order) FILTER (WHERE type = 'csat_received') AS rated,
        arg_max("at", log_order) FILTER (WHERE type = 'csat_received') AS rated_at,
        arg_max(rating, log_order) FILTER (WHERE type = 'csat_received') AS rating,
        arg_max(score, log_order) FILTER (WHERE type = 'csat_received') AS score,
        arg_max(scale, log_order) FILTER (WHERE type = 'csat_received') AS scale
    FROM events
    GROUP BY ticket_id
)
SELECT
    t.*,
    f.first_solve,
    CASE WHEN t.status IN {DONE_SQL} AND NOT t.merged THEN f.last_solve END AS latest_solve,
    coalesce(f.by_agent AND f.first_message_by_agent, false) AS opening,
    f.first_agent_comment,
    CASE WHEN NOT coalesce(f.by_agent AND f.first_message_by_agent, false) THEN f.first_agent_comment_at
    END AS first_reply_at,
    coalesce(f.agent_comments, 0) AS agent_comments,
    f.first_solve IS NOT NULL AS solved_once,
    coalesce(f.reopened, false) AS reopened,
    coalesce(f.escalated, false) AS escalated,
    f.rated IS NOT NULL AS rated, f.rated_at, f.rating, f.score, f.scale
FROM tickets t LEFT JOIN per_ticket f USING (ticket_id)
"""

OPENED_BY_AGENTS = """
UPDATE ticket_facts SET first_reply_at = later.reply
FROM (
    SELECT e.ticket_id, arg_min(e."at", e.log_order) AS reply
    FROM events e JOIN ticket_facts o ON o.ticket_id = e.ticket_id AND o.opening
    WHERE e.type = 'message_added' AND e.public IS TRUE AND e.author_kind = 'agent'
        AND e.log_order > o.first_agent_comment
    GROUP BY e.ticket_id
) later
WHERE ticket_facts.ticket_id = later.ticket_id
"""
"""A ticket an agent opened with a public comment: its first reply is the agent's next public comment
(few tickets, so a second look at their events only)."""


def _span(end: str) -> str:
    """Created -> ``end`` in seconds (zero when ``end`` is not later), for tickets where it happened."""
    seconds = f"greatest((epoch_us({end}) - epoch_us(created_at)) / 1e6, 0)"
    return f"SELECT *, {seconds} AS seconds FROM ticket_facts WHERE {end} IS NOT NULL"


SAMPLES: dict[str, str] = {
    "first_reply_time": _span("first_reply_at"),
    "first_resolution_time": _span("first_solve"),
    "full_resolution_time": _span("latest_solve"),
    "reopen_rate": "SELECT *, reopened AS hit FROM ticket_facts WHERE solved_once",
    "one_touch_rate": (
        "SELECT *, agent_comments - CASE WHEN opening THEN 1 ELSE 0 END = 1 AS hit "
        "FROM ticket_facts WHERE solved_once"
    ),
    "escalation_rate": "SELECT *, escalated AS hit FROM ticket_facts",
    "csat": (
        "SELECT *, rated_at AS \"at\", CASE WHEN scale = 'one_to_five' AND score IS NOT NULL "
        "THEN score >= 4 ELSE coalesce(rating = 'good', false) END AS hit FROM ticket_facts WHERE rated"
    ),
    "tickets_created": 'SELECT *, created_at AS "at" FROM ticket_facts',
    "tickets_solved": 'SELECT *, latest_solve AS "at" FROM ticket_facts WHERE latest_solve IS NOT NULL',
    "sla_attainment": "SELECT f.*, x.target, x.hit FROM sla_samples x JOIN ticket_facts f USING (ticket_id)",
}
"""Per metric, its samples: the ticket's facts and ``seconds`` (durations), ``hit`` (rates) or nothing
more (counts); ``at`` when the sample has its own instant; SLA attainment's also ``target``."""

SQL_METRICS = frozenset(SAMPLES) - {"sla_attainment"}  # that one when duck_sla supports the hours
CALENDAR_ONLY = frozenset(name for name in SQL_METRICS if METRICS[name].kind is Kind.DURATION)


def supports(name: str, request: KpiRequest) -> bool:
    """Whether the metric is computed in SQL for this request (durations only in calendar time)."""
    return name in SQL_METRICS and not (request.business_hours and name in CALENDAR_ONLY)


def build_facts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(FACTS)
    con.execute(OPENED_BY_AGENTS)


def rows(
    con: duckdb.DuckDBPyConnection, request: KpiRequest, name: str, samples: str | None = None
) -> list[dict[str, Any]]:
    """One metric's rows for the request, from ``ticket_facts`` (built once by :func:`build_facts`);
    SLA attainment's from ``sla_samples`` (:mod:`duck_sla`), per target. ``samples``: a rate's samples
    given another way, each with a ``weight`` (how many samples it stands for)."""
    metric = METRICS[name]
    keys = list(request.by)
    if name == "sla_attainment":
        keys.append("target")
    chosen = samples or SAMPLES[name]
    if metric.basis is Basis.TICKET:
        at = "latest_solve" if request.date_basis == "solved" else "created_at"
        source = f'SELECT *, {at} AS "at" FROM ({chosen})'
    else:
        source = chosen
    start = datetime.combine(request.start, time(), UTC)
    end = datetime.combine(request.end + timedelta(days=1), time(), UTC)
    labels, joins = _keys(keys)
    numbers = {
        Kind.DURATION: "count(*), avg(seconds), quantile_cont(seconds, 0.5), quantile_cont(seconds, 0.9)",
        Kind.RATE: "sum(weight), coalesce(sum(weight) FILTER (WHERE hit), 0)"
        if samples
        else "count(*), count(*) FILTER (WHERE hit)",
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
        row: dict[str, Any] = {
            key: value.strftime(PERIODS[key]) if key in PERIODS else value
            for key, value in zip(keys, record[: len(labels)], strict=True)
        }
        out.append({**row, "metric": name, **_numbers(metric.kind, values)})
    return out


PERIODS = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}
"""The period keys, and how a period's first instant is shown."""


def _keys(keys: Sequence[str]) -> tuple[list[str], str]:
    """SQL for each group key, and the joins they need (ticket fields, visible tags)."""
    labels: list[str] = []
    for key in keys:
        if key in PERIODS:  # the instant the period starts (UTC), shown as text once grouped; truncated
            # as a plain UTC timestamp, since a time zone-aware truncation costs ten times more
            labels.append(f"date_trunc('{key}', make_timestamp(epoch_us(s.\"at\")))")
        elif key in TICKET_KEYS:
            labels.append(f's."{key}"')
        elif key == "target":
            labels.append("s.target")
        else:
            labels.append("g.tag")
    joins = ""
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
