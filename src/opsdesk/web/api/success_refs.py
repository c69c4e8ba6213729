"""Lookups and permission checks shared by the customer-success API routers: a referenced user, contact or
account that does not exist is a 422 naming the field, not a 404 of the route."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import queries as success_queries
from opsdesk.success.models import Account, Contact


def require_read(user: User) -> None:
    permissions.require(user, permissions.SUCCESS_READ)


def require_write(user: User) -> None:
    permissions.require(user, permissions.SUCCESS_WRITE)


def user_ref(session: Session, user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    row = session.get(User, user_id)
    if row is None:
        raise ValidationFailed(f"no user {user_id}", field=field)
    return row


def contact_ref(session: Session, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    row = session.get(Contact, contact_id)
    if row is None:
        raise ValidationFailed(f"no contact {contact_id}", field="contact_id")
    return row


def account_ref(session: Session, account_id: int) -> Account:
    try:
        return success_queries.account(session, account_id)
    except NotFound:
        raise ValidationFailed(f"no account {account_id}", field="account_id") from None
