"""The support dashboard adds up the KPI engine's fine-grained rows of counts and rates; the sums must
equal the engine's own rows for the coarser grouping."""

from __future__ import annotations

from datetime import timedelta

from opsdesk.insights.dashboards.support import ADDITIVE_METRICS, FINE_KEYS, merged
from opsdesk.insights.kpis.engine import compute
from opsdesk.insights.kpis.request import KpiRequest
from tests.insights.kpis.fixture import History, at


def busy_history() -> History:
    h = History()
    tickets = [
        ("email", "Dublin", "L1"),
        ("chat", "Manila", "L1"),
        ("email", "Manila", "L2"),
        ("phone", None, "L1"),
        ("chat", "Dublin", "L2"),
        ("email", "Dublin", "L1"),
    ]
    for i, (channel, site, tier) in enumerate(tickets):
        ticket = i + 1
        start = at(60 * 24 * 3 * i)  # every three days: several weeks
        h.ticket(ticket, start, channel=channel, site=site, tier=tier)
        h.message(ticket, start + timedelta(minutes=20 + i), "agent")
        if i % 3 != 2:
            h.status(ticket, start + timedelta(hours=2), "solved")
            h.event(ticket, start + timedelta(hours=3), "csat_received", rating="good" if i % 2 else "bad")
        if i == 4:
            h.status(ticket, start + timedelta(hours=5), "open")
    return h


NUMBERS = ("n", "value", "numerator", "denominator")


def test_sums_of_fine_rows_equal_the_engines_coarse_rows() -> None:
    frames = busy_history().frames()
    first, last = at(0).date(), at(60 * 24 * 20).date()
    now = at(60 * 24 * 21)
    fine = compute(frames, KpiRequest(ADDITIVE_METRICS, first, last, FINE_KEYS), now=now)
    for key in FINE_KEYS:
        direct = compute(frames, KpiRequest(ADDITIVE_METRICS, first, last, (key,)), now=now)

        def keyed(
            rows: list[dict[str, object]], key: str = key
        ) -> dict[tuple[object, ...], tuple[object, ...]]:
            return {
                (r.get(key), r["metric"], r.get("target")): tuple(
                    round(float(r[k]), 6) if isinstance(r.get(k), float) else r.get(k) for k in NUMBERS
                )
                for r in rows
            }

        if key != "week":  # backlog is a snapshot per week: only the weekly sums are backlogs
            fine_rows = [r for r in fine if r["metric"] != "backlog"]
            direct = [r for r in direct if r["metric"] != "backlog"]
        else:
            fine_rows = fine
        assert keyed(merged(fine_rows, key)) == keyed(direct), key
    assert any(r["metric"] == "backlog" for r in fine) and any(r["metric"] == "csat" for r in fine)
