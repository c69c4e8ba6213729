"""Demo phone calls: each phone ticket was an answered call (queue wait, talk, hold, wrap-up, with its
``call_completed`` event), and some callers hung up in the queue once before they got through."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.desk.channels.phone.calls import CallState
from opsdesk.desk.channels.phone.models import Call

ABANDON_BEFORE_P = 0.09  # callers who hung up once in the queue before the call that got through
HOLD_P = 0.35


def _lognormal(rng: np.random.Generator, median: float, sigma: float, floor: float) -> float:
    return round(max(floor, float(rng.lognormal(np.log(median), sigma))), 1)


class DemoCalls:
    """Collects call rows and their events for the ticket writer's batches."""

    def __init__(self, session: Session) -> None:
        self.rows: list[dict[str, Any]] = []
        self.next_id = next_id(session, Call)

    def _call(self, **fields: Any) -> int:
        call_id = self.next_id
        self.next_id += 1
        self.rows.append({"id": call_id, "provider": "opsdesk", "external_id": f"demo-{call_id}", **fields})
        return call_id

    def answered(
        self,
        events: list[dict[str, Any]],
        event_id: int,
        rng: np.random.Generator,
        *,
        ticket_id: int,
        answered_at: datetime,
        agent: int,
        requester: int,
        queue: str,
    ) -> int:
        """The call behind a phone ticket opened when it was answered; returns the next event id."""
        caller = f"+1312555{requester:06d}"
        if rng.random() < ABANDON_BEFORE_P:
            gave_up = _lognormal(rng, 150, 0.6, 20)
            ended = answered_at - timedelta(minutes=float(rng.uniform(5, 40)))
            started = ended - timedelta(seconds=gave_up)
            call_id = self._call(
                caller=caller, requester_id=requester, ticket_id=None, queue=queue, agent_id=None,
                state=CallState.COMPLETED, started_at=started, queued_at=started, answered_at=None,
                hold_started_at=None, hold_s=0.0, ended_at=ended, wrap_due_at=None, wrap_ended_at=ended,
                abandoned=True, voicemail=False, recording_url=None, voicemail_url=None,
                created_at=started, updated_at=ended,
            )  # fmt: skip
            events.append(
                self._event(event_id, "call", call_id, ended, None, call_id, queue, gave_up, 0, 0, 0, True)
            )
            event_id += 1
        wait = _lognormal(rng, 40, 0.8, 2)
        talk = _lognormal(rng, 360, 0.6, 45)
        hold = _lognormal(rng, 60, 0.7, 5) if rng.random() < HOLD_P else 0.0
        wrap = _lognormal(rng, 75, 0.5, 10)
        queued = answered_at - timedelta(seconds=wait)
        ended = answered_at + timedelta(seconds=talk + hold)
        wrapped = ended + timedelta(seconds=wrap)
        call_id = self._call(
            caller=caller, requester_id=requester, ticket_id=ticket_id, queue=queue, agent_id=agent,
            state=CallState.COMPLETED, started_at=queued, queued_at=queued, answered_at=answered_at,
            hold_started_at=None, hold_s=hold, ended_at=ended, wrap_due_at=ended + timedelta(seconds=120),
            wrap_ended_at=wrapped, abandoned=False, voicemail=False,
            recording_url=f"https://recordings.opsdesk.demo/demo-{self.next_id - 1}.mp3", voicemail_url=None,
            created_at=queued, updated_at=wrapped,
        )  # fmt: skip
        events.append(
            self._event(
                event_id, "ticket", ticket_id, wrapped, agent, call_id, queue, wait, talk, hold, wrap, False
            )
        )
        return event_id + 1

    @staticmethod
    def _event(
        event_id: int, subject_type: str, subject_id: int, at: datetime, actor: int | None, call_id: int,
        queue: str, wait: float, talk: float, hold: float, wrap: float, abandoned: bool,
    ) -> dict[str, Any]:  # fmt: skip
        return {
            "id": event_id,
            "at": at,
            "actor_id": actor,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "type": "call_completed",
            "data": {
                "call_id": f"demo-{call_id}",
                "queue": queue,
                "agent_id": actor,
                "wait_s": wait,
                "talk_s": talk,
                "hold_s": hold,
                "wrap_s": wrap,
                "abandoned": abandoned,
                "voicemail": False,
            },
        }

    def flush(self, session: Session) -> None:
        bulk_insert(session, Call, self.rows)
        self.rows.clear()
