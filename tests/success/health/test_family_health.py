"""A parent account is segmented and scored on its family's totals (issue 14: "a parent with no own lives
and children of 99 and 15,000 lives gets no segment"): its engagement is the family's engaged members
over the family's covered lives, its tickets are per 1,000 of the family's lives, its escalations and
renewal are the family's. An account without children reads exactly its own signals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.health import actions, queries
from opsdesk.success.health.raw_signals import raw_signals
from opsdesk.success.models import Account, PriceModel, Stage
from opsdesk.success.utilisation import family_frame
from opsdesk.success.voice import actions as voice
from opsdesk.success.voice.models import Severity
from tests.factories import make_user


def _child(db: Session, clock: FixedClock, parent: Account, name: str, lives: int, engaged: int) -> Account:
    org = core.create_organisation(db, name=name, clock=clock)
    child = success.create_account(
        db, name=name, covered_lives=lives, parent=parent, organisation=org, stage=Stage.ADOPTION, clock=clock
    )
    success.record_utilisation(
        db, account=child, month=date(2026, 2, 1), engaged_members=engaged, sessions=engaged,
        programme_uptake_pct=Decimal(10),
    )  # fmt: skip
    return child


def test_a_parent_without_own_lives_is_segmented_and_scored_on_its_family(
    db: Session, clock: FixedClock
) -> None:
    parent = success.create_account(
        db, name="Northwind Group", covered_lives=0, stage=Stage.ADOPTION, clock=clock
    )
    small = _child(db, clock, parent, "Northwind Clinics", 99, 50)
    large = _child(db, clock, parent, "Northwind Hospitals", 15_000, 3000)
    contracts.save_subscription(
        db, account=large, start=date(2025, 7, 1), end=date(2026, 6, 30), price_model=PriceModel.PEPM,
        pepm_cents=400, covered_lives=15_000, clock=clock,
    )  # fmt: skip
    person = make_user(db, clock, Role.REQUESTER, email="hr@northwind.test", organisation=large.organisation)
    for n in range(30):
        desk.create_ticket(
            db, requester=person, subject=f"issue {n}", body_text="?", channel=Channel.EMAIL, clock=clock
        )
    voice.open_escalation(db, account=small, severity=Severity.SEV3, title="Eligibility file", clock=clock)
    db.commit()

    db.expire_all()
    parent = db.get_one(Account, parent.id)
    assert parent.segment is not None and parent.segment.name == "Enterprise"  # 15,099 lives
    raw = raw_signals(db, [parent, db.get_one(Account, small.id)], date(2026, 3, 2))
    family = raw[parent.id]
    assert family.engaged_rate_pct == pytest.approx(3050 / 15_099 * 100)
    assert family.tickets_per_1000_lives == pytest.approx(30 * 1000 / 15_099)
    assert family.escalations == 1
    assert family.days_to_renewal == (date(2026, 6, 30) - date(2026, 3, 2)).days
    alone = raw[small.id]  # a child reads only its own
    assert alone.engaged_rate_pct == pytest.approx(50 / 99 * 100)
    assert alone.tickets_per_1000_lives == 0 and alone.days_to_renewal is None

    actions.score_accounts(db, as_of=date(2026, 3, 2), clock=clock)
    db.commit()
    row = queries.latest_score(db, parent.id)
    assert row is not None and row.score is not None and row.band is not None
    assert row.measures["utilisation"]["raw"] == pytest.approx(3050 / 15_099 * 100, abs=0.01)
    assert row.measures["support_tickets"]["raw"] == pytest.approx(30 * 1000 / 15_099, abs=0.01)


def test_family_months_add_engaged_members_and_the_months_lives() -> None:
    frame = pd.DataFrame(
        {
            "account_id": [1, 2, 3, 3],
            "month": [date(2026, 1, 1)] * 3 + [date(2026, 2, 1)],
            "engaged_members": [0, 50, 3000, 3100],
            "sessions": [0, 60, 4000, 4100],
            "programme_uptake_pct": [0.0, 20.0, 10.0, 12.0],
            "covered_lives": [0, 100, 15_000, 15_000],
        }
    )
    totals = family_frame(frame, {1: [1, 2, 3], 3: [3]})
    rows = {(int(r.account_id), r.month): r for r in totals.itertuples()}
    january = rows[(1, date(2026, 1, 1))]
    assert (january.engaged_members, january.covered_lives, january.sessions) == (3050, 15_100, 4060)
    assert january.programme_uptake_pct == pytest.approx((20 * 100 + 10 * 15_000) / 15_100)
    assert rows[(1, date(2026, 2, 1))].engaged_members == 3100  # only the member that reported
    assert rows[(3, date(2026, 2, 1))].covered_lives == 15_000
