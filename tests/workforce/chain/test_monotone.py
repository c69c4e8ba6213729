"""The chain end to end on a small organisation: each lever moves requirement, schedule and hires the
right way, and a plan whose headcount is far above need hires nobody, saying why."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.chain.assumptions import parse_assumptions
from opsdesk.workforce.chain.build import run_chain
from opsdesk.workforce.scenarios import merge
from tests.workforce.chain.book import add_book, add_history, small_assumptions

EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _measures(db: Session, clock: FixedClock, assumptions: dict[str, Any]) -> tuple[float, float, int]:
    _chain, summary = run_chain(db, parse_assumptions(assumptions), now=clock.now())
    return sum(summary["requirement_hours"]), summary["schedule_covered_hours"], summary["total_hires"]


def test_aht_service_level_growth_and_opening_hours_move_requirement_schedule_and_hires_up(
    db: Session, clock: FixedClock
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    base = small_assumptions(clock.now(), chicago=16, manila=11)  # some hires, schedule not saturated
    manila = base["sites"]["sites"][1]
    levers = {
        "AHT": {"channels": {"phone": {"aht_seconds": 600}, "chat": {"aht_seconds": 800}}},
        "service level": {"channels": {"phone": {"service_level": 0.95}, "chat": {"service_level": 0.95}}},
        "growth": {"growth": {"extra_monthly_growth_pct": 10}},
        # Manila stays open two hours longer, which its shifts (07:00-12:30 starts, 8.5 h) can cover.
        "opening hours": {
            "sites": {
                "sites": [
                    base["sites"]["sites"][0],
                    {**manila, "opening_hours": {day: ["07:00-21:00"] for day in EVERY_DAY}},
                ]
            }
        },
    }
    before = _measures(db, clock, base)
    for lever, change in levers.items():
        after = _measures(db, clock, merge(copy.deepcopy(base), change))
        assert all(a >= b for a, b in zip(after, before, strict=True)), (lever, before, after)
        assert after[0] > before[0], (lever, "requirement", before, after)
        assert after != before, lever
    # The case: a shorter phone AHT lowers the requirement and never raises hires.
    shorter = _measures(db, clock, merge(copy.deepcopy(base), {"channels": {"phone": {"aht_seconds": 300}}}))
    assert shorter[0] < before[0] and shorter[2] <= before[2]


def test_a_plan_whose_headcount_is_far_above_need_hires_nobody_and_each_month_says_why(
    db: Session, clock: FixedClock
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    chain, summary = run_chain(
        db, parse_assumptions(small_assumptions(clock.now(), chicago=120, manila=90)), now=clock.now()
    )
    assert summary["total_hires"] == 0
    rows = chain["hiring"]["rows"]
    assert len(rows) == 2 * 4 and all(row["hires"] == 0 for row in rows)
    for row in rows:
        assert row["headcount"] > 3 * row["need_fte"]
        assert row["reason"].startswith(("no hire: by ", "inside the lead time")), row["reason"]
        assert "short" not in row["reason"]
    assert (
        summary["headcount"][0] == 210
        and summary["cost_cents"][0] == 120 * 5_200_000 // 12 + 90 * 1_100_000 // 12
    )


def test_each_link_is_stored_and_fed_by_the_one_before(db: Session, clock: FixedClock) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    chain, summary = run_chain(db, parse_assumptions(small_assumptions(clock.now())), now=clock.now())
    assert list(chain) == ["growth", "contacts", "volume", "requirement", "schedule", "headcount", "hiring"]
    growth = chain["growth"]
    # Live lives: Acme 2,000 + Globex 9,000 + Initech 1,000 (the churned account left out); the deal
    # adds 0.5 x $180,000 / $60 (Acme's PEPM x 12) = 1,500; Acme's term ending loses 15% of 2,000.
    assert growth["start_lives"] == 12_000
    assert growth["total"] == [13_500, 13_200, 13_200, 13_200]
    contacts = chain["contacts"]["channels"]
    volume = chain["volume"]["weekly_by_channel"]
    for channel in ("phone", "chat", "email"):
        weekly = contacts[channel]["per_life_week"] * 13_500
        assert volume[channel][0] == pytest.approx(weekly, rel=0.01)
    assert summary["requirement_hours"][0] == chain["requirement"]["total"][0]
    assert chain["schedule"]["covered_hours"] <= (6 + 5) * 40
    need = chain["headcount"]["teams"][0]["need_fte"]
    assert need[0] == pytest.approx(chain["requirement"]["by_site"]["Chicago"][0] / 40 / 0.9, abs=0.01)


def test_missing_book_or_history_is_named_before_anything_is_planned(db: Session, clock: FixedClock) -> None:
    assumptions = parse_assumptions(small_assumptions(clock.now()))
    with pytest.raises(ValidationFailed) as no_book:
        run_chain(db, assumptions, now=clock.now())
    assert no_book.value.field == "growth"
    add_book(db, clock.now())
    with pytest.raises(ValidationFailed) as no_history:
        run_chain(db, assumptions, now=clock.now())
    assert no_history.value.field == "contacts"
    unworkable = small_assumptions(clock.now())
    unworkable["sites"]["sites"][1]["rules"] = {"min_days_off_per_week": 7, "max_consecutive_days": 1}
    add_history(db, clock.now())
    with pytest.raises(ValidationFailed) as no_days:
        run_chain(db, parse_assumptions(unworkable), now=clock.now())
    assert no_days.value.field == "sites.sites[1].rules"


def test_out_of_range_levers_are_refused_by_name(db: Session, clock: FixedClock) -> None:
    for change, field in (
        ({"channels": {"phone": {"aht_seconds": 1e9}}}, "channels.phone.aht_seconds"),
        ({"channels": {"chat": {"concurrency": 500}}}, "channels.chat.concurrency"),
        ({"growth": {"extra_monthly_growth_pct": 80}}, "growth.extra_monthly_growth_pct"),
        ({"salaries": {"Paris": {"all": 1}}}, "salaries.Paris"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            run_chain(db, parse_assumptions(merge(small_assumptions(clock.now()), change)), now=clock.now())
        assert refused.value.field == field
