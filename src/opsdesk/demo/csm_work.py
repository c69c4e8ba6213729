"""A year of CSM work on the demo's live customers: check-in calls, usage reviews and quarterly business
reviews as tasks, most done on time, some late, a few skipped, the next one still open. Each done task
carries the ``task_completed`` event by its CSM, as the task page would have written it, so touches
and tasks on time in the books have work to count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.success.models import Stage
from opsdesk.success.playbooks.models import Task, TaskStatus

# Days between check-ins by segment: the larger the customer, the closer the attention.
CADENCE = {"Enterprise": 14, "Large": 21, "Upper mid-market": 30, "Lower mid-market": 45}
DEFAULT_CADENCE = 60
TITLES = ("Check-in call", "Usage review", "Check-in call", "Quarterly business review")


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def create_csm_work(
    session: Session,
    *,
    rng: np.random.Generator,
    now: datetime,
    accounts: Sequence[Mapping[str, Any]],
    segment_names: Mapping[int, str],
) -> dict[str, int]:
    """``accounts``: the demo's account rows (id, owner_id, stage, segment_id, created_at)."""
    today = now.date()
    tasks: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    first_task = next_id(session, Task)
    for account in accounts:
        owner = account["owner_id"]
        if owner is None or account["stage"] is Stage.CHURNED:
            continue
        every = CADENCE.get(segment_names.get(account["segment_id"] or 0, ""), DEFAULT_CADENCE)
        due = max(account["created_at"].date(), today - timedelta(days=365)) + timedelta(
            days=int(rng.integers(1, every + 1))
        )
        for n in range(10_000):
            if due > today + timedelta(days=every):
                break
            task_id = first_task + len(tasks)
            created = _at(due - timedelta(days=7), 8)
            late = int(rng.choice([0, 0, 0, 0, -1, -2, 2, 5, 9]))
            done_on = due + timedelta(days=late)
            skipped = rng.random() < 0.05
            status = (
                TaskStatus.OPEN if done_on > today else TaskStatus.SKIPPED if skipped else TaskStatus.DONE
            )
            completed = min(_at(done_on, 15), now) if status is TaskStatus.DONE else None
            tasks.append(
                {
                    "id": task_id,
                    "account_id": account["id"],
                    "playbook_id": None,
                    "episode_id": None,
                    "title": TITLES[n % len(TITLES)],
                    "description": "",
                    "status": status,
                    "due_on": due,
                    "owner_id": owner,
                    "email_subject": None,
                    "email_body": None,
                    "created_at": min(created, now),
                    "updated_at": min(completed or created, now),
                    "completed_at": completed,
                }
            )
            data = {"task_id": task_id, "playbook_id": None, "title": TITLES[n % len(TITLES)]}
            events.append(_event(min(created, now), owner, account["id"], "task_created", data))
            if completed is not None:
                events.append(_event(completed, owner, account["id"], "task_completed", data))
            due += timedelta(days=every + int(rng.integers(-3, 4)))
    bulk_insert(session, Task, tasks)
    events.sort(key=lambda e: e["at"])
    first_event = next_id(session, Event)
    bulk_insert(session, Event, [{"id": first_event + i, **row} for i, row in enumerate(events)])
    return {"CSM tasks": len(tasks)}


def _event(at: datetime, actor: int, account_id: int, type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": at,
        "actor_id": actor,
        "subject_type": "account",
        "subject_id": account_id,
        "type": type_,
        "data": data,
    }
