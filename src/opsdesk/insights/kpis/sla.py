"""SLA attainment over whole columns, with the desk's clock semantics (``desk.sla.metrics``):

- first reply: created -> the first public agent reply or solve (an agent's opening public comment
  does not count);
- next reply: after the first reply, the first public requester message of a run -> the next public
  agent reply or solve;
- resolution: created -> the start of the final run of solved/closed statuses;
- each clock counts business time (the hours in force when it stopped) only while the ticket is in a
  status its policy does not pause; it is breached once that time passed the target before it
  stopped (a reply exactly at the due instant is in time; one after the hours closed on the due
  instant is not).

Windows are joined to the stretches of the status timeline they overlap and measured by the
vectorised :class:`Timer`, so no Python runs per ticket; a test replays random tickets through
``compute_clocks`` and checks that both agree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from opsdesk.insights.kpis.business_time import Timer
from opsdesk.insights.kpis.definitions import ordered, public_agent_replies
from opsdesk.insights.kpis.frames import DONE, UNSOLVED

if TYPE_CHECKING:
    import pandas as pd

FIRST_REPLY, NEXT_REPLY, RESOLUTION = "first_reply", "next_reply", "resolution"
WINDOW_COLUMNS = ["ticket_id", "target", "start", "end"]


class Policy(Protocol):
    """What attainment needs of a policy (the desk's cached policies are such)."""

    @property
    def targets(self) -> Mapping[str, Mapping[str, timedelta]]: ...
    @property
    def pausing_statuses(self) -> frozenset[str]: ...


def sla_attainment(
    tickets: pd.DataFrame, events: pd.DataFrame, policies: Mapping[int, Policy], now: datetime, timer: Timer
) -> pd.DataFrame:
    """One row per target met or breached (``target``, ``hit`` = met); clocks still running and not yet
    breached are left out, and so are merged tickets (their targets went on in the ticket they were
    merged into). ``timer`` measures in each ticket's SLA hours."""
    import pandas as pd

    moment = pd.Timestamp(now)
    wanted = _targets(tickets, policies)
    if not len(wanted):
        return pd.DataFrame({"ticket_id": [], "target": [], "hit": []})
    log = ordered(events[events["ticket_id"].isin(wanted["ticket_id"]) & (events["at"] <= moment)])
    windows = pd.concat([_reply_windows(log), _resolution_windows(log)], ignore_index=True)
    windows = windows.merge(wanted, on=["ticket_id", "target"])
    windows["stop"] = windows["end"].fillna(moment)
    windows["window"] = range(len(windows))
    pieces = _running_pieces(windows, log, policies)
    pieces["seconds"] = timer.seconds(pieces["ticket_id"], pieces["a"], pieces["b"], pieces["stop"])
    elapsed = pieces.groupby("window")["seconds"].sum().reindex(windows["window"], fill_value=0.0).to_numpy()
    last = pieces[pieces["b"] == pieces["stop"]]
    just_before = last["stop"] - pd.Timedelta(microseconds=1)
    open_at_stop = last["window"][
        timer.seconds(last["ticket_id"], just_before, last["stop"], last["stop"]) > 0
    ]
    target = windows["target_s"].to_numpy()
    breached = (elapsed > target) | ((elapsed == target) & ~windows["window"].isin(open_at_stop).to_numpy())
    ended = windows["end"].notna().to_numpy()
    keep = ended | breached
    return pd.DataFrame(
        {
            "ticket_id": windows["ticket_id"].to_numpy()[keep],
            "target": windows["target"].to_numpy()[keep],
            "hit": ~breached[keep],
        }
    )


def _targets(tickets: pd.DataFrame, policies: Mapping[int, Policy]) -> pd.DataFrame:
    """(ticket_id, target, target_s, policy_id) for every target the ticket's policy sets."""
    import pandas as pd

    rows = [
        (policy_id, priority, metric, duration.total_seconds())
        for policy_id, policy in policies.items()
        for priority, metrics in policy.targets.items()
        for metric, duration in metrics.items()
    ]
    targets = pd.DataFrame(rows, columns=["policy_id", "priority", "target", "target_s"])
    chosen = tickets[tickets["policy_id"].notna() & ~tickets["merged"]][
        ["ticket_id", "priority", "policy_id"]
    ]
    chosen = chosen.astype({"policy_id": "int64"})
    return chosen.merge(targets, on=["policy_id", "priority"])[
        ["ticket_id", "target", "target_s", "policy_id"]
    ]


def _reply_windows(log: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    created = log[log["type"] == "ticket_created"].groupby("ticket_id", sort=False)["at"].first()
    solve = (log["type"] == "status_changed") & log["status"].isin(DONE)
    agent = log["seq"].isin(public_agent_replies(log)["seq"])
    answer = (agent | solve).to_numpy()
    marked = log.assign(pos=log.groupby("ticket_id", sort=False).cumcount().to_numpy(), answer=answer)
    answers = marked[marked["answer"]]
    first = answers.groupby("ticket_id", sort=False).head(1).set_index("ticket_id")
    first_reply = pd.DataFrame(
        {"ticket_id": created.index, "target": FIRST_REPLY, "start": created.to_numpy()}
    ).assign(end=lambda f: f["ticket_id"].map(first["at"]))
    requester = (
        (log["type"] == "message_added") & log["public"].eq(True) & (log["author_kind"] == "requester")
    )
    after = marked[
        (requester.to_numpy() | answer) & (marked["pos"] > marked["ticket_id"].map(first["pos"]))
    ].copy()
    after["run"] = after.groupby("ticket_id", sort=False)["answer"].cumsum() - after["answer"]
    keys = ["ticket_id", "run"]
    asked = after[~after["answer"]].groupby(keys)["at"].min().rename("start")
    answered = after[after["answer"]].groupby(keys)["at"].first().rename("end")
    nexts = asked.to_frame().join(answered, how="left").reset_index().drop(columns="run")
    return pd.concat([first_reply, nexts.assign(target=NEXT_REPLY)[WINDOW_COLUMNS]], ignore_index=True)


def _timeline(log: pd.DataFrame) -> pd.DataFrame:
    changes = (log["type"] == "ticket_created") | (log["type"] == "status_changed")
    timeline = log[changes][["ticket_id", "at", "status"]].copy()
    timeline["status"] = timeline["status"].fillna("new")
    timeline["until"] = timeline.groupby("ticket_id", sort=False)["at"].shift(-1)
    return timeline


def _resolution_windows(log: pd.DataFrame) -> pd.DataFrame:
    """Resolved at the start of the final run of done statuses; running while the last is unsolved."""
    import pandas as pd

    timeline = _timeline(log)
    created = timeline.groupby("ticket_id", sort=False)["at"].first()
    done = timeline["status"].isin(DONE)
    run_start = timeline["at"].where(done & ~done.groupby(timeline["ticket_id"]).shift(1, fill_value=False))
    last = timeline.groupby("ticket_id", sort=False).tail(1).set_index("ticket_id")
    resolved = run_start.groupby(timeline["ticket_id"]).last().where(last["status"].isin(DONE))
    return pd.DataFrame(
        {"ticket_id": created.index, "target": RESOLUTION, "start": created.to_numpy()}
    ).assign(end=lambda f: f["ticket_id"].map(resolved))


def _running_pieces(windows: pd.DataFrame, log: pd.DataFrame, policies: Mapping[int, Policy]) -> pd.DataFrame:
    """The parts of each window in a status its policy lets run: window x timeline stretch, clipped."""
    import pandas as pd

    running = pd.DataFrame(
        [
            (pid, status)
            for pid, p in policies.items()
            for status in UNSOLVED
            if status not in p.pausing_statuses
        ],
        columns=["policy_id", "status"],
    )
    timeline = _timeline(log)
    pieces = windows[["window", "ticket_id", "policy_id", "start", "stop"]].merge(timeline, on="ticket_id")
    pieces = pieces.merge(running, on=["policy_id", "status"])
    pieces["a"] = pieces[["at", "start"]].max(axis=1)
    pieces["b"] = pieces["until"].fillna(pieces["stop"]).where(lambda u: u < pieces["stop"], pieces["stop"])
    return pieces[pieces["a"] < pieces["b"]].reset_index(drop=True)
