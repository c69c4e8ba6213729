"""The pure router: which waiting work goes first, who may take it, and who gets it.

No database and no clock of its own: callers hand in snapshots of the waiting work and of the agents,
and get back one decision per item with the reasons (the rules that matched, the agents considered), so
the same core serves the routing job, the simulation tests and the benchmark.

Per routing pass the agents' static attributes (online, on shift, tier, groups, languages, skills) do not
change, so the candidates of each distinct requirement profile are found once and reused; only the
spare capacity is read per decision. That keeps a decision a short scan over one profile's candidates
instead of a scan over every agent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PRIORITY_RANK: Mapping[str, int] = {"urgent": 3, "high": 2, "normal": 1, "low": 0}
# How many of the agents considered a decision names in its event (the count is always complete).
CONSIDERED_SHOWN = 10


class CapacityKind(enum.StrEnum):
    """What an agent's capacity is counted in: live chats, calls, and tickets (email, social, web, API)."""

    CHAT = "chat"
    CALL = "call"
    TICKET = "ticket"


CHANNELS_OF: Mapping[CapacityKind, tuple[str, ...]] = {
    CapacityKind.CHAT: ("chat",),
    CapacityKind.CALL: ("phone",),
    CapacityKind.TICKET: ("email", "social", "web", "api"),
}


def capacity_kind(channel: str) -> CapacityKind:
    if channel == "chat":
        return CapacityKind.CHAT
    if channel == "phone":
        return CapacityKind.CALL
    return CapacityKind.TICKET


class Choice(enum.StrEnum):
    """How one agent is chosen among the eligible: the most spare capacity on the item's channel (ties to
    the agent who waited longest since their last assignment), or round robin in agent order."""

    SPARE_CAPACITY = "spare_capacity"
    ROUND_ROBIN = "round_robin"


@dataclass(slots=True)
class AgentState:
    """An agent as routing sees them. ``load`` and ``last_assigned_at`` change as the pass assigns."""

    id: int
    tier: str
    site_id: int | None
    group_ids: frozenset[int]
    languages: frozenset[str]
    skills: frozenset[str]
    online: bool
    on_shift: bool
    capacity: dict[CapacityKind, int]
    load: dict[CapacityKind, int] = field(default_factory=dict)
    last_assigned_at: datetime | None = None
    sensitive_access: bool = False

    def spare(self, kind: CapacityKind) -> int:
        return self.capacity.get(kind, 0) - self.load.get(kind, 0)


@dataclass(slots=True)
class WorkItem:
    """A ticket waiting on the team with no assignee. ``site_id`` set means it must go to that site (a
    follow-the-sun hand-over); ``previous_assignee_id`` is who had it before it came back (reopened, or
    returned when they went away)."""

    ticket_id: int
    channel: str
    priority: str
    tier: str
    group_id: int | None
    language: str | None
    skills: frozenset[str]
    queued_at: datetime
    sla_due_at: datetime | None = None
    sensitive: bool = False
    site_id: int | None = None
    previous_assignee_id: int | None = None


@dataclass(frozen=True)
class RoutingPolicy:
    """The settings the core applies. ``skill_timeout`` None means skills never time out."""

    choice: Choice = Choice.SPARE_CAPACITY
    group_choice: Mapping[int, Choice] = field(default_factory=dict)
    skill_timeout: timedelta | None = None

    def choice_for(self, group_id: int | None) -> Choice:
        if group_id is None:
            return self.choice
        return self.group_choice.get(group_id, self.choice)


@dataclass(frozen=True)
class Decision:
    """One item's outcome. ``agent_id`` None means it waits; ``waiting_reason`` says why."""

    ticket_id: int
    agent_id: int | None
    rules: tuple[str, ...]
    considered: int
    considered_ids: tuple[int, ...]
    eligible: int
    chosen_by: str | None = None
    skills_relaxed: bool = False
    waiting_reason: str | None = None

    def event_data(self) -> dict[str, object]:
        return {
            "rules": list(self.rules),
            "considered": self.considered,
            "considered_ids": list(self.considered_ids),
            "eligible": self.eligible,
            "chosen_by": self.chosen_by,
            "skills_relaxed": self.skills_relaxed,
        }


def queue_order(items: Iterable[WorkItem]) -> list[WorkItem]:
    """Highest priority first, then the soonest SLA breach (none last), then the longest waiting."""

    def key(item: WorkItem) -> tuple[int, float, float, int]:
        due = item.sla_due_at.timestamp() if item.sla_due_at is not None else float("inf")
        return (-PRIORITY_RANK.get(item.priority, 1), due, item.queued_at.timestamp(), item.ticket_id)

    return sorted(items, key=key)


def rules_for(item: WorkItem, *, with_skills: bool) -> tuple[str, ...]:
    """The requirements an agent had to meet, as the decision's event states them."""
    kind = capacity_kind(item.channel)
    rules = ["online", "site on shift", f"spare {kind.value} capacity", f"tier {item.tier}"]
    rules.append(f"group {item.group_id}" if item.group_id is not None else "any group")
    if item.language:
        rules.append(f"language {item.language}")
    if with_skills and item.skills:
        rules.append("skills " + ",".join(sorted(item.skills)))
    if item.sensitive:
        rules.append("sensitive access")
    if item.site_id is not None:
        rules.append(f"hand-over to site {item.site_id}")
    return tuple(rules)


_Profile = tuple[str, int | None, str | None, frozenset[str], bool, int | None]


class Router:
    """One routing pass over a set of agents; ``route`` may be called for many items in turn."""

    def __init__(
        self,
        agents: Sequence[AgentState],
        policy: RoutingPolicy,
        *,
        round_robin: dict[int, int] | None = None,
    ) -> None:
        self.policy = policy
        self.agents = {agent.id: agent for agent in agents}
        # Only agents who could take anything at all enter the profiles: online and on shift.
        self._available = sorted((a for a in agents if a.online and a.on_shift), key=lambda a: a.id)
        self._profiles: dict[_Profile, list[AgentState]] = {}
        # Per group (0 for no group): the id of the agent who got that group's latest round-robin item.
        self.round_robin = round_robin if round_robin is not None else {}

    def _candidates(self, item: WorkItem, skills: frozenset[str]) -> list[AgentState]:
        profile = (item.tier, item.group_id, item.language, skills, item.sensitive, item.site_id)
        found = self._profiles.get(profile)
        if found is None:
            found = [
                agent
                for agent in self._available
                if agent.tier == item.tier
                and (item.group_id is None or item.group_id in agent.group_ids)
                and (not item.language or item.language in agent.languages)
                and skills <= agent.skills
                and (not item.sensitive or agent.sensitive_access)
                and (item.site_id is None or agent.site_id == item.site_id)
            ]
            self._profiles[profile] = found
        return found

    def route(self, item: WorkItem, now: datetime) -> Decision:
        kind = capacity_kind(item.channel)
        previous = self.agents.get(item.previous_assignee_id) if item.previous_assignee_id else None
        if (
            previous is not None
            and previous.online
            and previous.on_shift
            and previous.spare(kind) > 0
            and (not item.sensitive or previous.sensitive_access)
        ):
            back = ("previous assignee online", f"spare {kind.value} capacity")
            return self._assign(item, previous, kind, now, back, [previous], 1, "previous_assignee", False)
        candidates = self._candidates(item, item.skills)
        relaxed = False
        eligible = [agent for agent in candidates if agent.spare(kind) > 0]
        timeout = self.policy.skill_timeout
        if not eligible and item.skills and timeout is not None and now - item.queued_at >= timeout:
            relaxed = True
            candidates = self._candidates(item, frozenset())
            eligible = [agent for agent in candidates if agent.spare(kind) > 0]
        rules = rules_for(item, with_skills=not relaxed)
        if relaxed and timeout is not None:
            rules = (*rules, f"skills timed out after {int(timeout.total_seconds())}s")
        if not eligible:
            reason = (
                "no agent meets the requirements" if not candidates else "every eligible agent is at capacity"
            )
            return Decision(
                item.ticket_id,
                None,
                rules,
                len(candidates),
                tuple(a.id for a in candidates[:CONSIDERED_SHOWN]),
                0,
                skills_relaxed=relaxed,
                waiting_reason=reason,
            )
        choice = self.policy.choice_for(item.group_id)
        if choice is Choice.ROUND_ROBIN:
            last = self.round_robin.get(item.group_id or 0, 0)
            chosen = next((a for a in eligible if a.id > last), eligible[0])
        else:
            chosen = max(eligible, key=lambda a: (a.spare(kind), _waited(a)))
        return self._assign(item, chosen, kind, now, rules, candidates, len(eligible), choice.value, relaxed)

    def _assign(
        self,
        item: WorkItem,
        agent: AgentState,
        kind: CapacityKind,
        now: datetime,
        rules: tuple[str, ...],
        considered: Sequence[AgentState],
        eligible: int,
        chosen_by: str,
        relaxed: bool,
    ) -> Decision:
        agent.load[kind] = agent.load.get(kind, 0) + 1
        agent.last_assigned_at = now
        if chosen_by == Choice.ROUND_ROBIN.value:
            self.round_robin[item.group_id or 0] = agent.id
        return Decision(
            item.ticket_id,
            agent.id,
            rules,
            len(considered),
            tuple(a.id for a in considered[:CONSIDERED_SHOWN]),
            eligible,
            chosen_by=chosen_by,
            skills_relaxed=relaxed,
        )


def _waited(agent: AgentState) -> float:
    """Larger for the agent who has waited longer since their last assignment (never assigned: longest)."""
    if agent.last_assigned_at is None:
        return float("inf")
    return -agent.last_assigned_at.timestamp()


def route_all(
    items: Iterable[WorkItem],
    agents: Sequence[AgentState],
    policy: RoutingPolicy,
    now: datetime,
    *,
    round_robin: dict[int, int] | None = None,
) -> list[Decision]:
    """Every waiting item in queue order, each decided against the capacity the earlier ones left."""
    router = Router(agents, policy, round_robin=round_robin)
    return [router.route(item, now) for item in queue_order(items)]
