"""Contacts from a Salesforce-style contact report, keyed by "Contact ID"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.success import actions
from opsdesk.success.imports.base import CellError, Checks, Row, RowError, check_rows
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
    unchanged: bool = False


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
    known = {
        c.external_id: c for c in session.scalars(select(Contact).where(Contact.external_id.is_not(None)))
    }
    first_line: dict[str, int] = {}

    def check(row: Row) -> PlannedContact:
        checks = Checks()
        external_id = checks(lambda: row.required("Contact ID"))
        if external_id is not None and external_id in first_line:
            checks.fail(
                "Contact ID", f"duplicate Contact ID {external_id} (first on line {first_line[external_id]})"
            )
        elif external_id is not None:
            first_line[external_id] = row.line
        stored = known.get(external_id or "")
        account_ref = checks(lambda: row.required("Account ID"))
        if account_ref is not None and account_ref not in accounts:
            checks.fail("Account ID", f"unknown account {account_ref} (import accounts first)")
        if stored is not None and not (row.present("First Name") or row.present("Last Name")):
            name = stored.name  # no name columns: the stored name stays
        else:
            name = " ".join(part for part in (row.text("First Name"), row.text("Last Name")) if part)
        if not name:
            checks.fail("Last Name", "a contact needs a first or last name")
        email = row.text("Email") if stored is None or row.present("Email") else stored.email
        if email is not None and "@" not in email:
            checks.fail("Email", f"{email!r} is not an email address")
        role = checks(lambda: parse_role(row.required("Contact Role")))
        checks.settle()
        assert external_id is not None and account_ref is not None and role is not None
        title = row.text("Title") if stored is None or row.present("Title") else stored.title
        account = accounts[account_ref]
        unchanged = stored is not None and (
            stored.account_id,
            stored.name,
            stored.role,
            stored.email,
            stored.title,
        ) == (account.id, name, role, email.strip().lower() if email else None, title)
        return PlannedContact(
            line=row.line,
            external_id=external_id,
            account=account,
            name=name,
            role=role,
            email=email,
            title=title,
            existing=stored is not None,
            unchanged=unchanged,
        )

    planned, errors = check_rows(rows, check)
    return planned, errors


def apply(
    session: Session, planned: list[PlannedContact], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    for plan in planned:
        if plan.unchanged:
            progress(1)
            continue
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
    updated = sum(p.existing and not p.unchanged for p in planned)
    return sum(not p.existing for p in planned), updated
