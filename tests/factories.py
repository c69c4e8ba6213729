"""Small builders for arranging tests; they call the real domain actions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsdesk.core import actions
from opsdesk.core.clock import Clock
from opsdesk.core.models import Organisation, Role, Tier, User

PASSWORD = "correct horse battery"


def make_user(
    db: Session,
    clock: Clock,
    role: Role,
    *,
    email: str | None = None,
    tier: Tier | None = None,
    organisation: Organisation | None = None,
    password: str | None = PASSWORD,
) -> User:
    if role is Role.AGENT and tier is None:
        tier = Tier.L1
    email = email or f"{role.value}-{tier.value if tier else 'x'}-{id(object())}@example.com"
    return actions.create_user(
        db,
        email=email,
        name=email.split("@")[0],
        role=role,
        tier=tier,
        password=password if role is not Role.REQUESTER else None,
        organisation=organisation,
        clock=clock,
    )


def make_token(db: Session, clock: Clock, user: User) -> str:
    _row, clear = actions.create_api_token(db, user=user, name="test", clock=clock)
    return clear
