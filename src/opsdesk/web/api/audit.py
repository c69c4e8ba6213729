"""/api/v1/audit: the audit log for admins and compliance officers, a page at a time or as CSV. Every
read leaves its own row in the log, committed before the rows are read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.audit_export import csv_lines, record_audit_read
from opsdesk.core.audit_queries import (
    MAX_ACTION_CHARS,
    MAX_EMAIL_CHARS,
    MAX_ID,
    MAX_PAGE,
    AuditFilters,
    audit_page,
    audit_rows,
    resolve_filters,
)
from opsdesk.core.audit_schemas import AuditEntryOut, AuditPageOut
from opsdesk.core.clock import Clock
from opsdesk.core.models import User
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["audit"])


def _in_range(when: datetime | None) -> datetime | None:
    if when is not None and not 1900 <= when.year <= 2200:
        raise ValueError("times must fall in the years 1900 to 2200")
    return when


_NO_NUL = r"^[^\x00]*$"
Person = Annotated[
    str | None,
    Query(max_length=MAX_EMAIL_CHARS, pattern=_NO_NUL, description="Only what this person (email) did."),
]
TicketNumber = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="Only rows about this ticket (its number).")
]
Action = Annotated[str | None, Query(max_length=MAX_ACTION_CHARS, pattern=_NO_NUL)]
Since = Annotated[
    datetime | None,
    Query(description="From this time, inclusive (UTC when no zone is given; years 1900-2200)."),
    AfterValidator(_in_range),
]
Until = Annotated[
    datetime | None,
    Query(description="Before this time, exclusive (UTC when no zone is given; years 1900-2200)."),
    AfterValidator(_in_range),
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The rows as CSV."}
}


def _filters_read(
    session: Session,
    user: User,
    clock: Clock,
    *,
    exported: bool,
    extra: dict[str, Any],
    **given: Any,
) -> AuditFilters:
    """Checks the reader and the filters, and commits the trace of this read before anything is read."""
    permissions.require(user, permissions.AUDIT_READ)
    filters = resolve_filters(session, **given)
    record_audit_read(
        session, reader=user, exported=exported, filters=filters, via="api", at=clock.now(), extra=extra
    )
    session.commit()
    return filters


@router.get("/audit", response_model=AuditPageOut)
def list_audit(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    person: Person = None,
    ticket: TicketNumber = None,
    action: Action = None,
    since: Since = None,
    until: Until = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditPageOut:
    """The newest rows first; pass ``next_cursor`` back as ``cursor`` for the next (older) page."""
    filters = _filters_read(
        session,
        user,
        clock,
        exported=False,
        extra={"cursor": cursor is not None},
        person=person,
        ticket=ticket,
        action=action,
        since=since,
        until=until,
    )
    page = audit_page(session, filters=filters, cursor=cursor, limit=limit)
    return AuditPageOut(items=[AuditEntryOut.of(r) for r in page.rows], next_cursor=page.next_cursor)


@router.get("/audit/export.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_audit(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    person: Person = None,
    ticket: TicketNumber = None,
    action: Action = None,
    since: Since = None,
    until: Until = None,
) -> StreamingResponse:
    """Every matching row, newest first, streamed as it is read."""
    filters = _filters_read(
        session,
        user,
        clock,
        exported=True,
        extra={"format": "csv"},
        person=person,
        ticket=ticket,
        action=action,
        since=since,
        until=until,
    )
    factory = request.app.state.session_factory

    def lines() -> Iterator[str]:
        # The request's session closes when the handler returns; the stream reads on a session of its own.
        with factory() as reading:
            yield from csv_lines(audit_rows(reading, filters=filters))

    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )
