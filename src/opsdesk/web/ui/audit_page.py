"""/audit: the audit log page for admins and compliance officers. Bad filters show the form again
with the message; every view of the page leaves its own row in the log."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from opsdesk.core import permissions
from opsdesk.core.audit_export import record_audit_read
from opsdesk.core.audit_queries import AuditPage, audit_page, parse_when, resolve_filters
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import PageUser
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


def _ticket(value: str) -> int:
    digits = value.strip().lstrip("#")
    if not (digits.isascii() and digits.isdecimal()) or len(digits) > 12:
        raise ValidationFailed(f"{value[:20]!r} is not a ticket number", field="ticket")
    return int(digits)


@router.get("/audit")
def audit_log(
    request: Request,
    user: PageUser,
    session: SessionDep,
    clock: ClockDep,
    person: str = "",
    ticket: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
) -> Response:
    permissions.require(user, permissions.AUDIT_READ)
    given = {"person": person, "ticket": ticket, "action": action, "since": since, "until": until}
    shown = {k: v.strip() for k, v in given.items() if v.strip()}
    result = AuditPage(rows=[], next_cursor=None)
    error = None
    try:
        filters = resolve_filters(
            session,
            person=shown.get("person"),
            ticket=_ticket(shown["ticket"]) if "ticket" in shown else None,
            action=shown.get("action"),
            since=parse_when(shown["since"], "since") if "since" in shown else None,
            until=parse_when(shown["until"], "until") if "until" in shown else None,
        )
        record_audit_read(
            session,
            reader=user,
            exported=False,
            filters=filters,
            via="page",
            at=clock.now(),
            extra={"cursor": bool(cursor)},
        )
        session.commit()
        result = audit_page(session, filters=filters, cursor=cursor or None, limit=PAGE_SIZE)
    except (ValidationFailed, NotFound) as exc:
        error = exc.message
    query = urlencode(shown)
    older = urlencode({**shown, "cursor": result.next_cursor}) if result.next_cursor else None
    return page(
        request,
        "audit/list.html",
        user,
        status_code=422 if error else 200,
        filters=given,
        error=error,
        rows=result.rows,
        next_href=f"/audit?{older}" if older else None,
        export_href=f"/api/v1/audit/export.csv{'?' + query if query else ''}",
    )
