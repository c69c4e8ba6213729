"""The frames every KPI definition reads, and the columns each holds (the loader fills them from the
database; tests and the benchmark build them directly).

- ``tickets``: ticket_id, created_at (UTC), status (now), channel, priority, tier, group, site, agent
  (the assignee's email), segment, merged (bool), sensitive (bool), schedule_id and policy_id (of the
  SLA policy that applies now; null for none).
- ``tags``: ticket_id, tag.
- ``events``: the ticket events KPIs use, one row each: ticket_id, seq (the log's order), at, type, and
  what the payload says that KPIs need: status (the status entered), from_status, public, author_kind,
  created_by_agent, agent_id (chat), rating, score, scale (CSAT), by (chat end).
- ``calls``: ``call_completed`` events: ticket_id, seq, at, agent_id, wait_s, talk_s, hold_s, wrap_s,
  abandoned, voicemail.
- ``agents``: agent_id -> email, to name the agent of a call or chat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TICKET_COLUMNS = (
    "ticket_id", "created_at", "status", "channel", "priority", "tier", "group", "site", "agent",
    "segment", "merged", "sensitive", "schedule_id", "policy_id",
)  # fmt: skip
EVENT_COLUMNS = (
    "ticket_id", "seq", "at", "type", "status", "from_status", "public", "author_kind",
    "created_by_agent", "agent_id", "rating", "score", "scale", "by",
)  # fmt: skip
CALL_COLUMNS = (
    "ticket_id", "seq", "at", "agent_id", "wait_s", "talk_s", "hold_s", "wrap_s", "abandoned", "voicemail",
)  # fmt: skip
EVENT_TYPES = (
    "ticket_created", "status_changed", "message_added", "escalated", "csat_received",
    "chat_started", "chat_agent_joined", "chat_ended",
)  # fmt: skip
UNSOLVED = ("new", "open", "pending", "on_hold")
DONE = ("solved", "closed")


@dataclass
class KpiFrames:
    tickets: pd.DataFrame
    tags: pd.DataFrame
    events: pd.DataFrame
    calls: pd.DataFrame
    agents: pd.Series


def frames_of(
    *,
    tickets: Sequence[Mapping[str, object]],
    events: Sequence[Mapping[str, object]] = (),
    tags: Sequence[tuple[int, str]] = (),
    calls: Sequence[Mapping[str, object]] = (),
    agents: Mapping[int, str] | None = None,
) -> KpiFrames:
    """Frames from plain rows (missing columns are null): how tests and generators build them."""
    import pandas as pd

    def table(rows: Sequence[Mapping[str, object]], columns: tuple[str, ...]) -> pd.DataFrame:
        frame = pd.DataFrame(list(rows), columns=list(columns))
        if "at" in frame:
            frame["at"] = pd.to_datetime(frame["at"], utc=True)
        if "seq" in frame and frame["seq"].isna().any():
            frame["seq"] = range(len(frame))
        return frame

    ticket_frame = table(tickets, TICKET_COLUMNS)
    ticket_frame["created_at"] = pd.to_datetime(ticket_frame["created_at"], utc=True)
    for flag in ("merged", "sensitive"):
        ticket_frame[flag] = ticket_frame[flag].eq(True)
    return KpiFrames(
        tickets=ticket_frame,
        tags=pd.DataFrame(list(tags), columns=["ticket_id", "tag"]),
        events=table(events, EVENT_COLUMNS),
        calls=table(calls, CALL_COLUMNS),
        agents=pd.Series(dict(agents or {}), dtype="object"),
    )
