"""A morning on the desk for the intraday tests: a stored plan forecasting phone only, contacts that
arrived, published shifts with time off, and agents' presence set as routing sets it.

At 10:07 UTC on Monday 2 March 2026 (hand-computed, for the tests to check):
- phone: the plan forecasts 40 an hour, 10 per 15 minutes; 15 arrived in each of the 16 intervals
  06:00-10:00, 5 at 05:30 and 3 since 10:00. The ratio is (240 + 10) / (160 + 10).
- Ana is on shift 08:00-16:00, online 08:10-09:00 and from 09:20: 127 scheduled minutes, 97 online.
- Ben is on shift 09:00-17:00 with time off 09:30-10:00, online from 09:00: 37 scheduled minutes, all
  online, and 30 minutes online in the time off.
- Cai has no shift and was online 07:00-07:30.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, User
from opsdesk.desk.routing.models import AgentShift, PresenceStatus
from opsdesk.desk.routing.presence import set_presence
from opsdesk.workforce.default_plan import default_plan
from opsdesk.workforce.models import PlanRun, PlanStatus
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 10, 7, tzinfo=UTC)
PHONE = {"aht_seconds": 420, "service_level": 0.8, "answer_within_seconds": 20, "shrinkage": 0.3}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Scene:
    plan: PlanRun
    ana: User
    ben: User
    cai: User


def store_plan(db: Session, now: datetime) -> PlanRun:
    """A plan run as the planner stores it, forecasting 40 phone contacts an hour for four days."""
    config = default_plan(now)
    config["channels"] = {"phone": dict(PHONE)}
    first = datetime(2026, 3, 1, tzinfo=UTC)
    stamps = [first + timedelta(hours=h) for h in range(96)]
    run = PlanRun(
        created_at=now,
        status=PlanStatus.COMPLETE,
        build_ms=1,
        config=config,
        forecast={"phone": {"timestamps": [s.isoformat() for s in stamps], "forecast": [40.0] * 96}},
        requirement={},
        schedule={},
        hiring={},
        summary={},
    )
    db.add(run)
    db.flush()
    return run


def arrivals(db: Session, stamps: list[datetime], channel: str = "phone") -> None:
    rows: list[dict[str, Any]] = [
        {
            "at": stamp,
            "subject_type": "ticket",
            "subject_id": 10_000 + i,
            "type": "ticket_created",
            "data": {"channel": channel, "status": "new"},
        }
        for i, stamp in enumerate(stamps)
    ]
    db.execute(insert(Event), rows)


def presence(
    db: Session, clock: FixedClock, agent: User, moments: list[tuple[datetime, PresenceStatus]]
) -> None:
    for moment, status in moments:
        clock.set(moment)
        set_presence(db, agent=agent, status=status, clock=clock, actor=agent)


def morning(db: Session, clock: FixedClock) -> Scene:
    plan = store_plan(db, NOW - timedelta(days=1))
    stamps = [at(5, 30)] * 5 + [at(10, 1), at(10, 3), at(10, 6)]
    for i in range(16):
        start = at(6) + i * timedelta(minutes=15)
        stamps += [start + timedelta(seconds=50 * k) for k in range(15)]
    arrivals(db, stamps)
    arrivals(db, [at(9, 40)], channel="chat")  # a channel the plan does not forecast: not shown
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test")
    ben = make_user(db, clock, Role.AGENT, email="ben@desk.test")
    cai = make_user(db, clock, Role.AGENT, email="cai@desk.test")
    db.add_all(
        [
            AgentShift(user_id=ana.id, starts_at=at(8), ends_at=at(16)),
            AgentShift(user_id=ben.id, starts_at=at(9), ends_at=at(17)),
            AgentShift(user_id=ben.id, starts_at=at(9, 30), ends_at=at(10), absence=True),
            # Yesterday's shift: not today's schedule.
            AgentShift(
                user_id=cai.id, starts_at=at(8) - timedelta(days=1), ends_at=at(16) - timedelta(days=1)
            ),
        ]
    )
    presence(db, clock, cai, [(at(7), PresenceStatus.ONLINE), (at(7, 30), PresenceStatus.OFFLINE)])
    presence(
        db,
        clock,
        ana,
        [
            (at(8, 10), PresenceStatus.ONLINE),
            (at(9), PresenceStatus.AWAY),
            (at(9, 20), PresenceStatus.ONLINE),
        ],
    )
    presence(db, clock, ben, [(at(9), PresenceStatus.ONLINE)])
    clock.set(NOW)
    db.commit()
    return Scene(plan=plan, ana=ana, ben=ben, cai=cai)
