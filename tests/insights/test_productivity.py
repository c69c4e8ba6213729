"""Agent, team and site productivity on hand-made histories, every expected number worked out by hand
in the comments."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from opsdesk.core.actions import create_user
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.insights.kpis.definitions import public_agent_replies
from opsdesk.insights.kpis.engine import compute
from opsdesk.insights.kpis.request import KpiRequest
from opsdesk.insights.productivity.agents import (
    ENGINE_METRICS,
    Agent,
    Fraction,
    agent_rows,
    engine_outcomes,
    handle_seconds,
    online_seconds,
    reply_counts,
    rollup,
)
from tests.insights.kpis.fixture import T0, History, at

START, END = T0, T0 + timedelta(hours=10)
ANA, BEN, CAL = 7, 8, 9


def presence(*rows: tuple[int, float, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(agent, at(minutes), status) for agent, minutes, status in rows],
        columns=["agent_id", "at", "status"],
    )


def test_time_online_counts_only_online_stretches_inside_the_period() -> None:
    log = presence(
        (ANA, -60, "online"),  # online before the period opens: counts from START
        (ANA, 120, "away"),  # 2 h online
        (ANA, 180, "online"),
        (ANA, 240, "offline"),  # + 1 h online = 3 h
        (BEN, 540, "online"),  # the last status runs to END: 1 h
        (CAL, -30, "offline"),  # offline all period: 0, but known
    )
    assert online_seconds(log, START, END) == {ANA: 3 * 3600.0, BEN: 3600.0, CAL: 0.0}
    assert online_seconds(log.iloc[0:0], START, END) == {}


def test_occupancy_is_handle_time_over_time_online_and_absent_without_presence() -> None:
    calls = pd.DataFrame(
        [
            {"at": at(10), "agent_id": ANA, "answered": True, "handle_s": 600.0},
            {"at": at(70), "agent_id": ANA, "answered": True, "handle_s": 1200.0},
            {"at": at(80), "agent_id": ANA, "answered": False, "handle_s": None},  # abandoned
            {"at": at(-10), "agent_id": ANA, "answered": True, "handle_s": 999.0},  # before the period
            {"at": at(30), "agent_id": BEN, "answered": True, "handle_s": 900.0},
        ]
    )
    handled = handle_seconds(calls, START, END)
    assert handled == {ANA: 1800.0, BEN: 900.0}
    rows = agent_rows(
        [Agent(ANA, "ana@example.com", "Ana"), Agent(BEN, "ben@example.com", "Ben")],
        outcomes={},
        replies={},
        handle=handled,
        online={ANA: 3 * 3600.0},  # Ben has no presence events
        qa={},
    )
    ana, ben = rows
    assert ana["occupancy"] == pytest.approx(1800 / 10800)  # 1/6
    assert ben["occupancy"] is None and ben["online_s"] is None


def history() -> History:
    """Ana's tickets: 1 solved with one public reply (one-touch), 2 solved after two replies then
    reopened by the requester, rated bad; Ben's ticket 3 solved with one reply, rated good."""
    h = History()
    h.ticket(1, at(0), agent="ana@example.com", group="Billing", site="Dublin")
    h.message(1, at(30), "agent")
    h.status(1, at(40), "solved")
    h.ticket(2, at(5), agent="ana@example.com", group="Billing", site="Dublin")
    h.message(2, at(20), "agent")
    h.message(2, at(25), "requester")
    h.message(2, at(50), "agent")
    h.message(2, at(55), "agent", public=False)  # a note: not a reply
    h.status(2, at(60), "solved")
    h.status(2, at(90), "open")
    h.event(2, at(95), "csat_received", rating="bad")
    h.ticket(3, at(10), agent="ben@example.com", group="Returns", site="Manila")
    h.message(3, at(15), "agent")
    h.status(3, at(20), "solved")
    h.event(3, at(30), "csat_received", rating="good")
    return h


def test_agent_rows_from_the_engine_and_the_replies() -> None:
    h = history()
    frames = h.frames()
    request = KpiRequest(ENGINE_METRICS, START.date(), START.date(), ("agent",))
    outcomes = engine_outcomes(compute(frames, request, now=END), "agent")
    replies = public_agent_replies(frames.events)
    authors = {1: ANA, 2: ANA, 3: BEN}  # each ticket's replies are by its assignee
    replies = replies.assign(agent_id=replies["ticket_id"].map(authors))
    counted = reply_counts(replies)
    assert counted == {ANA: (3, 2), BEN: (1, 1)}  # Ana: 1 + 2 public replies on 2 tickets
    rows = agent_rows(
        [
            Agent(ANA, "ana@example.com", "Ana"),
            Agent(BEN, "ben@example.com", "Ben"),
            Agent(CAL, "c@x", "Cal"),
        ],
        outcomes=outcomes,
        replies=counted,
        handle={},
        online={},
        qa={ANA: (2, 80.0)},
    )
    assert [r["agent"] for r in rows] == ["Ana", "Ben"]  # Cal did nothing and is left out
    ana, ben = rows
    assert ana["tickets_solved"] == 1  # ticket 2 is open again: only ticket 1 is solved now
    assert ana["touches_per_ticket"] == pytest.approx(1.5)
    assert ana["one_touch_rate"] == Fraction(1, 2)  # both solved once, only ticket 1 with one reply
    assert ana["reopen_rate"] == Fraction(1, 2)
    assert ana["csat"] == Fraction(0, 1)
    assert (ana["qa_reviews"], ana["qa_score"]) == (2, 80.0)
    assert ben["tickets_solved"] == 1 and ben["one_touch_rate"] == Fraction(1, 1)
    assert ben["csat"] == Fraction(1, 1) and ben["qa_score"] is None


def test_rollup_adds_parts_not_rates() -> None:
    base = {"tickets_touched": 0, "public_replies": 0, "qa_reviews": 0, "qa_score": None}
    ana = {
        **base,
        "agent_id": ANA,
        "tickets_solved": 4,
        "handle_s": 3600.0,
        "online_s": 7200.0,
        "one_touch_rate": Fraction(1, 4),
        "reopen_rate": Fraction(0, 4),
        "sla_attainment": Fraction(3, 4),
        "csat": Fraction(2, 2),
        "qa_reviews": 1,
        "qa_score": 60.0,
        "public_replies": 6,
        "tickets_touched": 4,
    }
    ben = {**base, "agent_id": BEN, "tickets_solved": 1, "handle_s": 1800.0, "online_s": None,
           "one_touch_rate": Fraction(1, 1), "reopen_rate": Fraction(1, 1), "sla_attainment": Fraction(1, 1),
           "csat": Fraction(0, 0), "qa_reviews": 3, "qa_score": 100.0}  # fmt: skip
    (team,) = rollup([ana, ben], {ANA: ["Billing"], BEN: ["Billing"]})
    assert team["agents"] == 2 and team["tickets_solved"] == 5
    assert team["one_touch_rate"] == Fraction(2, 5)  # not the mean of 1/4 and 1/1
    assert team["sla_attainment"].value == pytest.approx(0.8)
    assert team["touches_per_ticket"] == pytest.approx(6 / 4)
    assert team["handle_s"] == 5400.0
    assert team["occupancy"] == pytest.approx(0.5)  # only Ana has presence: 3600 / 7200
    assert team["qa_score"] == pytest.approx((60 * 1 + 100 * 3) / 4)  # the mean of the four reviews


def test_time_online_reads_the_presence_the_routing_pages_set(db: Session, clock: FixedClock) -> None:
    """The statuses agents set (desk/routing) are the presence events occupancy is computed from."""
    from opsdesk.desk.routing.models import PresenceStatus
    from opsdesk.desk.routing.presence import set_presence
    from opsdesk.insights.productivity.queries import presence as presence_events

    agent = create_user(db, email="ana@desk.test", name="Ana", role=Role.AGENT, tier=Tier.L1, clock=clock)
    start = clock.now()
    for minutes, status in (
        (0, PresenceStatus.ONLINE),
        (90, PresenceStatus.AWAY),
        (120, PresenceStatus.ONLINE),
    ):
        step = FixedClock(start + timedelta(minutes=minutes))
        set_presence(db, agent=agent, status=status, clock=step, actor=agent)
    db.commit()
    log = presence_events(db, start, start + timedelta(hours=3))
    # Online 0-90 and 120-180 minutes: 2.5 hours.
    assert online_seconds(log, start, start + timedelta(hours=3)) == {agent.id: 2.5 * 3600}
