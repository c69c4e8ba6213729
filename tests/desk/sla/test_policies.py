"""Policy matching (first match wins) and the schedule/policy actions' validation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.desk.sla import actions, queries
from opsdesk.desk.sla.calendars import calendar_at_for
from opsdesk.desk.sla.models import SlaPolicy
from opsdesk.desk.sla.policies import TicketFacts, matches, select_policy, targets_for


def policy(name: str, position: int, **conditions: object) -> SlaPolicy:
    return SlaPolicy(
        id=position + 1,
        name=name,
        position=position,
        active=conditions.pop("active", True),
        priorities=conditions.pop("priorities", []),
        channels=conditions.pop("channels", []),
        customer_tags=conditions.pop("customer_tags", []),
        targets={},
    )


def facts(priority: str = "normal", channel: str = "email", tags: tuple[str, ...] = ()) -> TicketFacts:
    return TicketFacts(priority, channel, frozenset(tags))


def test_every_condition_must_hold_and_any_listed_value_is_enough() -> None:
    vip_chat = policy("vip chat", 0, channels=["chat", "phone"], customer_tags=["vip", "enterprise"])
    assert matches(vip_chat, facts(channel="phone", tags=("enterprise", "x")))
    assert not matches(vip_chat, facts(channel="email", tags=("vip",)))
    assert not matches(vip_chat, facts(channel="chat", tags=("smb",)))
    assert matches(policy("catch-all", 1), facts())
    assert matches(policy("spelt loosely", 2, customer_tags=["Key Account"]), facts(tags=("key_account",)))


def test_first_active_match_in_list_order_wins() -> None:
    urgent = policy("urgent", 1, priorities=["urgent", "high"])
    vip = policy("vip", 0, customer_tags=["vip"])
    fallback = policy("all", 2)
    retired = policy("retired", -1, active=False)
    ordered = [fallback, urgent, vip, retired]
    assert select_policy(ordered, facts("urgent", tags=("vip",))) is vip
    assert select_policy(ordered, facts("urgent")) is urgent
    assert select_policy(ordered, facts("low")) is fallback
    assert select_policy([urgent], facts("low")) is None


def test_targets_for_a_priority() -> None:
    targets = {"urgent": {"first_reply": 30, "resolution": 240}, "low": {}}
    assert targets_for(targets, "urgent") == {
        "first_reply": timedelta(minutes=30),
        "resolution": timedelta(minutes=240),
    }
    assert targets_for(targets, "low") == {}
    assert targets_for(targets, "normal") == {}


def test_policies_insert_at_a_position_and_keep_order(db: Session, clock: FixedClock) -> None:
    targets = {"normal": {"first_reply": 60}}
    last = actions.create_sla_policy(db, name="Default", targets=targets, actor=None, clock=clock)
    first = actions.create_sla_policy(db, name="VIP", targets=targets, position=0, actor=None, clock=clock)
    middle = actions.create_sla_policy(db, name="Chat", targets=targets, position=1, actor=None, clock=clock)
    db.commit()
    assert [p.name for p in queries.policies(db)] == ["VIP", "Chat", "Default"]
    assert [p.position for p in (first, middle, last)] == [0, 1, 2]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"targets": {}}, "targets"),
        ({"targets": {"critical": {"first_reply": 5}}}, "targets"),
        ({"targets": {"urgent": {"first_response": 5}}}, "targets.urgent.first_response"),
        ({"targets": {"urgent": {"first_reply": 0}}}, "targets.urgent.first_reply"),
        ({"targets": {"urgent": {"first_reply": 1.5}}}, "targets.urgent.first_reply"),
        ({"channels": ["fax"]}, "channels"),
        ({"priorities": ["meh"]}, "priorities"),
        ({"pausing_statuses": ["open"]}, "pausing_statuses"),
        ({"position": 3}, "position"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(
    db: Session, clock: FixedClock, changes: dict, field: str
) -> None:
    spec: dict = {"name": "P", "targets": {"urgent": {"first_reply": 30}}} | changes
    with pytest.raises(ValidationFailed) as caught:
        actions.create_sla_policy(db, actor=None, clock=clock, **spec)
    assert caught.value.field == field


def test_names_are_unique(db: Session, clock: FixedClock) -> None:
    actions.create_sla_policy(
        db, name="Default", targets={"low": {"resolution": 60}}, actor=None, clock=clock
    )
    with pytest.raises(Conflict):
        actions.create_sla_policy(
            db, name="Default", targets={"low": {"resolution": 60}}, actor=None, clock=clock
        )
    actions.create_business_schedule(
        db, name="Chicago", timezone="America/Chicago", always_open=True, actor=None, clock=clock
    )
    with pytest.raises(Conflict):
        actions.create_business_schedule(
            db, name="Chicago", timezone="UTC", always_open=True, actor=None, clock=clock
        )


def test_schedule_versions_keep_past_hours(db: Session, clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.create_business_schedule(
            db,
            name="Dublin",
            timezone="Europe/Dublin",
            intervals=[{"weekday": 0, "start": "9:00", "end": "17:00"}],
            actor=None,
            clock=clock,
        )
    assert caught.value.field == "intervals[0].start"
    schedule = actions.create_business_schedule(
        db,
        name="Dublin",
        timezone="Europe/Dublin",
        intervals=[
            {"weekday": 1, "start": "09:00", "end": "17:00"},
            {"weekday": 0, "start": "09:00", "end": "17:00"},
        ],
        holidays=["2026-03-17"],
        actor=None,
        clock=clock,
    )
    change_at = clock.now() + timedelta(days=7)
    actions.change_business_hours(
        db,
        schedule=schedule,
        timezone="Europe/Dublin",
        always_open=True,
        effective_from=change_at,
        actor=None,
        clock=clock,
    )
    db.commit()
    assert schedule.versions[0].intervals == [
        {"weekday": 0, "start": "09:00", "end": "17:00"},
        {"weekday": 1, "start": "09:00", "end": "17:00"},
    ]
    calendar_at = calendar_at_for(schedule)
    # Monday 2 March (clock) to Tuesday 3 March, both 09:00-17:00 GMT on the first version: 16 h.
    week_start = clock.now() - timedelta(hours=9)
    assert calendar_at(clock.now()).business_time(week_start, week_start + timedelta(days=2)) == timedelta(
        hours=16
    )
    assert calendar_at(change_at).business_time(week_start, week_start + timedelta(days=2)) == timedelta(
        days=2
    )
    with pytest.raises(ValidationFailed) as caught:
        actions.change_business_hours(
            db,
            schedule=schedule,
            timezone="UTC",
            always_open=True,
            effective_from=clock.now() - timedelta(hours=1),
            actor=None,
            clock=clock,
        )
    assert caught.value.field == "effective_from"


def test_update_moves_renames_and_retargets(db: Session, clock: FixedClock) -> None:
    targets = {"normal": {"first_reply": 60}}
    a, b, c = (
        actions.create_sla_policy(db, name=name, targets=targets, actor=None, clock=clock) for name in "ABC"
    )
    actions.update_sla_policy(db, policy=c, position=0, name="C first", actor=None, clock=clock)
    assert [(p.name, p.position) for p in queries.policies(db)] == [("C first", 0), ("A", 1), ("B", 2)]
    with pytest.raises(Conflict):
        actions.update_sla_policy(db, policy=a, name="B", actor=None, clock=clock)
    actions.update_sla_policy(
        db, policy=b, targets={"urgent": {"resolution": 30}}, channels=["chat"], actor=None, clock=clock
    )
    assert (b.targets, b.channels, b.priorities) == ({"urgent": {"resolution": 30}}, ["chat"], [])
    actions.delete_sla_policy(db, policy=a, actor=None, clock=clock)
    db.commit()
    assert [(p.name, p.position) for p in queries.policies(db)] == [("C first", 0), ("B", 1)]


def test_a_schedule_in_use_cannot_be_deleted(db: Session, clock: FixedClock) -> None:
    schedule = actions.create_business_schedule(
        db, name="Manila", timezone="Asia/Manila", always_open=True, actor=None, clock=clock
    )
    policy = actions.create_sla_policy(
        db, name="APAC", targets={"low": {"resolution": 60}}, schedule=schedule, actor=None, clock=clock
    )
    with pytest.raises(Conflict) as caught:
        actions.delete_business_schedule(db, schedule=schedule, actor=None, clock=clock)
    assert "APAC" in caught.value.message
    actions.update_sla_policy(db, policy=policy, schedule=None, actor=None, clock=clock)
    actions.delete_business_schedule(db, schedule=schedule, actor=None, clock=clock)
    db.commit()
    assert queries.schedules(db) == []
