"""The demo's people include a compliance officer who can sign in and read the audit log."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, User
from opsdesk.core.secrets import verify_password
from opsdesk.demo.people import DEMO_DOMAIN, DEMO_PASSWORD, create_people


def test_the_demo_has_a_compliance_officer(db: Session, clock: FixedClock) -> None:
    create_people(db, rng=np.random.default_rng(7), start=clock.now() - timedelta(days=30), organisations=5)
    db.commit()
    officer = db.scalars(select(User).where(User.email == f"compliance@{DEMO_DOMAIN}")).one()
    assert officer.role is Role.COMPLIANCE and officer.password_hash is not None
    assert verify_password(officer.password_hash, DEMO_PASSWORD)
    assert permissions.has(officer, permissions.AUDIT_READ)
    assert not permissions.has(officer, permissions.TICKET_READ)
