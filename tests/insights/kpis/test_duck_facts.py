"""Per-ticket facts (``ticket_facts.parquet``): the KPI rows read from them equal those read from the
events, SLA attainment included when the request is at the moment the facts were derived (and measured
from the events at any other moment); facts that no longer fit the event log beside them are ignored."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from opsdesk.insights.exports.parquet import write_parquet
from opsdesk.insights.kpis import duck_engine, duck_facts
from opsdesk.insights.kpis.duck_source import DuckSource
from opsdesk.insights.kpis.engine import compute
from opsdesk.insights.kpis.request import kpi_request
from tests.insights.kpis import test_sla_attainment as replay
from tests.insights.kpis.test_duck_sla import ALWAYS_OPEN
from tests.insights.kpis.test_sla_attainment import random_history

METRICS = ("tickets_created", "first_reply_time", "full_resolution_time", "sla_attainment", "csat",
           "reopen_rate", "one_touch_rate", "escalation_rate", "tickets_solved",
           "first_resolution_time")  # fmt: skip
DERIVED = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
LATER = datetime(2026, 4, 1, tzinfo=UTC)


def _rows(source: DuckSource, by: str, now: datetime, basis: str = "created") -> list[dict[str, Any]]:
    request = kpi_request(metrics=METRICS, start="2026-03-01", end="2026-03-31", by=by, date_basis=basis)
    return duck_engine.compute(source, request, now=now, policies=ALWAYS_OPEN)


@pytest.mark.parametrize("seed", [4, 5])
def test_rows_from_the_facts_equal_rows_from_the_events(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "POLICIES", ALWAYS_OPEN)
    h = random_history(random.Random(seed), 250)
    write_parquet(h.frames(), tmp_path, now=DERIVED, policies=ALWAYS_OPEN)
    facts = DuckSource.of_parquet(tmp_path).facts
    assert facts is not None and facts.with_sla and facts.sla_for(DERIVED, ALWAYS_OPEN)
    assert not facts.sla_for(LATER, ALWAYS_OPEN) and not facts.sla_for(DERIVED, {2: ALWAYS_OPEN[2]})
    for by in ("", "week,channel,priority", "day"):
        for now in (DERIVED, LATER):  # at LATER, SLA attainment is measured from the events
            for basis in ("created", "solved"):
                reference = compute(
                    h.frames(),
                    kpi_request(
                        metrics=METRICS, start="2026-03-01", end="2026-03-31", by=by, date_basis=basis
                    ),
                    now=now,
                    policies=ALWAYS_OPEN,
                )
                assert _rows(DuckSource.of_parquet(tmp_path), by, now, basis) == reference
                assert _rows(DuckSource.of_frames(h.frames()), by, now, basis) == reference
    sla = [r for r in _rows(DuckSource.of_parquet(tmp_path), "", DERIVED) if r["metric"] == "sla_attainment"]
    assert {r["target"] for r in sla} == set(duck_facts.SLA_TARGETS)
    assert all(0 < r["numerator"] < r["denominator"] for r in sla)


def test_the_facts_file_holds_sla_outcomes_per_ticket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "POLICIES", ALWAYS_OPEN)
    h = random_history(random.Random(6), 120)
    assert write_parquet(h.frames(), tmp_path, now=DERIVED, policies=ALWAYS_OPEN)["ticket_facts"] == 120
    columns = ", ".join(duck_facts.SLA_COLUMNS)
    path = tmp_path / duck_facts.FACTS_FILE
    found: Counter[tuple[int, str, bool]] = Counter()
    for ticket_id, *counts in duckdb.sql(
        f"SELECT ticket_id, {columns} FROM read_parquet('{path}')"
    ).fetchall():
        for (target, hit), count in zip(duck_facts.SLA_OUTCOMES, counts, strict=True):
            if count:
                found[ticket_id, target, hit] = count
    expected = replay.replayed(h, DERIVED)  # what each ticket's SLA panel shows
    assert found == expected and sum(expected.values()) > 50


def test_facts_that_do_not_fit_the_event_log_are_not_read(tmp_path: Path) -> None:
    small, large = random_history(random.Random(1), 10), random_history(random.Random(2), 30)
    write_parquet(small.frames(), tmp_path / "small", now=DERIVED, policies=ALWAYS_OPEN)
    write_parquet(large.frames(), tmp_path / "large", now=DERIVED, policies=ALWAYS_OPEN)
    (tmp_path / "small" / duck_facts.FACTS_FILE).replace(tmp_path / "large" / duck_facts.FACTS_FILE)
    source = DuckSource.of_parquet(tmp_path / "large")
    assert source.facts is None
    request = kpi_request(metrics=["tickets_created"], start="2026-03-01", end="2026-03-31")
    (row,) = duck_engine.compute(source, request, now=DERIVED)
    assert row["value"] == 30
