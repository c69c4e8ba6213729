"""The agent and team productivity dashboard: per agent, team and site (the agent's own teams and
site), from the KPI engine's rows by agent plus replies, handle time, presence and QA
(``insights.productivity``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core.models import User
from opsdesk.insights.dashboards.data import bounds, engine_rows, narrowed, period_data
from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.dashboards.panels import Column, Panel, ratio
from opsdesk.insights.productivity import agents as productivity
from opsdesk.insights.productivity import queries
from opsdesk.insights.productivity.agents import Fraction

NO_PRESENCE = "no presence data"


def _h(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _score(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _numbers(row: dict[str, Any]) -> list[Any]:
    return [
        row["tickets_solved"],
        row["public_replies"],
        None if row["touches_per_ticket"] is None else round(row["touches_per_ticket"], 2),
        _h(row["handle_s"]),
        _h(row["online_s"]),
        ratio(row["occupancy"]),
        *(ratio(row[m]) for m in productivity.RATE_METRICS),
        row["qa_reviews"],
        _score(row["qa_score"]),
    ]


NUMBER_COLUMNS = [
    Column("tickets_solved", "Solved", "count"),
    Column("public_replies", "Public replies", "count"),
    Column("touches_per_ticket", "Touches per ticket"),
    Column("handle_h", "Handle time (h)", "hours"),
    Column("online_h", "Online (h)", "hours", NO_PRESENCE),
    Column("occupancy", "Occupancy", "rate", NO_PRESENCE),
    Column("one_touch_rate", "One-touch", "rate"),
    Column("reopen_rate", "Reopen rate", "rate"),
    Column("sla_attainment", "SLA attainment", "rate"),
    Column("csat", "CSAT", "rate"),
    Column("qa_reviews", "QA reviews", "count"),
    Column("qa_score", "QA score (IQS)", "score"),
]


@dataclass(frozen=True)
class Work:
    """The numbers of the period's work, the same for every reader (only QA depends on who reads):
    the engine's outcomes by agent email, public replies and tickets touched, handle and online
    seconds by agent id, and whether anyone was online in the period."""

    outcomes: dict[str, dict[str, Any]]
    replies: dict[int, tuple[int, int]]
    handle: dict[int, float]
    online: dict[int, float]
    presence: bool

    def to_json(self) -> str:
        outcomes = {
            email: {
                m: [v.numerator, v.denominator] if isinstance(v, Fraction) else v for m, v in numbers.items()
            }
            for email, numbers in self.outcomes.items()
        }
        return json.dumps([outcomes, self.replies, self.handle, self.online, self.presence])

    @classmethod
    def from_json(cls, body: str) -> Work:
        outcomes, replies, handle, online, presence = json.loads(body)
        return cls(
            {
                email: {m: Fraction(*v) if isinstance(v, list) else v for m, v in numbers.items()}
                for email, numbers in outcomes.items()
            },
            {int(a): (n, t) for a, (n, t) in replies.items()},
            {int(a): s for a, s in handle.items()},
            {int(a): s for a, s in online.items()},
            presence,
        )


def period_work(session: Session, where: DashboardFilter, *, now: datetime) -> Work:
    from opsdesk.insights.kpis.contacts import contacts
    from opsdesk.insights.kpis.definitions import public_agent_replies

    data = period_data(session, where, now)
    frames = narrowed(data.frames, where)
    start, end = bounds(where)
    outcomes = productivity.engine_outcomes(
        engine_rows(data, frames, where, productivity.ENGINE_METRICS, ("agent",), now=now), "agent"
    )
    authors = queries.reply_authors(session, start, end)
    replies = public_agent_replies(frames.events)
    replies = replies[replies["seq"].isin(list(authors))]
    replies = replies.assign(agent_id=replies["seq"].map(authors))
    presence = queries.presence(session, start, end)
    return Work(
        outcomes,
        productivity.reply_counts(replies),
        productivity.handle_seconds(contacts(frames.calls, frames.events), start, end),
        # The last status runs to now, not to the end of a period that is not over yet.
        (online := productivity.online_seconds(presence, start, min(end, now))),
        any(online.values()),
    )


def productivity_dashboard(
    session: Session, where: DashboardFilter, *, reader: User, now: datetime
) -> list[Panel]:
    """The period's work (shared by every reader, see ``snapshots.shared_work``) with the QA scores
    of the reviews ``reader`` may read."""
    from opsdesk.insights.dashboards.snapshots import shared_work

    work = shared_work(session, where, now)
    agents, teams, sites = queries.staff(session)
    rows = productivity.agent_rows(
        agents,
        outcomes=work.outcomes,
        replies=work.replies,
        handle=work.handle,
        online=work.online,
        qa=queries.qa_scores(session, reader, where.start, where.end),
    )
    note = (
        ""
        if work.presence
        else "No time online in this period (presence events): occupancy shows no presence data."
    )
    team_rows = productivity.rollup(rows, teams)
    site_rows = productivity.rollup(rows, sites)
    return [
        Panel(
            "agents",
            "Per agent",
            [Column("agent", "Agent"), *NUMBER_COLUMNS],
            [[r["agent"], *_numbers(r)] for r in rows],
            x="agent",
            series=["tickets_solved", "public_replies"],
            note=note,
        ),
        Panel(
            "teams",
            "Per team (the agents' teams)",
            [Column("team", "Team"), Column("agents", "Agents", "count"), *NUMBER_COLUMNS],
            [[r["team"], r["agents"], *_numbers(r)] for r in team_rows],
            x="team",
            series=["tickets_solved", "public_replies"],
            note=note,
        ),
        Panel(
            "team_quality",
            "Quality per team: SLA attainment, CSAT, one-touch and QA",
            [
                Column("team", "Team"),
                Column("sla_attainment", "SLA attainment", "rate"),
                Column("csat", "CSAT", "rate"),
                Column("one_touch_rate", "One-touch", "rate"),
                Column("qa_score_share", "QA score (IQS / 100)", "rate"),
            ],
            [
                [
                    r["team"],
                    ratio(r["sla_attainment"]),
                    ratio(r["csat"]),
                    ratio(r["one_touch_rate"]),
                    None if r["qa_score"] is None else round(r["qa_score"] / 100, 4),
                ]
                for r in team_rows
            ],
            x="team",
            series=["sla_attainment", "csat", "one_touch_rate", "qa_score_share"],
        ),
        Panel(
            "sites",
            "Per site (the agents' sites)",
            [Column("site", "Site"), Column("agents", "Agents", "count"), *NUMBER_COLUMNS],
            [[r["team"], r["agents"], *_numbers(r)] for r in site_rows],
            x="site",
            series=["tickets_solved", "public_replies"],
            note=note,
        ),
    ]
