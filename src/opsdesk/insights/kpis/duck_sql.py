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


def _seconds(end: str) -> str:
    """Created -> ``end`` in seconds (zero when ``end`` is not later)."""
    return f"greatest((epoch_us({end}) - epoch_us(created_at)) / 1e6, 0)"


SELECTIONS: dict[str, tuple[str, str | None]] = {
    "first_reply_time": ("first_reply_at IS NOT NULL", _seconds("first_reply_at")),
    "first_resolution_time": ("first_solve IS NOT NULL", _seconds("first_solve")),
    "full_resolution_time": ("latest_solve IS NOT NULL", _seconds("latest_solve")),
    "reopen_rate": ("solved_once", "reopened"),
    "one_touch_rate": ("solved_once", "agent_comments - CASE WHEN opening THEN 1 ELSE 0 END = 1"),
    "escalation_rate": ("true", "escalated"),
    "tickets_created": ("true", None),
}
"""The metrics that are a selection of tickets (which tickets, and each one's ``seconds`` or ``hit``),
put in the period by the ticket's date; tickets created are always by their creation date."""


def _selected(name: str) -> str:
    where, value = SELECTIONS[name]
    column = {Kind.DURATION: "seconds", Kind.RATE: "hit"}.get(METRICS[name].kind)
    extra = f", {value} AS {column}" if value and column else ""
    at = ', created_at AS "at"' if name == "tickets_created" else ""
    return f"SELECT *{extra}{at} FROM ticket_facts WHERE {where}"


SAMPLES: dict[str, str] = {
    **{name: _selected(name) for name in SELECTIONS},
    "csat": (
        "SELECT *, rated_at AS \"at\", CASE WHEN scale = 'one_to_five' AND score IS NOT NULL "
        "THEN score >= 4 ELSE coalesce(rating = 'good', false) END AS hit FROM ticket_facts WHERE rated"
    ),
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


def rows(con: duckdb.DuckDBPyConnection, request: KpiRequest, name: str) -> list[dict[str, Any]]:
    """One metric's rows for the request, from ``ticket_facts`` (built once by :func:`build_facts`);
    SLA attainment's from ``sla_samples`` (:mod:`duck_sla`), per target."""
    metric = METRICS[name]
    keys = list(request.by)
    if name == "sla_attainment":
        keys.append("target")
    chosen = SAMPLES[name]
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
        row: dict[str, Any] = {
            key: value.strftime(PERIODS[key]) if key in PERIODS else value
            for key, value in zip(keys, record[: len(labels)], strict=True)
        }
        out.append({**row, "metric": name, **_numbers(metric.kind, values)})
    return out


def combined_rows(
    con: duckdb.DuckDBPyConnection,
    request: KpiRequest,
    names: Sequence[str],
    sla_outcomes: Sequence[tuple[str, str, str]] = (),
) -> dict[str, list[dict[str, Any]]]:
    """The rows of several :data:`SELECTIONS` metrics in one pass over ``ticket_facts``, grouped once
    (the same numbers as :func:`rows` gives each); tickets created only when the request dates by
    creation. ``sla_outcomes``: SLA attainment too, per (target, column of targets met, column of
    targets breached) that the ticket facts hold (:mod:`duck_facts`)."""
    keys = list(request.by)
    labels, joins = _keys(keys)
    parts: list[tuple[str, str | None, Kind, list[str]]] = []
    for name in names:
        where, value = SELECTIONS[name]
        kind, only = METRICS[name].kind, f"FILTER (WHERE {where})"
        if kind is Kind.DURATION:
            exprs = [f"count(*) {only}", f"avg({value}) {only}"]
            exprs += [f"quantile_cont({value}, {q}) {only}" for q in (0.5, 0.9)]
        elif kind is Kind.RATE:
            exprs = [f"count(*) {only}", f"count(*) FILTER (WHERE {where} AND {value})"]
        else:
            exprs = [f"count(*) {only}"]
        parts.append((name, None, kind, exprs))
    for target, met, breached in sla_outcomes:
        sums = [f"coalesce(sum({met} + {breached}), 0)", f"coalesce(sum({met}), 0)"]
        parts.append(("sla_attainment", target, Kind.RATE, sums))
    at = "latest_solve" if request.date_basis == "solved" else "created_at"
    group = f"GROUP BY {', '.join(labels)} ORDER BY {', '.join(labels)}" if labels else ""
    columns = ", ".join(expr for *_, exprs in parts for expr in exprs)
    query = f"""
        SELECT {"".join(f"{label}, " for label in labels)}{columns}
        FROM (SELECT *, {at} AS "at" FROM ticket_facts WHERE {at} >= $start AND {at} < $end) s {joins}
        {group}
    """
    start = datetime.combine(request.start, time(), UTC)
    end = datetime.combine(request.end + timedelta(days=1), time(), UTC)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in parts}
    for record in con.execute(query, {"start": start, "end": end}).fetchall():
        row: dict[str, Any] = {
            key: value.strftime(PERIODS[key]) if key in PERIODS else value
            for key, value in zip(keys, record[: len(labels)], strict=True)
        }
        position = len(labels)
        for metric, sla_target, kind, exprs in parts:
            values = record[position : position + len(exprs)]
            position += len(exprs)
            if values[0]:
                labelled = {**row, "target": sla_target} if sla_target else row
                out[metric].append({**labelled, "metric": metric, **_numbers(kind, values)})
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
