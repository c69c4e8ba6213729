"""The demo's history routed by the real routing core: as the simulated tickets arrive in time order, the
pure router (desk/routing/router.py) decides who gets each one from the agents whose site is on shift then,
their groups, tier, skills and the capacity their open work leaves, with the settings demo/routing.py
configures. So the history's `assigned` events carry the same reasons (`via: routing`) as live routing.

Simplifications, on purpose: every agent on shift counts as online; a ticket holds its agent's capacity
from its assignment until it first leaves new/open or is reassigned (a reopen does not take it again);
and a decision made later in a ticket's life (an escalation, or a retry while it waits) sees the loads as
of the latest arrival, since the history is written one ticket at a time."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.models import Group, Role, Tier, User, group_members
from opsdesk.demo.people import DemoPeople
from opsdesk.demo.routing import DEFAULT_CAPACITY, L2_CAPACITY, SHIFT_HOURS, SKILL_TIMEOUT, SKILLS
from opsdesk.desk.routing.router import (
    AgentState,
    CapacityKind,
    Choice,
    Decision,
    Router,
    RoutingPolicy,
    WorkItem,
    capacity_kind,
)

# A ticket nobody can take yet is tried again this often, for at most this long; then it is left
# waiting (still unassigned when the history ends, the demo's live router sees it).
RETRY_EVERY = timedelta(minutes=5)
RETRY_FOR = timedelta(hours=12)


@dataclass(frozen=True)
class Presence:
    agent_id: int
    at: datetime
    before: str
    after: str


class HistoryRouter:
    def __init__(self, session: Session, people: DemoPeople) -> None:
        users = session.scalars(select(User).where(User.role == Role.AGENT).order_by(User.id)).all()
        groups: dict[int, set[int]] = defaultdict(set)
        sensitive: set[int] = set()
        for user_id, group_id, is_sensitive in session.execute(
            select(group_members.c.user_id, group_members.c.group_id, Group.sensitive_access).join(
                Group, Group.id == group_members.c.group_id
            )
        ):
            groups[user_id].add(group_id)
            if is_sensitive:
                sensitive.add(user_id)
        self.agents = [
            AgentState(
                id=u.id,
                tier=(u.tier or Tier.L1).value,
                site_id=u.site_id,
                group_ids=frozenset(groups[u.id]),
                languages=frozenset(u.languages or ()),
                skills=frozenset(u.skills or ()),
                online=True,
                on_shift=False,
                capacity=_capacity((L2_CAPACITY if u.tier is Tier.L2 else DEFAULT_CAPACITY).model_dump()),
                sensitive_access=u.id in sensitive,
            )
            for u in users
        ]
        self._by_id = {a.id: a for a in self.agents}
        self._site_zone = {s.id: (ZoneInfo(s.timezone), *_hours(s.name)) for s in people.sites}
        self._needs: dict[str, set[str]] = defaultdict(set)
        for skill in SKILLS:
            for tag in {skill.name, *skill.match_tags}:
                self._needs[tag].add(skill.name)
        self.policy = RoutingPolicy(
            choice=Choice.SPARE_CAPACITY,
            group_choice={people.l1_groups["Americas"].id: Choice.ROUND_ROBIN},
            skill_timeout=SKILL_TIMEOUT,
        )
        self._round_robin: dict[int, int] = {}
        self._routers: dict[int, Router] = {}
        self._releases: list[tuple[datetime, int, int, CapacityKind]] = []
        self._held: dict[int, tuple[int, CapacityKind]] = {}
        self._seq = 0

    def arrive(self, at: datetime) -> None:
        """Time moves on to ``at`` (arrivals come in order): work that left its agents by then frees them."""
        while self._releases and self._releases[0][0] <= at:
            _, _, agent_id, kind = heapq.heappop(self._releases)
            agent = self._by_id[agent_id]
            agent.load[kind] = agent.load.get(kind, 1) - 1

    def route(
        self,
        *,
        ticket_id: int,
        queued_at: datetime,
        channel: str,
        priority: str,
        tier: Tier,
        group_id: int | None,
        tags: list[str],
        sensitive: bool,
    ) -> tuple[datetime, Decision] | None:
        """When and to whom the ticket goes (from ``queued_at`` on), or None if it is left waiting."""
        item = WorkItem(
            ticket_id=ticket_id,
            channel=channel,
            priority=priority,
            tier=tier.value,
            group_id=group_id,
            language="en",  # the demo's requesters name no language: the desk default
            skills=frozenset(skill for tag in tags for skill in self._needs.get(tag, ())),
            queued_at=queued_at,
            sensitive=sensitive,
        )
        at = queued_at
        while at - queued_at <= RETRY_FOR:
            decision = self._router(at).route(item, at)
            if decision.agent_id is not None:
                return at, decision
            at += RETRY_EVERY
        return None

    def hold(self, ticket_id: int, decision: Decision, channel: str) -> None:
        """The ticket now takes its agent's capacity (the router counted it) until released."""
        if decision.agent_id is not None:
            self._held[ticket_id] = (decision.agent_id, capacity_kind(channel))

    def release(self, ticket_id: int, at: datetime) -> None:
        """The ticket left new/open (or its agent) at ``at``: its capacity comes back then."""
        held = self._held.pop(ticket_id, None)
        if held is not None:
            self._seq += 1
            heapq.heappush(self._releases, (at, self._seq, *held))

    def shifts_worked(self, start: datetime, end: datetime, rng: np.random.Generator) -> Iterator[Presence]:
        """The agents' statuses over the history, as the presence pages would have recorded them: online
        at their site's shift start, away for a break of 30-60 minutes near its middle, offline at its
        end; about one shift in eight not worked (leave, sickness). Only whole local days from ``start``
        until ``end``'s day, so nothing overlaps the live presence the demo sets at ``end``."""
        for agent in self.agents:
            if agent.site_id is None:
                continue
            zone, shift_start, shift_end = self._site_zone[agent.site_id]
            day = start.astimezone(zone).date() + timedelta(days=1)
            last = end.astimezone(zone).date() - timedelta(days=1)
            while day <= last:
                if rng.random() >= 0.125:
                    opens = datetime.combine(day, shift_start, zone).astimezone(UTC)
                    closes = datetime.combine(day, shift_end, zone).astimezone(UTC)
                    pause = opens + (closes - opens) / 2 + timedelta(minutes=int(rng.integers(-60, 60)))
                    back = pause + timedelta(minutes=int(rng.integers(30, 61)))
                    yield Presence(agent.id, opens, "offline", "online")
                    yield Presence(agent.id, pause, "online", "away")
                    yield Presence(agent.id, back, "away", "online")
                    yield Presence(agent.id, closes, "online", "offline")
                day += timedelta(days=1)

    def _router(self, at: datetime) -> Router:
        """One router per UTC hour (shifts change on the hour), sharing the agents and their loads."""
        hour = int(at.timestamp()) // 3600
        router = self._routers.get(hour)
        if router is None:
            if len(self._routers) > 96:
                self._routers = {h: r for h, r in self._routers.items() if h >= hour - 1}
            on = {site: _on_shift(at, *zone) for site, zone in self._site_zone.items()}
            for agent in self.agents:
                agent.on_shift = agent.site_id is not None and on.get(agent.site_id, False)
            router = self._routers[hour] = Router(self.agents, self.policy, round_robin=self._round_robin)
        return router


def _capacity(capacity: dict[str, int]) -> dict[CapacityKind, int]:
    return {CapacityKind(kind): n for kind, n in capacity.items()}


def _hours(site: str) -> tuple[time, time]:
    start, end = SHIFT_HOURS[site]
    return time.fromisoformat(start), time.fromisoformat(end)


def _on_shift(at: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    local = at.astimezone(zone).time()
    return start <= local < end
