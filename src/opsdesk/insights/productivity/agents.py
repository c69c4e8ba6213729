"""Per-agent productivity, pure over frames.

- Public replies: an agent's public messages in the period (``replies``: agent_id, ticket_id, at).
  Touches per ticket: those replies / the distinct tickets they went to.
- Handle time: the handling seconds of the calls and chats the agent answered (the KPI engine's contact
  frame, so AHT and handle time are one definition).
- Time online: from ``presence_changed`` events (agent_id, at, status: the event's ``to``), the seconds spent
  in ``online`` inside the period; the status in force when the period starts is the agent's last
  event before it. Occupancy: handle time / time online. An agent with no presence event at all has no
  occupancy (None, shown as "no presence data"), never a guessed one.
- Ticket outcomes come from KPI engine rows grouped by ``agent`` (the assignee): tickets solved,
  one-touch and reopen rates, SLA attainment over all targets, CSAT; QA is the IQS of the agent's
  reviews.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

ONLINE = "online"
RATE_METRICS = ("one_touch_rate", "reopen_rate", "sla_attainment", "csat")
ENGINE_METRICS = ("tickets_solved", *RATE_METRICS)
COLUMNS = (
    "agent",
    "tickets_solved",
    "public_replies",
    "tickets_touched",
    "touches_per_ticket",
    "handle_s",
    "online_s",
    "occupancy",
    "one_touch_rate",
    "reopen_rate",
    "sla_attainment",
    "csat",
    "qa_reviews",
    "qa_score",
)


@dataclass(frozen=True)
class Fraction:
    """A rate kept with its parts, so rates of agents add up to the rate of their team."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __add__(self, other: Fraction) -> Fraction:
        return Fraction(self.numerator + other.numerator, self.denominator + other.denominator)


def online_seconds(presence: pd.DataFrame, start: datetime, end: datetime) -> dict[int, float]:
    """Seconds each agent was ``online`` within [start, end). ``presence`` holds every event up to
    ``end``, including the last one before ``start`` (its status is in force when the period opens);
    the last status runs to ``end``. Agents without any event are absent from the result."""
    import pandas as pd

    if not len(presence):
        return {}
    log = presence.sort_values(["agent_id", "at"], kind="stable").copy()
    log["at"] = pd.to_datetime(log["at"], utc=True)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    log["until"] = log.groupby("agent_id", sort=False)["at"].shift(-1).fillna(hi)
    begin = log["at"].clip(lower=lo, upper=hi)
    finish = log["until"].clip(lower=lo, upper=hi)
    seconds = (finish - begin).dt.total_seconds().where(log["status"] == ONLINE, 0.0)
    return {int(a): float(s) for a, s in seconds.groupby(log["agent_id"]).sum().items()}


def reply_counts(replies: pd.DataFrame) -> dict[int, tuple[int, int]]:
    """Agent -> (public replies, distinct tickets replied to)."""
    if not len(replies):
        return {}
    grouped = replies.groupby("agent_id")["ticket_id"]
    counts, tickets = grouped.size(), grouped.nunique()
    return {int(a): (int(counts[a]), int(tickets[a])) for a in counts.index}


def handle_seconds(contacts: pd.DataFrame, start: datetime, end: datetime) -> dict[int, float]:
    """Agent -> handling seconds of the answered calls and chats offered in [start, end)."""
    import pandas as pd

    if not len(contacts):
        return {}
    at = pd.to_datetime(contacts["at"], utc=True)
    inside = contacts[
        (at >= pd.Timestamp(start)) & (at < pd.Timestamp(end)) & contacts["answered"].astype(bool)
    ]
    inside = inside[inside["agent_id"].notna() & inside["handle_s"].notna()]
    sums = inside["handle_s"].astype("float64").groupby(inside["agent_id"].astype("int64")).sum()
    return {int(a): float(s) for a, s in sums.items()}


def engine_outcomes(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """KPI engine rows grouped by ``key`` -> per group: tickets solved (int) and each rate as a
    :class:`Fraction` (SLA attainment summed over its targets)."""
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = row.get(key)
        if group is None:
            continue
        numbers = result.setdefault(str(group), {})
        metric = row["metric"]
        if metric == "tickets_solved":
            numbers[metric] = numbers.get(metric, 0) + int(row["value"])
        elif metric in RATE_METRICS:
            part = Fraction(int(row["numerator"]), int(row["denominator"]))
            numbers[metric] = numbers.get(metric, Fraction(0, 0)) + part
    return result


@dataclass(frozen=True)
class Agent:
    agent_id: int
    email: str
    name: str


def agent_rows(
    agents: Iterable[Agent],
    *,
    outcomes: Mapping[str, Mapping[str, Any]],
    replies: Mapping[int, tuple[int, int]],
    handle: Mapping[int, float],
    online: Mapping[int, float],
    qa: Mapping[int, tuple[int, float | None]],
) -> list[dict[str, Any]]:
    """One row per agent with any work in the period (or any presence), numbers as in ``COLUMNS``;
    rates as Fractions, occupancy None without presence data (or no time online)."""
    rows = []
    for agent in agents:
        done = outcomes.get(agent.email, {})
        public, touched = replies.get(agent.agent_id, (0, 0))
        handled = handle.get(agent.agent_id, 0.0)
        reviews, score = qa.get(agent.agent_id, (0, None))
        if not (done or public or handled or reviews or agent.agent_id in online):
            continue
        seconds_online = online.get(agent.agent_id)
        rows.append(
            {
                "agent_id": agent.agent_id,
                "agent": agent.name or agent.email,
                "email": agent.email,
                "tickets_solved": int(done.get("tickets_solved", 0)),
                "public_replies": public,
                "tickets_touched": touched,
                "touches_per_ticket": public / touched if touched else None,
                "handle_s": handled,
                "online_s": seconds_online,
                "occupancy": handled / seconds_online if seconds_online else None,
                **{m: done.get(m, Fraction(0, 0)) for m in RATE_METRICS},
                "qa_reviews": reviews,
                "qa_score": score,
            }
        )
    return rows


def rollup(rows: Iterable[Mapping[str, Any]], members: Mapping[int, Iterable[str]]) -> list[dict[str, Any]]:
    """Team or site rows from agent rows: counts, seconds and rate parts summed over the agents of each
    (an agent in two teams counts in both); occupancy over the members with presence data only; QA the
    review-weighted mean of the agents' IQS (the mean of all their review scores)."""
    teams: dict[str, dict[str, Any]] = {}
    for row in rows:
        for team in members.get(int(row["agent_id"]), ()):
            t = teams.setdefault(
                team,
                {
                    "team": team,
                    "agents": 0,
                    "tickets_solved": 0,
                    "public_replies": 0,
                    "tickets_touched": 0,
                    "handle_s": 0.0,
                    "present_handle_s": 0.0,
                    "online_s": 0.0,
                    "qa_reviews": 0,
                    "qa_sum": 0.0,
                    **{m: Fraction(0, 0) for m in RATE_METRICS},
                },
            )
            t["agents"] += 1
            for key in ("tickets_solved", "public_replies", "tickets_touched", "handle_s", "qa_reviews"):
                t[key] += row[key]
            if row["online_s"]:
                t["online_s"] += row["online_s"]
                t["present_handle_s"] += row["handle_s"]
            if row["qa_score"] is not None:
                t["qa_sum"] += row["qa_score"] * row["qa_reviews"]
            for metric in RATE_METRICS:
                t[metric] = t[metric] + row[metric]
    result = []
    for team in sorted(teams):
        t = teams[team]
        result.append(
            {
                "team": team,
                "agents": t["agents"],
                "tickets_solved": t["tickets_solved"],
                "public_replies": t["public_replies"],
                "touches_per_ticket": t["public_replies"] / t["tickets_touched"]
                if t["tickets_touched"]
                else None,
                "handle_s": t["handle_s"],
                "online_s": t["online_s"] or None,
                "occupancy": t["present_handle_s"] / t["online_s"] if t["online_s"] else None,
                **{m: t[m] for m in RATE_METRICS},
                "qa_reviews": t["qa_reviews"],
                "qa_score": t["qa_sum"] / t["qa_reviews"] if t["qa_reviews"] else None,
            }
        )
    return result
