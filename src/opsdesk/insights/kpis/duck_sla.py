"""SLA attainment (``sla.sla_attainment``) as SQL for DuckDB, for policies whose hours are 24x7.

The same clocks as the frame definition: first reply (created -> first public agent reply or solve, an
agent's opening comment not counting), next reply (after the first answer, the first public requester
message of a run -> the next answer), resolution (created -> the start of the final run of solved/closed
statuses); each counts only the time spent in statuses its policy does not pause; it is breached once
that time passed the target, or reached it exactly while the clock was not running at its stop. Clocks
still running and not yet breached are left out, and merged tickets have none.

Tickets under a policy with business hours need the desk's calendars (:mod:`business_time`); for those
the engine keeps the frame definition, so this module only has to be exact on the wall clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from opsdesk.insights.kpis.business_time import ScheduleVersions
from opsdesk.insights.kpis.frames import UNSOLVED
from opsdesk.insights.kpis.sla import Policy

if TYPE_CHECKING:
    import duckdb

ATTAINMENT = """
CREATE OR REPLACE TEMP TABLE sla_samples AS
WITH wanted AS (
    SELECT t.ticket_id, t.policy_id, g.target, g.target_s
    FROM tickets t JOIN sla_targets g ON g.policy_id = t.policy_id AND g.priority = t.priority
    WHERE NOT t.merged
),
log AS (
    SELECT e.ticket_id, e.seq, e."at", e.type, e.status, e.public IS TRUE AS public, e.author_kind,
        e.created_by_agent IS TRUE AS created_by_agent,
        e.log_order AS pos
    FROM events e
    WHERE e."at" <= $now AND e.ticket_id IN (SELECT ticket_id FROM wanted)
        AND e.type IN ('ticket_created', 'status_changed', 'message_added')
),
opening AS (
    SELECT ticket_id,
        CASE WHEN bool_or(created_by_agent) FILTER (WHERE type = 'ticket_created')
            AND arg_min(public AND author_kind = 'agent', pos) FILTER (WHERE type = 'message_added')
        THEN min(pos) FILTER (WHERE type = 'message_added') END AS pos,
        min("at") FILTER (WHERE type = 'ticket_created') AS created
    FROM log GROUP BY ticket_id
),
marked AS (
    SELECT l.*, o.created,
        (l.type = 'message_added' AND l.public AND l.author_kind = 'agent' AND l.pos IS DISTINCT FROM o.pos)
        OR (l.type = 'status_changed' AND l.status IN ('solved', 'closed')) AS answer,
        l.type = 'message_added' AND l.public AND l.author_kind = 'requester' AS asks
    FROM log l JOIN opening o USING (ticket_id)
),
first_answer AS (
    SELECT ticket_id, min(pos) AS pos, arg_min("at", pos) AS "at" FROM marked WHERE answer GROUP BY ticket_id
),
after AS (
    SELECT m.ticket_id, m."at", m.pos, m.answer, m.asks,
        sum(m.answer::INTEGER) OVER (PARTITION BY m.ticket_id ORDER BY m.pos ROWS UNBOUNDED PRECEDING)
            - m.answer::INTEGER AS run
    FROM marked m JOIN first_answer f USING (ticket_id)
    WHERE m.pos > f.pos AND (m.answer OR m.asks)
),
exchanges AS (
    SELECT ticket_id, min("at") FILTER (WHERE asks) AS start,
        arg_min("at", pos) FILTER (WHERE answer) AS "end"
    FROM after GROUP BY ticket_id, run
),
timeline AS (
    SELECT ticket_id, pos, "at", coalesce(status, 'new') AS status,
        lead("at") OVER (PARTITION BY ticket_id ORDER BY pos) AS until
    FROM log WHERE type IN ('ticket_created', 'status_changed')
),
runs AS (
    SELECT *, status IN ('solved', 'closed') AND NOT coalesce(
        lag(status IN ('solved', 'closed')) OVER (PARTITION BY ticket_id ORDER BY pos), false) AS run_start
    FROM timeline
),
resolved AS (
    SELECT ticket_id,
        CASE WHEN arg_max(status, pos) IN ('solved', 'closed')
        THEN arg_max("at", pos) FILTER (WHERE run_start) END AS "end"
    FROM runs GROUP BY ticket_id
),
windows AS (
    SELECT o.ticket_id, 'first_reply' AS target, o.created AS start, f."at" AS "end"
    FROM opening o LEFT JOIN first_answer f USING (ticket_id) WHERE o.created IS NOT NULL
    UNION ALL
    SELECT ticket_id, 'next_reply', start, "end" FROM exchanges WHERE start IS NOT NULL
    UNION ALL
    SELECT o.ticket_id, 'resolution', o.created, r."end"
    FROM opening o JOIN resolved r USING (ticket_id) WHERE o.created IS NOT NULL
),
measured AS (
    SELECT w.ticket_id, w.target, w.start, w."end", coalesce(w."end", $now) AS stop, g.policy_id, g.target_s,
        row_number() OVER () AS window_id
    FROM windows w JOIN wanted g USING (ticket_id, target)
),
pieces AS (
    SELECT m.window_id,
        (epoch_us(least(coalesce(t.until, m.stop), m.stop)) - epoch_us(greatest(t."at", m.start))) / 1e6
            AS seconds,
        least(coalesce(t.until, m.stop), m.stop) = m.stop AS at_stop
    FROM measured m
    JOIN timeline t ON t.ticket_id = m.ticket_id
    JOIN sla_running r ON r.policy_id = m.policy_id AND r.status = t.status
    WHERE greatest(t."at", m.start) < least(coalesce(t.until, m.stop), m.stop)
),
elapsed AS (
    SELECT window_id, sum(seconds) AS seconds, bool_or(at_stop) AS open_at_stop FROM pieces GROUP BY window_id
),
judged AS (
    SELECT m.ticket_id, m.target, m."end",
        coalesce(e.seconds, 0) > m.target_s
        OR (coalesce(e.seconds, 0) = m.target_s AND NOT coalesce(e.open_at_stop, false)) AS breached
    FROM measured m LEFT JOIN elapsed e USING (window_id)
)
SELECT ticket_id, target, NOT breached AS hit FROM judged WHERE "end" IS NOT NULL OR breached
"""


def business_schedules(schedules: ScheduleVersions | None) -> list[int]:
    """The schedules that are not 24x7 in some version: their tickets need the desk's calendars."""
    return [
        schedule_id
        for schedule_id, versions in (schedules or {}).items()
        if any(not hours.always_open for _from, hours in versions)
    ]


def supported(con: duckdb.DuckDBPyConnection, schedules: ScheduleVersions | None) -> bool:
    """Whether every ticket under a policy runs on 24x7 hours (so the wall clock measures its SLA)."""
    business = business_schedules(schedules)
    if not business:
        return True
    found = con.execute(
        "SELECT count(*) FROM tickets WHERE policy_id IS NOT NULL AND list_contains($ids, schedule_id)",
        {"ids": business},
    ).fetchone()
    return not found or found[0] == 0


def build_samples(con: duckdb.DuckDBPyConnection, policies: Mapping[int, Policy], now: datetime) -> None:
    """``sla_samples`` (ticket_id, target, hit): one row per target met or breached."""
    targets = [
        (policy_id, priority, metric, duration.total_seconds())
        for policy_id, policy in policies.items()
        for priority, metrics in policy.targets.items()
        for metric, duration in metrics.items()
    ]
    running = [
        (policy_id, status)
        for policy_id, policy in policies.items()
        for status in UNSOLVED
        if status not in policy.pausing_statuses
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sla_targets "
        "(policy_id BIGINT, priority VARCHAR, target VARCHAR, target_s DOUBLE)"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE sla_running (policy_id BIGINT, status VARCHAR)")
    if targets:
        con.executemany("INSERT INTO sla_targets VALUES (?, ?, ?, ?)", targets)
    if running:
        con.executemany("INSERT INTO sla_running VALUES (?, ?)", running)
    con.execute(ATTAINMENT, {"now": now})
