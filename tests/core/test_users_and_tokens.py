from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions, queries
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import AuditEntry, Event, IdentityKind, Role, Tier
from opsdesk.core.secrets import verify_password
from tests.factories import PASSWORD, make_token, make_user


def test_user_gets_an_email_identity_and_an_event(db: Session, clock: FixedClock) -> None:
    user = make_user(db, clock, Role.AGENT, email="Ana@Example.com", tier=Tier.L2)
    db.commit()
    assert user.email == "ana@example.com"
    assert verify_password(user.password_hash, PASSWORD)
    assert not verify_password(user.password_hash, "wrong password")
    assert queries.person_by_identity(db, IdentityKind.EMAIL, " ANA@example.com ") == user
    events = db.scalars(select(Event).where(Event.subject_type == "user")).all()
    assert [e.type for e in events] == ["user_created"]
    assert events[0].at == clock.now()


def test_duplicate_email_and_missing_tier_are_refused(db: Session, clock: FixedClock) -> None:
    make_user(db, clock, Role.ANALYST, email="a@example.com")
    with pytest.raises(Conflict):
        make_user(db, clock, Role.ANALYST, email="A@example.com")
    with pytest.raises(ValidationFailed) as err:
        actions.create_user(db, email="b@example.com", name="b", role=Role.AGENT, clock=clock)
    assert err.value.field == "tier"


def test_token_is_stored_hashed_and_resolves_to_its_user(db: Session, clock: FixedClock) -> None:
    user = make_user(db, clock, Role.ADMIN)
    token = make_token(db, clock, user)
    db.commit()
    assert queries.user_for_token(db, token, clock) == user
    assert queries.user_for_token(db, token + "x", clock) is None
    assert token not in str(db.scalars(select(AuditEntry.detail)).all())


def test_event_rows_cannot_be_changed(db: Session, clock: FixedClock) -> None:
    make_user(db, clock, Role.ADMIN)
    db.commit()
    row = db.scalars(select(Event)).first()
    assert row is not None
    row.type = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        db.flush()
