"""Touches: the customer-facing work a CSM does on the accounts of their book, counted from the event
log, so every kind of work the system records counts, wherever it was done.

A touch is an event by the account's CSM (its actor) of one of these kinds: on the account, a task
completed, a success plan started or an objective moved, an escalation opened or moved on, a feedback
request logged, a health override, a lifecycle hand-off; on the tickets of the account's desk
organisation, a reply or internal note and a phone call (read through ``insights.account_signals``, as
success never reads desk tables). Bookkeeping (editing the account, contracts, the segment) is not a
touch, nor is anything an automation did (no actor)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.models import Event
from opsdesk.insights.account_signals import staff_ticket_touches
from opsdesk.success.models import Account

if TYPE_CHECKING:
    import pandas as pd

ACCOUNT_TOUCHES = (
    "task_completed",
    "success_plan_created",
    "objective_status_changed",
    "escalation_opened",
    "escalation_mitigated",
    "escalation_resolved",
    "escalation_severity_changed",
    "feedback_requested",
    "health_overridden",
    "handoff_completed",
)


def touches_by_csm(session: Session, book: pd.DataFrame, start: date, end: date) -> dict[int, int]:
    """Touches from ``start`` to ``end`` (whole days, UTC) per CSM on the accounts of ``book``
    (columns ``account_id`` and ``csm_id``: the account's CSM is who the touch must come from)."""
    owned = book[["account_id", "csm_id"]].dropna()
    owner = {int(a): int(c) for a, c in zip(owned["account_id"], owned["csm_id"], strict=True)}
    if not owner:
        return {}
    first = datetime.combine(start, time.min, tzinfo=UTC)
    after = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    counts: dict[int, int] = defaultdict(int)
    rows = session.execute(
        select(Event.subject_id, Event.actor_id, func.count())
        .where(
            Event.subject_type == "account",
            Event.type.in_(ACCOUNT_TOUCHES),
            Event.at >= first,
            Event.at < after,
            Event.actor_id.is_not(None),
        )
        .group_by(Event.subject_id, Event.actor_id)
    )
    for account_id, actor_id, n in rows:
        csm = owner.get(int(account_id))
        if csm is not None and csm == actor_id:
            counts[csm] += int(n)
    organisation = {
        int(a): int(o)
        for a, o in session.execute(
            select(Account.id, Account.organisation_id).where(Account.organisation_id.is_not(None))
        )
        if o is not None and int(a) in owner
    }
    desk = staff_ticket_touches(
        session, set(organisation.values()), set(owner.values()), start=first, end=after
    )
    counted: set[tuple[int, int]] = set()  # two accounts on one organisation: count its tickets once
    for account_id, org in organisation.items():
        csm = owner[account_id]
        if (org, csm) not in counted:
            counted.add((org, csm))
            counts[csm] += desk.get((org, csm), 0)
    return dict(counts)
