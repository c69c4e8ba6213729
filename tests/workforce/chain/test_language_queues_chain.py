"""Languages in the chain: each is its own Erlang queue where its volume justifies one, pooled
otherwise; the decisions are stored with the scenario and the threshold moves everything downstream."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.chain.assumptions import parse_assumptions
from opsdesk.workforce.chain.build import run_chain
from opsdesk.workforce.models import PlanScenario
from opsdesk.workforce.scenarios import change_assumptions, create_scenario
from tests.workforce.chain.book import add_book, add_history, language_assumptions


def test_the_decisions_are_stored_with_the_scenario_and_read_back(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    scenario = create_scenario(
        db, name="Languages", assumptions=language_assumptions(clock.now()), clock=clock, actor=None
    )
    db.commit()
    with session_factory() as fresh:
        stored = fresh.get(PlanScenario, scenario.id)
        assert stored is not None
        assert stored.assumptions["queues"] == {"min_own_queue_occupancy": 0.3}
        queues = stored.chain["requirement"]["language_queues"]
        months = stored.summary["months"]
    assert queues["min_own_queue_occupancy"] == 0.3
    decided = {(d["channel"], d["language"]): d for d in queues["first_month"]}
    assert len(decided) == 3 * 4  # phone, chat, email x en, es, de, tl
    for channel in ("phone", "chat", "email"):
        assert decided[(channel, "en")]["reason"] == "most workload: anchors the shared queue"
        for small in ("de", "tl"):  # a few contacts a week: never a queue of their own
            assert decided[(channel, small)]["queue"] == "pooled"
            assert decided[(channel, small)]["own_queue_occupancy"] < 0.3
            assert "shares the L1/en queue" in decided[(channel, small)]["reason"]
    # Spanish email keeps agents of its own busy enough.
    email_es = decided[("email", "es")]
    assert email_es["queue"] == "own" and email_es["own_queue_occupancy"] >= 0.3
    assert list(queues["own_by_month"]) == months
    assert "email/L1/es" in queues["own_by_month"][months[0]]
    # Every queue's agents reach the sites (or the unserved work): nothing is lost between the queues
    # and the follow-the-sun split.
    chain, _ = run_chain(db, parse_assumptions(language_assumptions(clock.now())), now=clock.now())
    assert chain["requirement"]["language_queues"] == queues
    requirement = chain["requirement"]
    for m in range(len(months)):
        queued = sum(hours[m] for hours in requirement["agent_hours_by_channel"].values())
        assert queued == pytest.approx(requirement["total"][m] + requirement["unserved"][m], abs=0.5)


def test_the_threshold_moves_requirement_schedule_and_hires(db: Session, clock: FixedClock) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    results = {}
    for threshold in (1.0, 0.3, 0.05):
        chain, summary = run_chain(
            db, parse_assumptions(language_assumptions(clock.now(), threshold=threshold)), now=clock.now()
        )
        own = sum(d["queue"] == "own" for d in chain["requirement"]["language_queues"]["first_month"])
        results[threshold] = (
            own,
            sum(summary["requirement_hours"]),
            chain["schedule"]["required_hours"],
            summary["total_hires"],
        )
    pooled, default, split = results[1.0], results[0.3], results[0.05]
    # Lower thresholds give more languages their own queue; small queues lose the economies of scale
    # of the pooled one, so the requirement, the schedule's requirement and the hires all go up.
    assert pooled[0] == 0 < default[0] < split[0]
    for lower, higher in ((pooled, default), (default, split)):
        assert all(h > low for h, low in zip(higher[1:], lower[1:], strict=True)), (lower, higher)


def test_the_threshold_is_checked_by_name(db: Session, clock: FixedClock) -> None:
    add_book(db, clock.now())
    add_history(db, clock.now())
    for bad in (0, -0.1, 1.5, "half"):
        with pytest.raises(ValidationFailed) as refused:
            parse_assumptions(language_assumptions(clock.now(), threshold=bad))  # type: ignore[arg-type]
        assert refused.value.field == "queues.min_own_queue_occupancy"
    scenario = create_scenario(
        db, name="Languages", assumptions=language_assumptions(clock.now()), clock=clock, actor=None
    )
    db.commit()
    before = copy.deepcopy(scenario.chain)
    with pytest.raises(ValidationFailed) as refused:
        change_assumptions(
            db,
            scenario=scenario,
            changes={"queues": {"min_own_queue_occupancy": 1.5}},
            clock=clock,
            actor=None,
        )
    assert refused.value.field == "queues.min_own_queue_occupancy"
    assert scenario.chain == before
