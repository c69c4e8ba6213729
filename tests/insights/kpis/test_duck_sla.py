"""SLA attainment in DuckDB's SQL agrees with the desk's own clocks on random 24x7 histories (replies,
bots, notes, pauses, reopens, tickets opened by agents, targets met exactly at the due instant), and
hands tickets on business hours to the frame definition."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from opsdesk.desk.sla.business_hours import TWENTY_FOUR_SEVEN
from opsdesk.insights.kpis import duck_sla
from opsdesk.insights.kpis.duck_source import DuckSource
from tests.insights.kpis import test_sla_attainment as replay
from tests.insights.kpis.test_sla_attainment import CHICAGO, MINUTE, Policy, random_history

ALWAYS_OPEN = {
    1: Policy(
        {"normal": {"first_reply": 60 * MINUTE, "next_reply": 120 * MINUTE, "resolution": 600 * MINUTE},
         "high": {"first_reply": 30 * MINUTE, "resolution": 240 * MINUTE}},
        frozenset({"pending"}),
        TWENTY_FOUR_SEVEN,
    ),
    2: replay.POLICIES[2],
}  # fmt: skip


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_sql_attainment_equals_the_desks_clocks(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "POLICIES", ALWAYS_OPEN)
    h = random_history(random.Random(seed), 250)
    source = DuckSource.of_frames(h.frames())
    assert duck_sla.supported(source.con, {})
    for now in (datetime(2026, 3, 9, 15, 0, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)):
        duck_sla.build_samples(source.con, ALWAYS_OPEN, now)
        got = Counter(source.con.execute("SELECT ticket_id, target, hit FROM sla_samples").fetchall())
        expected = replay.replayed(h, now)
        assert got == expected
        assert sum(expected.values()) > 100 and any(not hit for _t, _m, hit in expected)


def test_business_hours_policies_stay_with_the_frame_definition() -> None:
    h = random_history(random.Random(7), 20)
    source = DuckSource.of_frames(h.frames())
    schedules = {1: [(datetime(2020, 1, 1, tzinfo=UTC), CHICAGO)]}
    assert not duck_sla.supported(source.con, schedules)
    assert duck_sla.supported(source.con, {1: [(datetime(2020, 1, 1, tzinfo=UTC), TWENTY_FOUR_SEVEN)]})
