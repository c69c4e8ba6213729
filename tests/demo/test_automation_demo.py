"""The demo desk has rules and macros in use, and its tickets carry the automation events that the
rules and macros really produced."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event
from opsdesk.core.organisation_attributes import OrganisationAttribute
from opsdesk.demo.loader import load_demo
from opsdesk.desk.automation.models import Macro, Rule


def test_the_demo_has_automation_at_work(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    counts = load_demo(
        session_factory,
        clock=clock,
        organisations=60,
        tickets_per_day=15,
        history_days=28,
        success_accounts=20,
    )
    assert counts["automation rules"] == db.scalar(select(func.count()).select_from(Rule)) >= 6
    assert db.scalar(
        select(func.count()).select_from(OrganisationAttribute).where(OrganisationAttribute.name == "segment")
    )
    fired = db.scalars(select(Event).where(Event.type == "automation_rule_fired")).all()
    rules_fired = {e.data["rule"] for e in fired}
    assert {"Acknowledge new email", "Refunds and invoices to billing"} <= rules_fired
    assert counts["time rule firings"] > 0 and any(e.data["kind"] == "time" for e in fired)
    # Each change a rule made names it.
    assert db.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.type == "tags_changed", Event.data["rule"].isnot(None))
    )
    assert counts["macro uses"] > 0
    assert sum(m.usage_count for m in db.scalars(select(Macro))) == counts["macro uses"]
    assert (
        db.scalar(select(func.count()).select_from(Event).where(Event.type == "macro_applied"))
        == counts["macro uses"]
    )
