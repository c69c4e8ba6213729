"""The ticket KPIs of the design, one function each: frames in, samples out.

A sample frame has ``ticket_id`` and, by kind, ``seconds`` (durations), ``hit`` (rates: one row per
member of the denominator, ``hit`` for the numerator) or nothing more (counts: one row per item).
Samples counted at their own instant (CSAT, volumes, backlog) carry ``at``; the others are put in a period
by their ticket's creation or solve date (see ``engine``). Every step works on whole columns: no loop over
tickets or events. SLA attainment has a module of its own (``sla``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsdesk.insights.kpis.business_time import Timer
from opsdesk.insights.kpis.frames import DONE, UNSOLVED

if TYPE_CHECKING:
    import pandas as pd


def ordered(events: pd.DataFrame) -> pd.DataFrame:
    """Each ticket's events in the log's order (time, then the order they were written)."""
    return events.sort_values(["ticket_id", "at", "seq"], kind="stable")


def _flag(column: pd.Series) -> pd.Series:
    return column.eq(True)


def public_agent_replies(events: pd.DataFrame) -> pd.DataFrame:
    """Public agent comments that are replies: an agent's opening comment on a ticket they created is
    not one (Zendesk's rule). Bot and system messages have their own author kind and never count."""
    messages = ordered(events[events["type"] == "message_added"])
    created = events[(events["type"] == "ticket_created") & _flag(events["created_by_agent"])]
    first = messages.groupby("ticket_id", sort=False).head(1)
    opening = first[
        _flag(first["public"])
        & (first["author_kind"] == "agent")
        & first["ticket_id"].isin(created["ticket_id"])
    ]
    replies = _flag(messages["public"]) & (messages["author_kind"] == "agent")
    return messages[replies & ~messages["seq"].isin(opening["seq"])]


def _duration(frame: pd.DataFrame, timer: Timer, start: str, end: str, at: str) -> pd.DataFrame:
    import pandas as pd

    seconds = timer.seconds(frame["ticket_id"], frame[start], frame[end], frame[at])
    return pd.DataFrame({"ticket_id": frame["ticket_id"].to_numpy(), "seconds": seconds})


def first_reply_time(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    first = public_agent_replies(events).groupby("ticket_id", sort=False).head(1)
    frame = first[["ticket_id", "at"]].merge(tickets[["ticket_id", "created_at"]], on="ticket_id")
    return _duration(frame, timer, "created_at", "at", at="at")


def next_reply_time(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    """One sample per exchange after the first reply: the first public requester message of a run of
    them -> the next public agent reply. A run still unanswered gives no sample yet."""
    replies = public_agent_replies(events)
    first = replies.groupby("ticket_id", sort=False).head(1)[["ticket_id", "seq"]]
    public = ordered(events[(events["type"] == "message_added") & _flag(events["public"])])
    agent = public["seq"].isin(replies["seq"])
    public = public[agent | (public["author_kind"] == "requester")].assign(agent=agent)
    public["pos"] = public.groupby("ticket_id", sort=False).cumcount()
    first_pos = public[public["seq"].isin(first["seq"])].set_index("ticket_id")["pos"]
    after = public[public["pos"] > public["ticket_id"].map(first_pos)].copy()
    after["exchange"] = after.groupby("ticket_id", sort=False)["agent"].cumsum() - after["agent"]
    keys = ["ticket_id", "exchange"]
    asked = after[~after["agent"]].groupby(keys)["at"].min().rename("asked")
    answered = after[after["agent"]].set_index(keys)["at"].rename("answered")
    pairs = asked.to_frame().join(answered, how="inner").reset_index()
    return _duration(pairs, timer, "asked", "answered", at="answered")


def solves(events: pd.DataFrame) -> pd.DataFrame:
    return ordered(events[(events["type"] == "status_changed") & (events["status"] == "solved")])


def latest_solve(tickets: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Ticket id -> its latest solve, for tickets solved or closed now (a merge closes without one)."""
    done = tickets[tickets["status"].isin(DONE) & ~tickets["merged"]]["ticket_id"]
    last = solves(events).groupby("ticket_id")["at"].last()
    return last[last.index.isin(done)]


def first_resolution_time(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    first = solves(events).groupby("ticket_id", sort=False).head(1)[["ticket_id", "at"]]
    frame = first.merge(tickets[["ticket_id", "created_at"]], on="ticket_id")
    return _duration(frame, timer, "created_at", "at", at="at")


def full_resolution_time(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    last = latest_solve(tickets, events).rename("at").reset_index()
    frame = last.merge(tickets[["ticket_id", "created_at"]], on="ticket_id")
    return _duration(frame, timer, "created_at", "at", at="at")


def time_in_statuses(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    """Ticket id -> seconds in each unsolved status up to its latest solve, for tickets solved now.
    Each stretch is measured with the hours in force when it began."""
    import pandas as pd

    last = latest_solve(tickets, events)
    changes = (events["type"] == "ticket_created") | (events["type"] == "status_changed")
    timeline = ordered(events[changes & events["status"].notna() & events["ticket_id"].isin(last.index)])
    timeline = timeline[["ticket_id", "at", "status"]].copy()
    timeline["until"] = timeline.groupby("ticket_id", sort=False)["at"].shift(-1)
    timeline = timeline[timeline["at"] < timeline["ticket_id"].map(last)]
    timeline["seconds"] = timer.seconds(
        timeline["ticket_id"], timeline["at"], timeline["until"], timeline["at"]
    )
    spent = timeline.pivot_table(index="ticket_id", columns="status", values="seconds", aggfunc="sum")
    return spent.reindex(index=pd.Index(last.index, name="ticket_id"), columns=list(UNSOLVED)).fillna(0.0)


def _status_duration(statuses: Sequence[str]) -> Any:
    def measure(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
        spent = time_in_statuses(tickets, events, timer)
        return spent[list(statuses)].sum(axis=1).rename("seconds").reset_index()

    return measure


requester_wait_time = _status_duration(("new", "open", "on_hold"))
agent_wait_time = _status_duration(("pending",))
agent_work_time = _status_duration(("new", "open"))
on_hold_time = _status_duration(("on_hold",))


def _rate(denominator: pd.Index | pd.Series, numerator: pd.Index | pd.Series) -> pd.DataFrame:
    import pandas as pd

    members = pd.Series(pd.unique(pd.Series(denominator)), name="ticket_id")
    return pd.DataFrame({"ticket_id": members, "hit": members.isin(numerator).to_numpy()})


def solved_once(events: pd.DataFrame) -> pd.Series:
    return solves(events)["ticket_id"]


def reopens(events: pd.DataFrame) -> pd.DataFrame:
    """Every reopen: a change from solved back to an unsolved status (Zendesk's ``reopens`` counts them)."""
    return events[
        (events["type"] == "status_changed")
        & (events["from_status"] == "solved")
        & events["status"].isin(UNSOLVED)
    ]


def reopen_rate(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    return _rate(solved_once(events), reopens(events)["ticket_id"])


def one_touch_rate(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    counts = public_agent_replies(events).groupby("ticket_id").size()
    return _rate(solved_once(events), counts[counts == 1].index.to_series())


def escalation_rate(tickets: pd.DataFrame, events: pd.DataFrame, timer: Timer) -> pd.DataFrame:
    return _rate(tickets["ticket_id"], events[events["type"] == "escalated"]["ticket_id"])


def csat(events: pd.DataFrame) -> pd.DataFrame:
    """The latest rating of each ticket, at the time it was received; on 1-5, 4 and 5 are good."""
    ratings = ordered(events[events["type"] == "csat_received"]).groupby("ticket_id", sort=False).tail(1)
    five = (ratings["scale"] == "one_to_five") & ratings["score"].notna()
    score = ratings["score"].where(five, 0).astype("float64")
    good = (five & (score >= 4)) | (~five & (ratings["rating"] == "good"))
    return ratings[["ticket_id", "at"]].assign(hit=good.to_numpy())


def tickets_created(tickets: pd.DataFrame) -> pd.DataFrame:
    return tickets[["ticket_id", "created_at"]].rename(columns={"created_at": "at"})


def tickets_solved(tickets: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    return latest_solve(tickets, events).rename("at").reset_index()


def backlog(tickets: pd.DataFrame, events: pd.DataFrame, instants: Sequence[datetime]) -> pd.DataFrame:
    """One row per ticket unsolved at each instant (``at`` is the instant)."""
    import pandas as pd

    changes = (events["type"] == "ticket_created") | (events["type"] == "status_changed")
    timeline = ordered(events[changes & events["status"].notna()])[["ticket_id", "at", "status"]].copy()
    timeline["until"] = timeline.groupby("ticket_id", sort=False)["at"].shift(-1)
    timeline = timeline[timeline["status"].isin(UNSOLVED)]
    parts = []
    for instant in instants:
        moment = pd.Timestamp(instant)
        inside = (timeline["at"] <= moment) & (timeline["until"].isna() | (timeline["until"] > moment))
        parts.append(pd.DataFrame({"ticket_id": timeline["ticket_id"][inside].to_numpy(), "at": moment}))
    if not parts:
        return pd.DataFrame(
            {"ticket_id": pd.Series(dtype="int64"), "at": pd.Series(dtype="datetime64[ns, UTC]")}
        )
    return pd.concat(parts, ignore_index=True)


TICKET_DURATIONS = {
    "first_reply_time": first_reply_time,
    "next_reply_time": next_reply_time,
    "first_resolution_time": first_resolution_time,
    "full_resolution_time": full_resolution_time,
    "requester_wait_time": requester_wait_time,
    "agent_wait_time": agent_wait_time,
    "agent_work_time": agent_work_time,
    "on_hold_time": on_hold_time,
}
TICKET_RATES = {
    "reopen_rate": reopen_rate,
    "one_touch_rate": one_touch_rate,
    "escalation_rate": escalation_rate,
}
