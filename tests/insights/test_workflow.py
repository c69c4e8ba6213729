"""The desk's own tickets mined from the event log the desk actions write: activities, who and which
group and level held the ticket, reopens, L1 -> L2 -> L1, filters, and the reader's visibility."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier, User
from opsdesk.desk import actions
from opsdesk.desk.models import Channel, Status
from opsdesk.insights.workflow import WorkflowFilter, ticket_event_log, workflow_report
from tests.desk.test_actions import new_ticket, people, reply
from tests.factories import make_user


def desk(db: Session, clock: FixedClock) -> tuple[User, int, int]:
    """Ticket 1 (email): assigned to L1, escalated, L2 takes it, returned to L1, solved, reopened by the
    customer, solved. Ticket 2 (chat, next day): answered and solved at once."""
    requester, l1, l2 = people(db, clock)
    advocates = core_actions.create_group(db, name="Advocates", tier=Tier.L1)
    core_actions.create_group(db, name="Engineers", tier=Tier.L2)
    first = new_ticket(db, clock, requester, group=advocates, assignee=l1)
    clock.advance(timedelta(minutes=10))
    reply(db, clock, first, l1)
    clock.advance(timedelta(minutes=20))
    actions.escalate(db, ticket=first, reason="a bug?", actor=l1, clock=clock)
    clock.advance(timedelta(hours=1))
    actions.assign(db, ticket=first, assignee=l2, actor=l2, clock=clock)
    clock.advance(timedelta(hours=2))
    actions.return_to_l1(db, ticket=first, reason="works as designed", actor=l2, clock=clock)
    actions.assign(db, ticket=first, assignee=l1, actor=l1, clock=clock)
    clock.advance(timedelta(minutes=5))
    actions.change_status(db, ticket=first, to=Status.SOLVED, actor=l1, clock=clock)
    clock.advance(timedelta(hours=1))
    reply(db, clock, first, requester)
    clock.advance(timedelta(minutes=30))
    actions.change_status(db, ticket=first, to=Status.SOLVED, actor=l1, clock=clock)
    clock.advance(timedelta(days=1))
    second = actions.create_ticket(
        db, requester=requester, subject="Login", body_text="Cannot log in", channel=Channel.CHAT,
        clock=clock, group=advocates,
    )  # fmt: skip
    clock.advance(timedelta(minutes=3))
    reply(db, clock, second, l1)
    actions.change_status(db, ticket=second, to=Status.SOLVED, actor=l1, clock=clock)
    db.commit()
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test", password=None)
    db.commit()
    return lead, first.id, second.id


def test_ticket_events_become_activities_with_their_holder_group_and_level(
    db: Session, clock: FixedClock
) -> None:
    lead, first, _ = desk(db, clock)
    frame = ticket_event_log(db, user=lead, where=WorkflowFilter())
    one = frame[frame["case"] == first]
    assert one["activity"].tolist() == [
        "created", "assigned", "customer reply", "agent reply", "status open", "group changed", "unassigned",
        "escalated to L2", "assigned", "group changed", "unassigned", "returned to L1", "assigned",
        "status solved", "customer reply", "status open", "status solved",
    ]  # fmt: skip
    columns = [
        one[name].astype(object).where(one[name].notna(), None) for name in ("assignee", "group", "tier")
    ]
    by_step = list(zip(one["activity"], *columns, strict=True))
    l1_id, l2_id = int(one["assignee"].iloc[1]), int(one["assignee"].iloc[8])
    assert l1_id != l2_id
    assert by_step[7] == ("escalated to L2", None, "Engineers", "L2")
    assert by_step[8] == ("assigned", l2_id, "Engineers", "L2")
    assert by_step[11] == ("returned to L1", None, "Advocates", "L1")
    assert by_step[13] == ("status solved", l1_id, "Advocates", "L1")


def test_the_report_finds_the_reopen_and_the_return_to_l1(db: Session, clock: FixedClock) -> None:
    lead, _, _ = desk(db, clock)
    report = workflow_report(db, user=lead, where=WorkflowFilter())
    assert (report["cases"], report["rework"]["reopens"]) == (2, 1)
    tiers = next(p for p in report["rework"]["ping_pong"] if p["attribute"] == "tier")
    assert tiers["patterns"] == [{"path": ["L1", "L2", "L1"], "count": 1}]
    edges = {(e["source"], e["target"]): e for e in report["edges"]}
    assert edges[("created", "assigned")]["median_s"] == 0.0
    assert edges[("escalated to L2", "assigned")]["mean_s"] == 3600.0
    assert edges[("status solved", "customer reply")]["count"] == 1
    in_status = {(r["group"], r["status"]): r["total_s"] for r in report["time_in_status"]}
    assert in_status[("Engineers", "assigned")] == 2 * 3600.0


def test_filters_by_period_channel_and_group(db: Session, clock: FixedClock) -> None:
    lead, first, second = desk(db, clock)
    day = clock.now().date()
    chat = workflow_report(db, user=lead, where=WorkflowFilter(channels=("chat",)))
    assert (chat["cases"], chat["variants"][0]["activities"][0]) == (1, "created")
    assert set(ticket_event_log(db, user=lead, where=WorkflowFilter(channels=("chat",)))["case"]) == {second}
    assert workflow_report(db, user=lead, where=WorkflowFilter(start=day, end=day))["cases"] == 1
    earlier = WorkflowFilter(end=day - timedelta(days=1))
    assert set(ticket_event_log(db, user=lead, where=earlier)["case"]) == {first}
    nobody = WorkflowFilter(group_ids=(2_000_000,))
    assert workflow_report(db, user=lead, where=nobody)["cases"] == 0


def test_a_requester_mines_only_their_own_tickets(db: Session, clock: FixedClock) -> None:
    lead, _, _ = desk(db, clock)
    stranger = make_user(db, clock, Role.REQUESTER, email="sam@else.test", password=None)
    db.commit()
    assert workflow_report(db, user=stranger, where=WorkflowFilter())["cases"] == 0
    assert workflow_report(db, user=lead, where=WorkflowFilter())["cases"] == 2
