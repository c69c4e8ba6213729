"""Customer-success facts reach desk rules as organisation attributes, without the desk importing
success: an account's stage, segment and ARR band are published as they change, and a rule tests them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.organisation_attributes import attributes_of
from opsdesk.desk.automation import rules
from opsdesk.desk.automation.models import RuleKind
from opsdesk.desk.models import Priority, Ticket
from opsdesk.success import actions as success_actions
from opsdesk.success import contracts
from opsdesk.success.models import PriceModel, Stage
from opsdesk.success.published import arr_band, publish_all
from tests.desk.automation.helpers import new_ticket
from tests.factories import make_user


def test_success_publishes_and_a_rule_tests_the_attributes(db: Session, clock: FixedClock) -> None:
    org = core_actions.create_organisation(db, name="Northwind", clock=clock)
    account = success_actions.create_account(
        db, name="Northwind", clock=clock, covered_lives=12_000, organisation=org, stage=Stage.ADOPTION
    )
    db.flush()
    attrs = attributes_of(db, org.id)
    assert attrs["lifecycle_stage"] == "adoption" and attrs["segment"]
    success_actions.change_stage(db, account=account, to=Stage.RENEWAL, on=clock.now().date(), clock=clock)
    contracts.save_subscription(
        db, account=account, start=clock.now().date() - timedelta(days=30),
        end=clock.now().date() + timedelta(days=335), price_model=PriceModel.FLAT_ANNUAL,
        flat_annual_cents=300_000_00, clock=clock,
    )  # fmt: skip
    db.flush()
    attrs = attributes_of(db, org.id)
    assert attrs["lifecycle_stage"] == "renewal" and attrs["arr_band"] == "250k_1m"
    assert publish_all(db, clock=clock) == 1
    rules.create_rule(
        db, name="Renewals at risk", kind=RuleKind.TRIGGER,
        conditions={"all": [
            {"field": "organisation.attributes.lifecycle_stage", "op": "is", "value": "renewal"},
            {"field": "organisation.attributes.arr_band", "op": "in", "value": ["250k_1m", "1m_plus"]},
        ]},
        actions=[{"action": "set_field", "field": "priority", "value": "high"}], actor=None, clock=clock,
    )  # fmt: skip
    requester = make_user(
        db, clock, Role.REQUESTER, email="hr@northwind.test", organisation=org, password=None
    )
    ticket = new_ticket(db, clock, requester)
    db.commit()
    db.expire_all()
    assert db.get_one(Ticket, ticket.id).priority is Priority.HIGH


def test_arr_bands() -> None:
    assert [arr_band(c) for c in (0, 9_999_99, 10_000_00, 250_000_00, 1_000_000_00)] == [
        "under_10k", "under_10k", "10k_50k", "250k_1m", "1m_plus",
    ]  # fmt: skip
