"""Phone and chat KPIs from contact events: AHT, wait, service level and abandon rate.

A call is one ``call_completed`` event (its payload carries wait, talk, hold and wrap seconds). A chat is
the run of a ticket's events from one ``chat_started`` to the next: answered when an agent joins, then
handled until ``chat_ended``; abandoned when it ends before any agent joins. Both become one contact
frame (ticket_id, at = when offered, channel, agent_id, answered, abandoned, offered, wait_s, handle_s),
from which each metric is one selection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsdesk.insights.kpis.catalogue import SERVICE_LEVEL_SECONDS
from opsdesk.insights.kpis.definitions import ordered

if TYPE_CHECKING:
    import pandas as pd

CONTACT_COLUMNS = [
    "ticket_id",
    "at",
    "channel",
    "agent_id",
    "answered",
    "abandoned",
    "offered",
    "wait_s",
    "handle_s",
]


def calls(frame: pd.DataFrame) -> pd.DataFrame:
    """Voicemails were never offered to an agent; they are neither answered nor abandoned."""
    abandoned = frame["abandoned"].eq(True)
    voicemail = frame["voicemail"].eq(True)
    answered = ~abandoned & ~voicemail
    handle = frame[["talk_s", "hold_s", "wrap_s"]].astype("float64").fillna(0.0).sum(axis=1)
    return frame.assign(
        channel="phone",
        answered=answered,
        abandoned=abandoned & ~voicemail,
        offered=~voicemail,
        wait_s=frame["wait_s"].astype("float64"),
        handle_s=handle.where(answered),
    )[CONTACT_COLUMNS]


def chats(events: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    log = ordered(events[events["type"].isin(("chat_started", "chat_agent_joined", "chat_ended"))]).copy()
    log["chat"] = log.groupby("ticket_id", sort=False)["type"].transform(
        lambda t: (t == "chat_started").cumsum()
    )
    log = log[log["chat"] > 0]
    keys = ["ticket_id", "chat"]
    started = log[log["type"] == "chat_started"].set_index(keys)["at"].rename("at")
    joins = log[log["type"] == "chat_agent_joined"].groupby(keys).head(1).set_index(keys)
    ended = log[log["type"] == "chat_ended"].groupby(keys).head(1).set_index(keys)["at"].rename("ended")
    frame = started.to_frame().join(joins[["at", "agent_id"]].rename(columns={"at": "joined"})).join(ended)
    answered = frame["joined"].notna()
    abandoned = ~answered & frame["ended"].notna()
    frame = frame[answered | abandoned]
    answered, abandoned = answered[frame.index], abandoned[frame.index]
    until = frame["joined"].where(answered, frame["ended"])
    return (
        frame.assign(
            channel="chat",
            answered=answered,
            abandoned=abandoned,
            offered=True,
            wait_s=(until - frame["at"]).dt.total_seconds(),
            handle_s=(frame["ended"] - frame["joined"]).dt.total_seconds(),
        )
        .reset_index()[CONTACT_COLUMNS]
        .astype({"answered": bool, "abandoned": bool, "offered": bool})
        if len(frame)
        else pd.DataFrame(columns=CONTACT_COLUMNS)
    )


def contacts(call_frame: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    parts = [part for part in (calls(call_frame), chats(events)) if len(part)]
    if not parts:
        return pd.DataFrame(columns=CONTACT_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def aht(contact: pd.DataFrame) -> pd.DataFrame:
    handled = contact[contact["answered"].astype(bool) & contact["handle_s"].notna()]
    return handled.assign(seconds=handled["handle_s"].astype("float64"))


def wait_time(contact: pd.DataFrame) -> pd.DataFrame:
    answered = contact[contact["answered"].astype(bool)]
    return answered.assign(seconds=answered["wait_s"].astype("float64"))


def service_level(contact: pd.DataFrame) -> pd.DataFrame:
    offered = contact[contact["offered"].astype(bool)]
    in_time = offered["answered"].astype(bool) & (
        offered["wait_s"].astype("float64") <= SERVICE_LEVEL_SECONDS
    )
    return offered.assign(hit=in_time)


def abandon_rate(contact: pd.DataFrame) -> pd.DataFrame:
    offered = contact[contact["offered"].astype(bool)]
    return offered.assign(hit=offered["abandoned"].astype(bool))


CONTACT_METRICS = {
    "aht": aht,
    "wait_time": wait_time,
    "service_level": service_level,
    "abandon_rate": abandon_rate,
}
