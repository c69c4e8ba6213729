"""Contacts from a Salesforce-style contact report, keyed by "Contact ID"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.success import actions
from opsdesk.success.imports.base import CellError, Row, RowError, check_rows
from opsdesk.success.models import Account, Contact, ContactRole

REQUIRED = ["Contact ID", "Account ID", "Contact Role"]
OPTIONAL = ["First Name", "Last Name", "Email", "Title"]
ROLE_ALIASES = {
    "executive sponsor": ContactRole.EXECUTIVE,
    "hr": ContactRole.HR_LEADER,
    "benefits": ContactRole.BENEFITS_LEADER,
}


@dataclass
class PlannedContact:
    line: int
    external_id: str
    account: Account
    name: str
    role: ContactRole
    email: str | None
    title: str | None
    existing: bool


def parse_role(value: str) -> ContactRole:
    key = value.strip().lower()
    if key in ROLE_ALIASES:
        return ROLE_ALIASES[key]
    try:
        return ContactRole(key.replace(" ", "_").replace("-", "_"))
    except ValueError:
        choices = ", ".join(r.value for r in ContactRole)
        raise CellError("Contact Role", f"unknown role {value!r} (one of {choices})") from None


def validate(
    session: Session, rows: list[Row], *, clock: Clock
) -> tuple[list[PlannedContact], list[RowError]]:
    accounts = {
        a.external_id: a for a in session.scalars(select(Account).where(Account.external_id.is_not(None)))
    }
    known = set(session.scalars(select(Contact.external_id).where(Contact.external_id.is_not(None))))
    first_line: dict[str, int] = {}

    def check(row: Row) -> PlannedContact:
        external_id = row.required("Contact ID")
        if external_id in first_line:
            raise CellError(
                "Contact ID", f"duplicate Contact ID {external_id} (first on line {first_line[external_id]})"
            )
        first_line[external_id] = row.line
        account_ref = row.required("Account ID")
        if account_ref not in accounts:
            raise CellError("Account ID", f"unknown account {account_ref} (import accounts first)")
        name = " ".join(part for part in (row.text("First Name"), row.text("Last Name")) if part)
        if not name:
            raise CellError("Last Name", "a contact needs a first or last name")
        email = row.text("Email")
        if email is not None and "@" not in email:
            raise CellError("Email", f"{email!r} is not an email address")
        return PlannedContact(
            line=row.line,
            external_id=external_id,
            account=accounts[account_ref],
            name=name,
            role=parse_role(row.required("Contact Role")),
            email=email,
            title=row.text("Title"),
            existing=external_id in known,
        )

    planned, errors = check_rows(rows, check)
    return planned, errors


def apply(
    session: Session, planned: list[PlannedContact], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    for plan in planned:
        actions.save_contact(
            session,
            account=plan.account,
            name=plan.name,
            role=plan.role,
            email=plan.email,
            title=plan.title,
            external_id=plan.external_id,
            clock=clock,
        )
        progress(1)
    updated = sum(p.existing for p in planned)
    return len(planned) - updated, updated
