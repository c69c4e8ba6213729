"""A failure while the demo loads its customer-success book leaves nothing behind: the demo is one
transaction. (Its own module: tests/demo/test_success_demo.py shares one loaded demo between its tests.)"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Organisation, User
from opsdesk.demo.loader import load_demo
from opsdesk.desk.models import Ticket
from opsdesk.success import actions
from opsdesk.success.models import Account, Subscription


def test_a_failure_in_the_success_step_leaves_nothing_behind(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock
) -> None:
    # An account already holding the external id the demo will give its first account.
    actions.create_account(db, name="Existing Co", external_id="ACC-00002", clock=clock)
    db.commit()
    with pytest.raises(IntegrityError):
        load_demo(
            session_factory,
            clock=clock,
            organisations=50,
            tickets_per_day=5,
            history_days=7,
            success_accounts=20,
        )
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == 0
    assert db.scalar(select(func.count()).select_from(Organisation)) == 0
    assert db.scalar(select(func.count()).select_from(Ticket)) == 0
    assert [a.name for a in db.scalars(select(Account))] == ["Existing Co"]
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0
