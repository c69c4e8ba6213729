"""Routing decisions per second and p99 time per decision, against the way Chatwoot and Zammad decide,
on the same database in the same run.

Desk: 500 agents at 5 sites (all on shift), L1 and L2, 10 groups, 5 languages, 50 distinct skill sets,
capacities per channel and some open work already on each agent; 10,000 waiting tickets on every channel
with priorities, SLA due times, languages and skill tags.

OpsDesk: one routing pass as the routing job runs it (opsdesk.desk.routing): the waiting tickets and the
online agents loaded with their open work in a handful of set-based queries, then the pure router
decides every item. Decisions per second = items / (load + decide); p99 is of the time per decision.
Nothing is written (the pass runs in a transaction that is rolled back), on either side.

Anchor: the same decisions made the way Chatwoot's round robin / capacity check and Zammad's assignment
do them: per item, one database query counting each candidate agent's open work (SELECT assignee,
count(*) ... WHERE assignee IN (candidates) GROUP BY assignee), then the choice. The anchor sees the
assignments it made earlier in the run (kept in memory, as the writes it would have made), so both
sides make the same decisions; the run checks that they do.

Targets (issue 11): >= 5,000 decisions/s, p99 < 2 ms per decision, and >= 20x the anchor's rate.

PostgreSQL at BENCH_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres); the scratch
database opsdesk_bench_routing is created and dropped. BENCH_ROUTING_ITEMS and BENCH_ROUTING_AGENTS
shrink the run (to prove the script works on a busy machine).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.models import Group, Role, Site, User, group_members
from opsdesk.desk.models import Status, Ticket, TicketTag
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, RoutingSettings, Skill
from opsdesk.desk.routing.router import (
    CHANNELS_OF,
    AgentState,
    CapacityKind,
    Decision,
    Router,
    WorkItem,
    capacity_kind,
    queue_order,
)
from opsdesk.desk.routing.state import load_agents, load_items, policy_of
from opsdesk.schema import metadata

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "opsdesk_bench_routing"
ITEMS = int(os.environ.get("BENCH_ROUTING_ITEMS", "10000"))
AGENTS = int(os.environ.get("BENCH_ROUTING_AGENTS", "500"))
SITES = ("Chicago", "Seattle", "San Francisco", "Manila", "Dublin")
LANGUAGES = ("en", "es", "fr", "de", "tl")
SKILLS = ("billing", "claims", "eligibility", "pharmacy", "api", "sso", "reports", "mobile", "hr", "payroll")
SKILL_SETS = 50
GROUPS = 10
CHANNELS = ("email", "chat", "phone", "social", "web")
PRIORITIES = ("low", "normal", "normal", "high", "urgent")
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def bench_url() -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{DB_NAME}"


def recreate_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def skill_sets(rng: random.Random) -> list[tuple[str, ...]]:
    sets: set[tuple[str, ...]] = set()
    while len(sets) < SKILL_SETS:
        sets.add(tuple(sorted(rng.sample(SKILLS, rng.randint(1, 3)))))
    return sorted(sets)


def seed(session: Session, rng: random.Random) -> None:
    """The desk, with Core inserts (seeding speed is not what is measured)."""
    conn = session.connection()
    conn.execute(insert(Site), [{"name": n, "timezone": "UTC"} for n in SITES])
    conn.execute(
        insert(Group),
        [
            {"name": f"Group {g}", "tier": "L2" if g >= 8 else "L1", "sensitive_access": False}
            for g in range(GROUPS)
        ],
    )
    conn.execute(insert(Skill), [{"name": s, "match_tags": [s], "description": ""} for s in SKILLS])
    session.add(
        RoutingSettings(
            id=1,
            enabled=True,
            skill_timeout_seconds=None,
            auto_away_seconds=600,
            default_capacity={"chat": 3, "call": 1, "ticket": 30},
            updated_at=NOW,
        )
    )
    session.flush()
    sets = skill_sets(rng)
    agents = []
    for n in range(AGENTS):
        l2 = n % 5 == 0
        agents.append(
            {
                "email": f"agent{n}@bench.test",
                "name": f"Agent {n}",
                "role": Role.AGENT,
                "tier": "L2" if l2 else "L1",
                "active": True,
                "site_id": n % len(SITES) + 1,
                "languages": ["en", LANGUAGES[n % len(LANGUAGES)]],
                "skills": list(sets[n % SKILL_SETS]) + list(sets[(n * 7) % SKILL_SETS]),
                "created_at": NOW,
            }
        )
    conn.execute(insert(User), agents)
    agent_rows = session.execute(
        select(User.id, User.tier).where(User.role == Role.AGENT).order_by(User.id)
    ).all()
    conn.execute(
        insert(group_members),
        [
            {"group_id": (8 + i % 2) if tier == "L2" else (i % 8) + 1, "user_id": agent_id}
            for i, (agent_id, tier) in enumerate(agent_rows)
        ]
        + [
            {"group_id": (i + 3) % 8 + 1, "user_id": agent_id}
            for i, (agent_id, tier) in enumerate(agent_rows)
            if tier != "L2"
        ],
    )
    conn.execute(
        insert(AgentPresence),
        [
            {
                "user_id": agent_id,
                "status": PresenceStatus.ONLINE,
                "on_call": False,
                "in_chats": True,
                "since": NOW,
                "last_seen_at": NOW,
                "last_assigned_at": NOW - timedelta(seconds=rng.randint(0, 3600)),
                "capacity": {},
            }
            for agent_id, _tier in agent_rows
        ],
    )
    conn.execute(
        insert(User),
        [
            {
                "email": f"c{n}@example.com",
                "name": f"C {n}",
                "role": Role.REQUESTER,
                "active": True,
                "languages": [LANGUAGES[n % len(LANGUAGES)]],
                "skills": [],
                "created_at": NOW,
            }
            for n in range(1000)
        ],
    )
    requesters = session.scalars(select(User.id).where(User.role == Role.REQUESTER)).all()
    tickets = []
    for n in range(ITEMS + AGENTS * 5):
        open_work = n >= ITEMS  # the rest: work already on agents, counting against their capacity
        tier = "L2" if rng.random() < 0.2 else "L1"
        group = rng.randint(9, 10) if tier == "L2" else rng.randint(1, 8)
        tickets.append(
            {
                "subject": f"Ticket {n}",
                "status": Status.OPEN if open_work else Status.NEW,
                "priority": rng.choice(PRIORITIES),
                "channel": rng.choice(CHANNELS),
                "requester_id": rng.choice(requesters),
                "group_id": group,
                "tier": tier,
                "assignee_id": agent_rows[rng.randrange(len(agent_rows))][0] if open_work else None,
                "sensitive": False,
                "custom_fields": {},
                "created_at": NOW - timedelta(minutes=rng.randint(1, 600)),
                "updated_at": NOW,
                "sla_next_due_at": NOW + timedelta(minutes=rng.randint(-30, 600))
                if rng.random() < 0.7
                else None,
            }
        )
    conn.execute(insert(Ticket), tickets)
    waiting = session.scalars(select(Ticket.id).where(Ticket.assignee_id.is_(None))).all()
    tags = []
    for ticket_id in waiting:
        if rng.random() < 0.6:
            tags.extend({"ticket_id": ticket_id, "tag": s} for s in sets[rng.randrange(SKILL_SETS)][:1])
    conn.execute(insert(TicketTag), tags)


def run_opsdesk(session: Session) -> tuple[float, list[float], list[Decision], float]:
    """One routing pass, loading included; returns total seconds, per-decision seconds, decisions and
    the load time."""
    settings = session.get_one(RoutingSettings, 1)
    started = time.perf_counter()
    items = load_items(session, settings=settings, limit=ITEMS, lock=True)
    agents = load_agents(session, now=NOW, settings=settings)
    router = Router(agents, policy_of(session, settings))
    loaded = time.perf_counter() - started
    per: list[float] = []
    decisions = []
    for item in queue_order(items):
        t0 = time.perf_counter()
        decisions.append(router.route(item, NOW))
        per.append(time.perf_counter() - t0)
    return time.perf_counter() - started, per, decisions, loaded


_ANCHOR_COUNT = (
    "SELECT assignee_id, count(*) FROM tickets WHERE assignee_id = ANY(%s) AND status IN ('new', 'open') "
    "AND channel = ANY(%s) GROUP BY assignee_id"
)


def run_anchor(
    raw: psycopg.Connection[tuple[object, ...]], items: list[WorkItem], agents: list[AgentState]
) -> tuple[float, list[float], list[int | None]]:
    """Per item: the candidates by their fixed attributes, one query for their open work, the choice."""
    made: dict[tuple[int, CapacityKind], int] = defaultdict(int)
    last: dict[int, datetime | None] = {a.id: a.last_assigned_at for a in agents}
    chosen: list[int | None] = []
    per: list[float] = []
    started = time.perf_counter()
    for item in queue_order(items):
        t0 = time.perf_counter()
        kind = capacity_kind(item.channel)
        candidates = [
            a
            for a in agents
            if a.online
            and a.on_shift
            and a.tier == item.tier
            and (item.group_id is None or item.group_id in a.group_ids)
            and (not item.language or item.language in a.languages)
            and item.skills <= a.skills
        ]
        counts = dict(
            raw.execute(_ANCHOR_COUNT, ([a.id for a in candidates], list(CHANNELS_OF[kind]))).fetchall()
        )
        best: tuple[int, float] | None = None
        pick = None
        for a in candidates:
            spare = a.capacity.get(kind, 0) - counts.get(a.id, 0) - made[(a.id, kind)]
            if spare <= 0:
                continue
            at = last[a.id]
            key = (spare, float("inf") if at is None else -at.timestamp())
            if best is None or key > best:
                best, pick = key, a.id
        if pick is not None:
            made[(pick, kind)] += 1
            last[pick] = NOW
        chosen.append(pick)
        per.append(time.perf_counter() - t0)
    return time.perf_counter() - started, per, chosen


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def main() -> None:
    recreate_database()
    engine = make_engine(bench_url())
    try:
        metadata.create_all(engine)
        factory = make_session_factory(engine)
        with factory() as session:
            seed(session, random.Random(11))
            session.commit()
            waiting = session.scalar(select(func.count()).where(Ticket.assignee_id.is_(None)))
        print(f"desk: {AGENTS} agents, {len(SITES)} sites, {SKILL_SETS} skill sets, {waiting} waiting items")

        with factory() as session:
            total, per, decisions, loaded = run_opsdesk(session)
            session.rollback()
        # The anchor loads the same queue and agents the same way (timed), then decides its way.
        with factory() as session:
            t0 = time.perf_counter()
            settings = session.get_one(RoutingSettings, 1)
            items = load_items(session, settings=settings, limit=ITEMS, lock=False)
            fixed = sorted(load_agents(session, now=NOW, settings=settings), key=lambda a: a.id)
            a_loaded = time.perf_counter() - t0
            session.rollback()
        with psycopg.connect(ADMIN_URL.rpartition("/")[0] + f"/{DB_NAME}") as raw:
            a_decide, a_per, a_chosen = run_anchor(raw, items, fixed)
        n = len(decisions)
        assigned = sum(d.agent_id is not None for d in decisions)
        ours_rate, anchor_rate = n / total, n / (a_loaded + a_decide)
        ours_decide, anchor_decide = n / (total - loaded), n / a_decide
        print(
            f"opsdesk: {n} decisions ({assigned} assigned) in {total * 1000:.0f} ms, loading included "
            f"({loaded * 1000:.0f} ms): {ours_rate:,.0f} decisions/s; deciding alone {ours_decide:,.0f}/s; "
            f"p99 {p99(per) * 1000:.3f} ms per decision"
        )
        print(
            f"anchor (one query per item for the candidates' open work, as Chatwoot and Zammad): "
            f"{anchor_rate:,.0f} decisions/s, loading included ({a_loaded * 1000:.0f} ms); deciding alone "
            f"{anchor_decide:,.0f}/s; p99 {p99(a_per) * 1000:.3f} ms per decision"
        )
        same = sum(d.agent_id == c for d, c in zip(decisions, a_chosen, strict=True))
        print(f"same decisions: {same} of {n}")
        ratio = ours_rate / anchor_rate
        print(
            f"ratio: {ratio:.1f}x the anchor, loading included; "
            f"{ours_decide / anchor_decide:.1f}x deciding alone"
        )
        print(
            f"targets: >= 5,000 decisions/s: {'met' if ours_rate >= 5000 else 'NOT met'}; "
            f"p99 < 2 ms: {'met' if p99(per) < 0.002 else 'NOT met'}; "
            f">= 20x anchor: {'met' if ratio >= 20 else 'NOT met'}"
        )
    finally:
        engine.dispose()
        drop_database()


if __name__ == "__main__":
    main()
