"""Sampling: a simulated month of real desk work, and the same rules over random candidates."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, User
from opsdesk.desk import access as desk_access
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from opsdesk.quality import sampling_queries
from opsdesk.quality.sampling import (
    ESCALATED,
    LONG_HANDLE,
    LOW_CSAT,
    RANDOM,
    REOPENED,
    SLA_BREACHED,
    Candidate,
    Reviewer,
    Rules,
    meets,
    sample,
)
from tests.factories import make_user
from tests.quality.world import build_team

RULES = Rules(per_agent=1, targeted={LOW_CSAT: 2, LONG_HANDLE: 2, ESCALATED: 2, REOPENED: 2, SLA_BREACHED: 2})


def simulate_month(
    db: Session, clock: FixedClock, agents: list[User], requester: User
) -> dict[str, set[int]]:
    """Four weeks of tickets solved by ``agents`` (one of them off in week 3), with bad ratings, long
    calls, escalations, reopens and breaches sprinkled at random. Returns what was done to which ticket."""
    draw = random.Random(11)
    done: dict[str, set[int]] = defaultdict(set)
    start = clock.now()
    for week in range(4):
        for agent in agents:
            if week == 2 and agent is agents[-1]:
                continue  # on leave: not active that week
            for n in range(draw.randint(1, 4)):
                clock.set(start + timedelta(weeks=week, days=draw.randint(0, 4), hours=n))
                sensitive = draw.random() < 0.25 and any(g.sensitive_access for g in agent.groups)
                ticket = desk_actions.create_ticket(
                    db, requester=requester, subject=f"w{week} {agent.name} {n}", body_text="Help please",
                    channel=Channel.PHONE, clock=clock, sensitive=sensitive,
                )  # fmt: skip
                desk_actions.add_message(
                    db, ticket=ticket, author=agent, author_kind=AuthorKind.AGENT, public=True,
                    channel=Channel.PHONE, clock=clock, body_text="Done",
                )  # fmt: skip
                _event(
                    db, ticket, "call_completed", clock, talk_s=draw.choice([300, 2400]), hold_s=60, wrap_s=60
                )
                if draw.random() < 0.2:
                    desk_actions.escalate(db, ticket=ticket, reason="needs L2", actor=agent, clock=clock)
                    done["escalated"].add(ticket.id)
                if draw.random() < 0.2:
                    _event(db, ticket, "sla_breached", clock, metric="first_reply_time")
                    done["breached"].add(ticket.id)
                desk_actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
                if draw.random() < 0.2:
                    desk_actions.add_message(
                        db, ticket=ticket, author=requester, author_kind=AuthorKind.REQUESTER, public=True,
                        channel=Channel.PHONE, clock=clock, body_text="Still broken",
                    )  # fmt: skip
                    desk_actions.change_status(db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=clock)
                    done["reopened"].add(ticket.id)
                rating = draw.choice(["good", "good", "bad"])
                _event(
                    db,
                    ticket,
                    "csat_received",
                    clock,
                    rating=rating,
                    score=None,
                    scale="good_bad",
                    via="email",
                )
                if rating == "bad":
                    done["bad"].add(ticket.id)
                done[f"week{week}:{agent.id}"].add(ticket.id)
    db.commit()
    return done


def _event(db: Session, ticket: Ticket, type_: str, clock: FixedClock, **data: object) -> None:
    append_event(db, subject_type="ticket", subject_id=ticket.id, type=type_, at=clock.now(), data=dict(data))


def test_a_simulated_month(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    extra = [make_user(db, clock, Role.AGENT, email=f"a{n}@qa.test", password=None) for n in range(3)]
    agents = [team.agent, team.other_agent, *extra]  # team.agent is in the sensitive-access group
    first_monday = clock.now().date()
    done = simulate_month(db, clock, agents, team.requester)
    users = {u.id: u for u in [team.reviewer, team.clinical_reviewer, team.lead]}

    picks = sampling_queries.weekly_sample(db, start=first_monday, weeks=4, rules=RULES, seed=42)
    again = sampling_queries.weekly_sample(db, start=first_monday, weeks=4, rules=RULES, seed=42)
    assert picks == again
    assert picks != sampling_queries.weekly_sample(db, start=first_monday, weeks=4, rules=RULES, seed=43)

    for week in range(4):
        monday = first_monday + timedelta(weeks=week)
        active = {a.id for a in agents if done.get(f"week{week}:{a.id}")}
        sampled = {p.candidate.agent_id for p in picks if p.candidate.week == monday and p.reason == RANDOM}
        assert sampled == active, f"week {week}"
    assert {a.id for a in agents} - {
        p.candidate.agent_id for p in picks if p.candidate.week == first_monday + timedelta(weeks=2)
    } == {agents[-1].id}

    rule_sets = {LOW_CSAT: "bad", ESCALATED: "escalated", REOPENED: "reopened", SLA_BREACHED: "breached"}
    seen = defaultdict(int)
    for pick in picks:
        seen[pick.reason] += 1
        if pick.reason in rule_sets:
            assert pick.candidate.ticket_id in done[rule_sets[pick.reason]], pick
        if pick.reason == LONG_HANDLE:
            assert pick.candidate.handle_seconds == 2520.0, pick
        assert pick.why
        assert pick.reviewer_id is not None, pick  # the clinical reviewer can take every sensitive one
        ticket = db.get(Ticket, pick.candidate.ticket_id)
        assert ticket is not None and desk_access.can_see(users[pick.reviewer_id], ticket), pick
    assert set(seen) == {RANDOM, LOW_CSAT, LONG_HANDLE, ESCALATED, REOPENED, SLA_BREACHED}
    sensitive = [p for p in picks if p.candidate.sensitive]
    assert sensitive and {p.reviewer_id for p in sensitive} == {team.clinical_reviewer.id}


_candidates = st.lists(
    st.builds(
        Candidate,
        ticket_id=st.integers(1, 60),
        agent_id=st.integers(1, 6),
        week=st.sampled_from([date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)]),
        sensitive=st.booleans(),
        csat=st.sampled_from([None, "good", "bad"]),
        handle_seconds=st.one_of(st.none(), st.floats(0, 7200)),
        escalated=st.booleans(),
        reopened=st.integers(0, 2),
        sla_breaches=st.sampled_from([(), ("first_reply_time",)]),
    ),
    max_size=80,
    unique_by=lambda c: (c.ticket_id, c.agent_id, c.week),
)
_reviewers = st.lists(
    st.builds(Reviewer, id=st.integers(100, 110), sensitive_access=st.booleans()),
    min_size=1,
    max_size=4,
    unique_by=lambda r: r.id,
)


@settings(max_examples=200, deadline=None)
@given(candidates=_candidates, reviewers=_reviewers, seed=st.integers(0, 2**32))
def test_sampling_rules_hold_on_any_work(
    candidates: list[Candidate], reviewers: list[Reviewer], seed: int
) -> None:
    picks = sample(candidates, reviewers, RULES, seed=seed)
    assert picks == sample(candidates, reviewers, RULES, seed=seed)
    by_week: dict[date, set[int]] = defaultdict(set)
    for c in candidates:
        by_week[c.week].add(c.agent_id)
    for week, agents in by_week.items():
        assert {
            p.candidate.agent_id for p in picks if p.candidate.week == week and p.reason == RANDOM
        } == agents
    keys = [(p.candidate.week, p.candidate.ticket_id, p.candidate.agent_id) for p in picks]
    assert len(keys) == len(set(keys))
    access = {r.id: r.sensitive_access for r in reviewers}
    for pick in picks:
        if pick.reason != RANDOM:
            assert meets(pick.candidate, pick.reason, RULES) is not None
        if pick.reviewer_id is None:
            assert pick.candidate.sensitive and not any(access.values())
        elif pick.candidate.sensitive:
            assert access[pick.reviewer_id]
