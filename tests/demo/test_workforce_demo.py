"""The demo organisation's planning scenarios: its own and a copy with faster growth, so the compare
page has two scenarios to compare on first run."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Site, Tier, User
from opsdesk.demo.loader import load_demo
from opsdesk.demo.workforce import FASTER_GROWTH_PCT
from opsdesk.workforce.chain.compare import compare
from opsdesk.workforce.default_plan import DEMO_SPANISH_SITES
from opsdesk.workforce.models import PlanScenario


def test_the_demo_has_a_scenario_and_a_faster_growing_copy_to_compare(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    counts = load_demo(
        session_factory,
        clock=clock,
        organisations=100,
        tickets_per_day=20,
        history_days=40,
        success_accounts=50,
    )
    assert counts["planning scenarios"] == 2
    base, faster = db.scalars(select(PlanScenario).order_by(PlanScenario.id)).all()
    assert base.name == "Base" and base.copied_from_id is None
    assert faster.copied_from_id == base.id
    assert faster.assumptions["growth"]["extra_monthly_growth_pct"] == FASTER_GROWTH_PCT
    assert base.assumptions["growth"]["extra_monthly_growth_pct"] == 0
    # Faster growth: more lives from the first month, so more contacts, and at least as many agents
    # and hires (this small demo's queues are so quiet that one agent per open queue covers both).
    assert all(f > b for f, b in zip(faster.summary["lives"], base.summary["lives"], strict=True))
    for channel, weekly in base.chain["volume"]["weekly_by_channel"].items():
        grown = faster.chain["volume"]["weekly_by_channel"][channel]
        assert sum(grown) > sum(weekly), channel
    assert sum(faster.summary["requirement_hours"]) >= sum(base.summary["requirement_hours"])
    assert faster.summary["total_hires"] >= base.summary["total_hires"]
    # The demo's demand mix: English L1 anchors each channel's queue; Spanish L1 (8%, answered by the
    # bilingual advocates of Chicago and San Francisco) and L2 (15%) are too little work here for a
    # queue of their own, so they share the English one, and the plan says so.
    decisions = base.chain["requirement"]["language_queues"]["first_month"]
    channels = base.chain["volume"]["weekly_by_channel"]
    assert {(d["channel"], d["skill"], d["language"]) for d in decisions} == {
        (channel, skill, language)
        for channel in channels
        for skill, language in (("L1", "en"), ("L1", "es"), ("L2", None))
    }
    for d in decisions:
        assert d["queue"] == "pooled"
        if (d["skill"], d["language"]) == ("L1", "en"):
            assert "anchors" in d["reason"]
        else:
            assert "shares the L1/en queue" in d["reason"], d
    spanish = [t for s in base.assumptions["sites"]["sites"] for t in s["teams"] if "es" in t["languages"]]
    assert {t["name"] for t in spanish} == {"L1"} and len(spanish) == 2
    assert base.summary["unserved_hours"][0] == 0
    # The plan's bilingual teams are the demo's people: every L1 advocate of those sites speaks Spanish.
    l1 = db.execute(
        select(Site.name, User.languages).join(Site, User.site_id == Site.id).where(User.tier == Tier.L1)
    ).all()
    assert {name for name, languages in l1 if "es" in (languages or [])} == set(DEMO_SPANISH_SITES)
    assert all("es" in (languages or []) for name, languages in l1 if name in DEMO_SPANISH_SITES)
    table = compare([(s.id, s.name, s.summary) for s in (base, faster)])
    assert table["months"] == base.summary["months"]


def test_a_demo_with_too_little_history_has_no_scenarios(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    counts = load_demo(
        session_factory, clock=clock, organisations=50, tickets_per_day=2, history_days=3, success_accounts=0
    )
    assert counts["planning scenarios"] == 0
