"""The pure router: queue order, eligibility, choice and the reasons it gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk.desk.routing.router import (
    AgentState,
    CapacityKind,
    Choice,
    Router,
    RoutingPolicy,
    WorkItem,
    queue_order,
    route_all,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def agent(id: int, **kw: object) -> AgentState:
    base: dict[str, object] = {
        "tier": "L1",
        "site_id": 1,
        "group_ids": frozenset({10}),
        "languages": frozenset({"en"}),
        "skills": frozenset(),
        "online": True,
        "on_shift": True,
        "capacity": {CapacityKind.CHAT: 3, CapacityKind.CALL: 1, CapacityKind.TICKET: 8},
    }
    base.update(kw)
    return AgentState(id=id, **base)  # type: ignore[arg-type]


def item(id: int, **kw: object) -> WorkItem:
    base: dict[str, object] = {
        "channel": "email",
        "priority": "normal",
        "tier": "L1",
        "group_id": 10,
        "language": "en",
        "skills": frozenset(),
        "queued_at": NOW - timedelta(minutes=id),
    }
    base.update(kw)
    return WorkItem(ticket_id=id, **base)  # type: ignore[arg-type]


def test_queue_is_priority_then_sla_due_then_age() -> None:
    items = [
        item(1, queued_at=NOW - timedelta(hours=5)),
        item(2, priority="urgent", queued_at=NOW),
        item(3, sla_due_at=NOW + timedelta(minutes=5), queued_at=NOW),
        item(4, sla_due_at=NOW + timedelta(minutes=50), queued_at=NOW),
        item(5, queued_at=NOW - timedelta(hours=9)),
    ]
    assert [i.ticket_id for i in queue_order(items)] == [2, 3, 4, 5, 1]


def test_ineligible_agents_are_never_chosen() -> None:
    agents = [
        agent(1, online=False),
        agent(2, on_shift=False),
        agent(3, tier="L2"),
        agent(4, group_ids=frozenset({11})),
        agent(5, languages=frozenset({"de"})),
        agent(6, load={CapacityKind.TICKET: 8}),
        agent(7),
    ]
    [decision] = route_all([item(1)], agents, RoutingPolicy(), NOW)
    assert decision.agent_id == 7
    assert "language en" in decision.rules and "tier L1" in decision.rules
    assert decision.considered == 2 and decision.eligible == 1  # 6 and 7 pass every rule but capacity


def test_l2_work_goes_only_to_l2() -> None:
    decisions = route_all([item(1, tier="L2")], [agent(1), agent(2, tier="L2")], RoutingPolicy(), NOW)
    assert decisions[0].agent_id == 2
    assert route_all([item(1, tier="L2")], [agent(1)], RoutingPolicy(), NOW)[0].agent_id is None


def test_capacity_per_channel_is_never_exceeded() -> None:
    agents = [agent(1), agent(2)]
    decisions = route_all([item(i, channel="phone") for i in range(1, 5)], agents, RoutingPolicy(), NOW)
    assert [d.agent_id is not None for d in decisions] == [True, True, False, False]
    assert decisions[2].waiting_reason == "every eligible agent is at capacity"
    assert all(a.load[CapacityKind.CALL] == 1 for a in agents)


def test_most_spare_capacity_wins_ties_to_longest_waiting() -> None:
    agents = [
        agent(1, load={CapacityKind.TICKET: 2}),
        agent(2, load={CapacityKind.TICKET: 1}, last_assigned_at=NOW - timedelta(minutes=1)),
        agent(3, load={CapacityKind.TICKET: 1}, last_assigned_at=NOW - timedelta(minutes=30)),
    ]
    router = Router(agents, RoutingPolicy())
    assert router.route(item(1), NOW).agent_id == 3
    assert router.route(item(2), NOW).agent_id == 2  # 3 now has less spare


def test_round_robin_per_group() -> None:
    policy = RoutingPolicy(group_choice={10: Choice.ROUND_ROBIN})
    router = Router([agent(1), agent(2), agent(3)], policy, round_robin={10: 2})
    assert [router.route(item(i), NOW).agent_id for i in range(1, 5)] == [3, 1, 2, 3]
    assert router.round_robin[10] == 3


def test_skills_time_out_after_the_configured_wait() -> None:
    agents = [agent(1)]
    fresh = item(1, skills=frozenset({"billing"}), queued_at=NOW - timedelta(minutes=1))
    old = item(2, skills=frozenset({"billing"}), queued_at=NOW - timedelta(minutes=20))
    policy = RoutingPolicy(skill_timeout=timedelta(minutes=10))
    decisions = {d.ticket_id: d for d in route_all([fresh, old], agents, policy, NOW)}
    assert decisions[1].agent_id is None and decisions[1].waiting_reason == "no agent meets the requirements"
    assert decisions[2].agent_id == 1 and decisions[2].skills_relaxed
    assert "skills timed out after 600s" in decisions[2].rules
    skilled = route_all([fresh], [agent(1), agent(2, skills=frozenset({"billing"}))], policy, NOW)
    assert skilled[0].agent_id == 2 and "skills billing" in skilled[0].rules


def test_previous_assignee_only_when_online() -> None:
    reopened = item(1, previous_assignee_id=1)
    online = route_all([reopened], [agent(1, load={CapacityKind.TICKET: 7}), agent(2)], RoutingPolicy(), NOW)
    assert online[0].agent_id == 1 and online[0].chosen_by == "previous_assignee"
    away = route_all(
        [item(1, previous_assignee_id=1)], [agent(1, online=False), agent(2)], RoutingPolicy(), NOW
    )
    assert away[0].agent_id == 2


def test_sensitive_and_hand_over_site() -> None:
    agents = [agent(1), agent(2, sensitive_access=True, site_id=2)]
    assert route_all([item(1, sensitive=True)], agents, RoutingPolicy(), NOW)[0].agent_id == 2
    assert route_all([item(2, site_id=1)], agents, RoutingPolicy(), NOW)[0].agent_id == 1
