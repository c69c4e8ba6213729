"""The vectorised SLA attainment agrees with the desk's own clocks (``compute_clocks``, what each ticket
shows) on random histories: replies, bots, notes, pauses, reopens, tickets opened by agents, business
hours across the spring-forward weekend and targets met exactly at the due instant."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.desk.sla.business_hours import TWENTY_FOUR_SEVEN, BusinessHours
from opsdesk.desk.sla.metrics import MetricStatus, TicketEvent, compute_clocks
from opsdesk.insights.kpis.business_time import Timer
from opsdesk.insights.kpis.sla import sla_attainment
from tests.insights.kpis.fixture import History

CHICAGO = BusinessHours.from_spec(
    timezone="America/Chicago",
    intervals=[{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Policy:
    targets: dict[str, dict[str, timedelta]]
    pausing_statuses: frozenset[str]
    hours: BusinessHours


POLICIES = {
    1: Policy(
        {"normal": {"first_reply": 60 * MINUTE, "next_reply": 120 * MINUTE, "resolution": 600 * MINUTE},
         "high": {"first_reply": 30 * MINUTE, "resolution": 240 * MINUTE}},
        frozenset({"pending"}),
        CHICAGO,
    ),
    2: Policy(
        {"normal": {"first_reply": 45 * MINUTE, "next_reply": 30 * MINUTE, "resolution": 300 * MINUTE}},
        frozenset({"pending", "on_hold"}),
        TWENTY_FOUR_SEVEN,
    ),
}  # fmt: skip


def random_history(rng: random.Random, tickets: int) -> History:
    h = History()
    start = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    for ticket_id in range(1, tickets + 1):
        policy = rng.choice([1, 2, None])
        when = start + rng.randrange(0, 5 * 24 * 60) * MINUTE
        by_agent = rng.random() < 0.2
        h.ticket(
            ticket_id,
            when,
            by_agent=by_agent,
            priority=rng.choice(["normal", "high"]),
            policy_id=policy,
            schedule_id=1 if policy == 1 else None,
            merged=rng.random() < 0.05,
        )
        h.message(ticket_id, when, "agent" if by_agent else "requester", public=rng.random() < 0.8)
        status = "new"
        for _ in range(rng.randrange(0, 9)):
            when += rng.choice([1, 5, 30, 60, 120, 600, 1440]) * MINUTE * rng.randrange(1, 3)
            action = rng.choice(["requester", "agent", "agent", "note", "bot", "status", "status"])
            if status == "closed":
                break
            if action == "status":
                to = rng.choice(
                    ["open", "pending", "on_hold", "solved", "closed" if status == "solved" else "open"]
                )
                if to != status:
                    h.status(ticket_id, when, to)
                    status = to
            elif action == "note":
                h.message(ticket_id, when, "agent", public=False)
            else:
                h.message(ticket_id, when, {"bot": "system"}.get(action, action))
    return h


def replayed(h: History, now: datetime) -> Counter[tuple[int, str, bool]]:
    """What each ticket's SLA panel shows, through the desk's clocks."""
    outcomes: Counter[tuple[int, str, bool]] = Counter()
    for ticket in h.tickets:
        policy = POLICIES.get(ticket["policy_id"])
        if policy is None or ticket.get("merged"):
            continue
        history = []
        for e in sorted(
            (e for e in h.events if e["ticket_id"] == ticket["ticket_id"]), key=lambda e: (e["at"], e["seq"])
        ):
            if e["type"] == "ticket_created":
                data = {"status": "new", "created_by_agent": e["created_by_agent"]}
            elif e["type"] == "status_changed":
                data = {"to": e["status"]}
            else:
                data = {"public": e["public"], "author_kind": e["author_kind"]}
            history.append(TicketEvent(e["at"], e["type"], data))
        clocks = compute_clocks(
            history,
            targets=policy.targets.get(ticket["priority"], {}),
            calendar_at=lambda _at, hours=policy.hours: hours,
            pausing_statuses=policy.pausing_statuses,
            now=now,
            breaching_soon=timedelta(0),
        )
        for clock in clocks:
            if clock.status in (MetricStatus.ACHIEVED, MetricStatus.BREACHED):
                outcomes[ticket["ticket_id"], clock.metric, clock.status is MetricStatus.ACHIEVED] += 1
    return outcomes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_attainment_equals_the_desks_clocks(seed: int) -> None:
    rng = random.Random(seed)
    h = random_history(rng, 250)
    frames = h.frames()
    timer = Timer(
        business=True,
        schedules={1: [(datetime(2020, 1, 1, tzinfo=UTC), CHICAGO)]},
        ticket_schedule=frames.tickets.set_index("ticket_id")["schedule_id"],
    )
    for now in (datetime(2026, 3, 9, 15, 0, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)):
        result = sla_attainment(frames.tickets, frames.events, POLICIES, now, timer)
        got = Counter(
            zip(result["ticket_id"].astype(int), result["target"], result["hit"].astype(bool), strict=True)
        )
        expected = replayed(h, now)
        assert got == expected
        assert sum(expected.values()) > 100 and any(not hit for _t, _m, hit in expected)
