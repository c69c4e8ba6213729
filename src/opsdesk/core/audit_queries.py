"""Reading the audit log, for the access review: filters, keyset pages, and every matching row in
batches for an export of any size. The rows name tickets by number only; nothing here joins a ticket,
so reading the log never shows a ticket's subject or content."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import AuditEntry, User

MAX_ID = 2_147_483_647
MAX_PAGE = 500
MAX_CURSOR_CHARS = 200
MAX_WHEN_CHARS = 40
EXPORT_BATCH = 1000
MAX_ACTION_CHARS = 60
MAX_EMAIL_CHARS = 320
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2201, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AuditFilters:
    """``since`` is inclusive and ``until`` exclusive, so consecutive windows never share a row."""

    actor_id: int | None = None
    ticket: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def described(self) -> dict[str, Any]:
        """The filters as plain values, for the audit row that records this read."""
        return {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in asdict(self).items()
            if v is not None
        }


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    actor_email: str | None
    actor_name: str | None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_cursor: str | None


def parse_when(value: str, field: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC when it names no zone), within 1900-2200."""
    text = value.strip()
    try:
        if len(text) > MAX_WHEN_CHARS:
            raise ValueError
        when = datetime.fromisoformat(text) if "T" in text or " " in text else None
        if when is None:
            when = datetime.combine(date.fromisoformat(text), time())
    except ValueError:
        raise ValidationFailed(
            f"{text[:MAX_WHEN_CHARS]!r} is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM)",
            field=field,
        ) from None
    return check_when(when, field)


def check_when(when: datetime, field: str) -> datetime:
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    if not EARLIEST <= when < LATEST:
        raise ValidationFailed("times must fall in the years 1900 to 2200", field=field)
    return when.astimezone(UTC)


def check_action(action: str) -> str:
    if len(action) > MAX_ACTION_CHARS or "\x00" in action:
        raise ValidationFailed(f"an action has at most {MAX_ACTION_CHARS} characters", field="action")
    return action


def person_by_email(session: Session, email: str) -> User:
    """The person a filter names; an address that matches nobody is an error, not an empty log, so a
    typo is never mistaken for "this person did nothing"."""
    person = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if person is None:
        raise NotFound(f"no person with the address {email[:MAX_EMAIL_CHARS]!r}", field="person")
    return person


def encode_cursor(last_id: int) -> str:
    """Opaque to clients: they pass back what they were given and never build one."""
    return base64.urlsafe_b64encode(json.dumps({"v": 1, "before": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        before = data["before"]
        if data.get("v") != 1 or not isinstance(before, int) or before < 1:
            raise ValueError
        return before
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValidationFailed("the cursor is not one this server gave out", field="cursor") from exc


def _query(filters: AuditFilters) -> Select[AuditEntry, str | None, str]:
    actor = aliased(User)
    query = select(AuditEntry, actor.email, actor.name).outerjoin(actor, actor.id == AuditEntry.actor_id)
    if filters.actor_id is not None:
        query = query.where(AuditEntry.actor_id == filters.actor_id)
    if filters.ticket is not None:
        query = query.where(AuditEntry.subject_type == "ticket", AuditEntry.subject_id == filters.ticket)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    # Newest first by id: ids follow the order rows were written, and a keyset on them never skips one.
    return query.order_by(AuditEntry.id.desc())


def audit_page(session: Session, *, filters: AuditFilters, cursor: str | None, limit: int) -> AuditPage:
    query = _query(filters)
    if cursor:
        query = query.where(AuditEntry.id < decode_cursor(cursor))
    found = session.execute(query.limit(limit + 1)).all()
    rows = [AuditRow(entry, email, name) for entry, email, name in found[:limit]]
    more = len(found) > limit
    return AuditPage(rows=rows, next_cursor=encode_cursor(rows[-1].entry.id) if more else None)


def audit_rows(session: Session, *, filters: AuditFilters, batch: int = EXPORT_BATCH) -> Iterator[AuditRow]:
    """Every matching row, newest first, read ``batch`` rows at a time so an export of the whole log
    holds one batch in memory."""
    before: int | None = None
    while True:
        query = _query(filters)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        found = session.execute(query.limit(batch)).all()
        for entry, email, name in found:
            yield AuditRow(entry, email, name)
        if len(found) < batch:
            return
        before = found[-1][0].id


def resolve_filters(
    session: Session,
    *,
    person: str | None = None,
    ticket: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditFilters:
    """The filters as the page, the API and the command line take them (a person by address), checked
    and resolved, so all three refuse the same bad input with the same message."""
    if ticket is not None and not 1 <= ticket <= MAX_ID:
        raise ValidationFailed(f"a ticket number is between 1 and {MAX_ID}", field="ticket")
    since = check_when(since, "since") if since is not None else None
    until = check_when(until, "until") if until is not None else None
    if since is not None and until is not None and until <= since:
        raise ValidationFailed("until must be later than since", field="until")
    if person is not None and (len(person) > MAX_EMAIL_CHARS or "\x00" in person):
        raise ValidationFailed(f"an address has at most {MAX_EMAIL_CHARS} characters", field="person")
    return AuditFilters(
        actor_id=person_by_email(session, person).id if person else None,
        ticket=ticket,
        action=check_action(action) if action else None,
        since=since,
        until=until,
    )
