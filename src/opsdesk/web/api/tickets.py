"""/api/v1/tickets and /api/v1/search: parse, authorise, call a desk action or query, commit, render."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload, selectinload

from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, PermissionDenied, TooLarge, ValidationFailed
from opsdesk.core.models import Group, IdentityKind, Role, User
from opsdesk.core.settings import Settings
from opsdesk.desk import access, actions, queries, requesters, search
from opsdesk.desk.access import TicketOp
from opsdesk.desk.attachments import AttachmentStore, NewAttachment
from opsdesk.desk.channels.social.limits import check_public_reply
from opsdesk.desk.models import AuthorKind, Channel, Priority, Status, Ticket
from opsdesk.desk.sanitize import message_bodies
from opsdesk.desk.schemas import (
    MAX_ID,
    BreakGlassIn,
    BreakGlassOut,
    EscalateIn,
    MergeIn,
    MessageCreate,
    MessageOut,
    ReturnToL1In,
    SearchHitOut,
    SearchOut,
    TicketCreate,
    TicketOut,
    TicketPageOut,
    TicketUpdate,
)
from opsdesk.desk.surveys.queries import rating_for
from opsdesk.desk.surveys.schemas import SatisfactionOut
from opsdesk.desk.ticket_sort import SORT_PATTERN
from opsdesk.web.api.params import QueryMoment
from opsdesk.web.deps import Authenticates, ClockDep, CurrentUser, SessionDep, SettingsDep, run_as_user

BODY_METHODS = {"POST", "PUT", "PATCH"}


def body_limit(settings: Settings) -> int:
    """One attachment at the size limit, base64-encoded, plus room for the message around it."""
    return settings.max_attachment_bytes * 4 // 3 + 2 * 1024 * 1024


class _BoundedRequest(Request):
    limit: int = 0

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            chunks: list[bytes] = []
            size = 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > self.limit:
                    raise TooLarge(f"the request body is over {self.limit} bytes", field="body")
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body


class BoundedBodyRoute(APIRoute):
    """Refuses an oversized body with 413 while reading it, before anything parses it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            if request.method not in BODY_METHODS:
                return await handler(request)
            limited = _BoundedRequest(request.scope, request.receive)
            limited.limit = body_limit(request.app.state.settings)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limited.limit:
                raise TooLarge(f"the request body is over {limited.limit} bytes", field="body")
            await limited.body()
            return await handler(limited)

        return bounded


router = APIRouter(tags=["tickets"], route_class=BoundedBodyRoute)
Number = Annotated[int, Path(ge=1, le=MAX_ID, description="The ticket number")]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def _group(session: Session, group_id: int | None) -> Group | None:
    if group_id is None:
        return None
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"no group {group_id}", field="group_id")
    return group


def _staff(session: Session, user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_staff:
        raise NotFound(f"no agent {user_id}", field=field)
    return user


# What an API ticket shows besides its own columns: its tags and its requester (the pages show more).
# The requester, one per ticket and never missing, comes in the list's own statement.
API_LIST_RELATIONS = (selectinload(Ticket.tag_rows), joinedload(Ticket.requester, innerjoin=True))


def _json(model: BaseModel, status_code: int) -> Response:
    """The response model as JSON, rendered here: returned as a model from a sync endpoint, FastAPI would
    validate it again, in one more thread-pool hop per request."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def _attachments(body: MessageCreate | TicketCreate) -> list[NewAttachment]:
    return [NewAttachment(a.filename, a.content_type, a.data()) for a in body.attachments]


def _requester_for(session: Session, body: TicketCreate, user: User, clock: Clock) -> User:
    if user.role is Role.REQUESTER:
        for field in (
            "requester_id",
            "requester_email",
            "requester_phone",
            "requester_handle",
            "group_id",
            "assignee_id",
            "external_id",
        ):
            if getattr(body, field) is not None and not (
                field == "requester_id" and body.requester_id == user.id
            ):
                raise PermissionDenied(f"requesters cannot set {field}", field=field)
        if not body.public:
            raise PermissionDenied("requesters cannot write internal notes", field="public")
        return user
    if body.requester_id is not None:
        requester = session.get(User, body.requester_id)
        if requester is None:
            raise NotFound(f"no user {body.requester_id}", field="requester_id")
        return requester
    identities = [
        (kind, value, field)
        for kind, value, field in (
            (IdentityKind.EMAIL, body.requester_email, "requester_email"),
            (IdentityKind.PHONE, body.requester_phone, "requester_phone"),
            (IdentityKind.SOCIAL, body.requester_handle, "requester_handle"),
        )
        if value
    ]
    if identities:
        return requesters.find_requester_by_any(
            session, identities=identities, name=body.requester_name, clock=clock
        )
    raise ValidationFailed(
        "give requester_id, or requester_email, requester_phone or requester_handle", field="requester_id"
    )


@router.post("/tickets", status_code=201, response_model=TicketOut, dependencies=[Authenticates])
async def create_ticket(
    body: TicketCreate,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    def create(user: User) -> Response:
        return _create_ticket(body, user, session, clock, settings, idempotency_key)

    return await run_as_user(request, session, clock, create, inline=not body.attachments)


def _create_ticket(
    body: TicketCreate,
    user: User,
    session: Session,
    clock: Clock,
    settings: Settings,
    idempotency_key: str | None,
) -> Response:
    access.require_create(user, sensitive=body.sensitive)
    idempotency = None
    if idempotency_key is not None:
        if not idempotency_key.strip():
            raise ValidationFailed("Idempotency-Key is empty", field="Idempotency-Key")
        scope = f"api:user:{user.id}"
        fingerprint = actions.request_hash(body.model_dump(mode="json"))
        earlier = actions.replayed_ticket(session, scope=scope, key=idempotency_key, fingerprint=fingerprint)
        if earlier is not None:
            access.require(user, TicketOp.READ, earlier)
            return _json(TicketOut.of(earlier, user), 200)
        idempotency = (scope, idempotency_key, fingerprint)
    requester = _requester_for(session, body, user, clock)
    if body.external_id:
        known = queries.ticket_by_external_id(session, external_id=body.external_id, channel=body.channel)
        if known is not None:  # an integration re-sending what it already created
            access.require(user, TicketOp.READ, known)
            return _json(TicketOut.of(known, user), 200)
    ticket = actions.create_ticket(
        session,
        requester=requester,
        subject=body.subject,
        body_html=body.body_html,
        body_text=body.body_text,
        channel=body.channel,
        clock=clock,
        store=AttachmentStore.from_settings(settings) if body.attachments else None,
        author=user if user.is_staff else None,
        public=body.public,
        priority=body.priority,
        type=body.type,
        tags=body.tags,
        custom_fields=body.custom_fields,
        group=_group(session, body.group_id),
        assignee=_staff(session, body.assignee_id, "assignee_id"),
        sensitive=body.sensitive,
        external_id=body.external_id,
        attachments=_attachments(body),
        idempotency=idempotency,
    )
    session.commit()
    return _json(TicketOut.of(ticket, user), 201)


@router.get("/tickets", response_model=TicketPageOut, dependencies=[Authenticates])
async def list_tickets(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    channel: Annotated[list[Channel] | None, Query()] = None,
    assignee_id: QueryId = None,
    group_id: QueryId = None,
    requester_id: QueryId = None,
    organisation_id: QueryId = None,
    tag: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
    view: Literal["mine", "unassigned", "my_group", "breaching_soon", "overdue"] | None = None,
    updated_since: QueryMoment = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
    sort: Annotated[
        str | None, Query(max_length=20, pattern=SORT_PATTERN, description="A column, - first for descending")
    ] = None,
) -> Response:
    """A page of tickets. Read-only but for the audit rows of sensitive tickets shown, a few indexed
    statements: short work that runs inline (see web.deps.run_as_user), like a single-ticket read."""
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=UTC)
    filters = queries.TicketFilters(
        status=status or (),
        priority=priority or (),
        channel=channel or (),
        assignee_id=assignee_id,
        group_id=group_id,
        requester_id=requester_id,
        organisation_id=organisation_id,
        tag=tag,
        view=view,
        updated_since=updated_since,
    )

    def listed(user: User) -> Response:
        access.require(user, TicketOp.LIST)
        page = queries.list_tickets(
            session,
            user=user,
            filters=filters,
            clock=clock,
            breaching_soon_minutes=settings.breaching_soon_minutes,
            cursor=cursor,
            limit=limit,
            relations=API_LIST_RELATIONS,
            sort=sort,
        )
        access.audit_shown(session, user, page.items, clock, via="api_list")
        out = TicketPageOut(items=[TicketOut.of(t, user) for t in page.items], next_cursor=page.next_cursor)
        session.commit()  # writes the audit rows of the sensitive tickets listed
        return _json(out, 200)

    return await run_as_user(request, session, clock, listed, inline=True)


@router.get("/tickets/{number}", response_model=TicketOut, dependencies=[Authenticates])
async def get_ticket(number: Number, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    def read(user: User) -> Response:
        ticket = access.ticket_for(session, number, user, clock)
        out = TicketOut.of(ticket, user)
        rating = rating_for(session, ticket.id)
        if rating is not None:
            out.satisfaction = SatisfactionOut.model_validate(rating)
        session.commit()  # the audit row of a sensitive read
        return _json(out, 200)

    return await run_as_user(request, session, clock, read, inline=True)


@router.patch("/tickets/{number}", response_model=TicketOut, dependencies=[Authenticates])
async def update_ticket(
    number: Number, body: TicketUpdate, request: Request, session: SessionDep, clock: ClockDep
) -> Response:
    def update(user: User) -> Response:
        return _update_ticket(number, body, user, session, clock)

    return await run_as_user(request, session, clock, update, inline=False)  # waits on the row lock


def _update_ticket(number: int, body: TicketUpdate, user: User, session: Session, clock: Clock) -> Response:
    ticket = access.ticket_for(session, number, user, clock)
    sent = body.model_fields_set
    if "status" in sent:
        access.require(user, TicketOp.UPDATE_STATUS, ticket)
    if sent & {"priority", "type", "tags", "custom_fields"}:
        access.require(user, TicketOp.UPDATE, ticket)
    if sent & {"group_id", "assignee_id"}:
        access.require(user, TicketOp.ASSIGN, ticket)
    if "sensitive" in sent:
        access.require(user, TicketOp.SET_SENSITIVE, ticket)
    changes: dict[str, Any] = {
        name: getattr(body, name) for name in sent & {"priority", "type", "tags", "sensitive"}
    }
    if "status" in sent:
        changes["status"] = body.status
    if "custom_fields" in sent:
        changes["custom_fields"] = body.custom_fields
    if "group_id" in sent:
        changes["group"] = _group(session, body.group_id)
    if "assignee_id" in sent:
        changes["assignee"] = _staff(session, body.assignee_id, "assignee_id")
    actions.update_ticket(session, ticket=ticket, actor=user, clock=clock, **changes)
    session.commit()
    return _json(TicketOut.of(ticket, user), 200)


@router.post(
    "/tickets/{number}/messages", status_code=201, response_model=MessageOut, dependencies=[Authenticates]
)
async def post_message(
    number: Number,
    body: MessageCreate,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """A reply takes the ticket's row lock. Inline on the event loop (see web.deps.run_as_user) when the
    lock is free at once, as it nearly always is; when another transaction holds it (a batch job, a
    colleague's update), in the thread pool, which may wait for it without stalling the process."""

    def post(user: User) -> Response:
        return _post_message(number, body, user, session, clock, settings)

    def post_unless_locked(user: User) -> Response:
        return _post_message(number, body, user, session, clock, settings, nowait=True)

    if body.attachments or not request.app.state.inline_short_work:
        return await run_as_user(request, session, clock, post, inline=False)
    try:
        return await run_as_user(request, session, clock, post_unless_locked, inline=True)
    except RowLocked:
        session.rollback()
        return await run_as_user(request, session, clock, post, inline=False)


class RowLocked(Exception):
    """The ticket's row is locked by another transaction right now."""


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a NOWAIT lock that is held


def _lock_ticket_row(session: Session, number: int) -> None:
    """Take the ticket's row lock now or raise :class:`RowLocked` (PostgreSQL's NOWAIT)."""
    try:
        session.execute(select(Ticket.id).where(Ticket.id == number).with_for_update(nowait=True))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise RowLocked from exc
        raise


def _post_message(
    number: int,
    body: MessageCreate,
    user: User,
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    nowait: bool = False,
) -> Response:
    if nowait:
        _lock_ticket_row(session, number)
    # The ticket with its requester in one query (a public reply is mailed to them); the access check
    # then finds it in the session. Held here: the session keeps loaded objects only by weak reference.
    loaded = session.get(Ticket, number, options=[joinedload(Ticket.requester)])
    ticket = access.ticket_for(session, number, user, clock)
    assert ticket is loaded
    access.require(user, TicketOp.REPLY if body.public else TicketOp.NOTE, ticket)
    store = AttachmentStore.from_settings(settings) if body.attachments else None
    channel = Channel.API
    if ticket.status is Status.CLOSED and user.id == ticket.requester_id:
        follow_up = actions.create_follow_up(
            session,
            closed=ticket,
            channel=channel,
            clock=clock,
            body_html=body.body_html,
            body_text=body.body_text,
            store=store,
            attachments=_attachments(body),
        )
        message = follow_up.messages[0]
    else:
        if body.public and user.is_staff and ticket.channel is Channel.SOCIAL:
            check_public_reply(
                session,
                ticket=ticket,
                text=message_bodies(body.body_html, body.body_text)[1],
                settings=settings,
                field="body_text" if body.body_text else "body_html",
            )
        message = actions.add_message(
            session,
            ticket=ticket,
            author=user,
            author_kind=AuthorKind.AGENT if user.is_staff else AuthorKind.REQUESTER,
            public=body.public,
            channel=channel,
            clock=clock,
            body_html=body.body_html,
            body_text=body.body_text,
            store=store,
            attachments=_attachments(body),
        )
    session.commit()
    return _json(MessageOut.of(message), 201)


@router.get("/tickets/{number}/messages", response_model=list[MessageOut])
def list_messages(
    number: Number, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> list[MessageOut]:
    ticket = access.ticket_for(session, number, user, clock)
    out = [MessageOut.of(m) for m in queries.ticket_messages(session, ticket=ticket, user=user)]
    session.commit()  # the audit row of a sensitive read
    return out


@router.get("/tickets/{number}/requester-tickets", response_model=list[TicketOut])
def requester_tickets(
    number: Number, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> list[TicketOut]:
    """The requester's ten most recent other tickets on every channel (following merged people), as
    the ticket page lists them: only those the caller may see; a sensitive one listed is audited."""
    ticket = access.ticket_for(session, number, user, clock)
    recent = queries.requester_recent_tickets(session, ticket=ticket, user=user)
    access.audit_shown(session, user, recent, clock, via="api_requester_tickets")
    out = [TicketOut.of(t, user) for t in recent]
    session.commit()  # the audit row of a sensitive read
    return out


# Types a browser would render or run from our origin are served as plain downloads.
_INERT_TYPES = ("image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain", "text/csv")


@router.get("/tickets/{number}/attachments/{attachment_id}", response_class=Response)
def download_attachment(
    number: Number,
    attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    ticket = access.ticket_for(session, number, user, clock)
    try:
        row = queries.attachment_for(session, ticket=ticket, attachment_id=attachment_id, user=user)
    except NotFound:
        access.audit_attachment(session, user, ticket, attachment_id, clock, allowed=False)
        raise
    access.audit_attachment(session, user, ticket, attachment_id, clock, allowed=True)
    data = AttachmentStore.from_settings(settings).open(row.storage_key)
    session.commit()  # the audit rows of a sensitive read
    media_type = row.content_type if row.content_type in _INERT_TYPES else "application/octet-stream"
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/tickets/{number}/break-glass", status_code=201, response_model=BreakGlassOut)
def break_glass(
    number: Number, body: BreakGlassIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> BreakGlassOut:
    """Support leads and admins: read a sensitive ticket outside your need-to-know for 15 minutes.
    The reason, you and the time show on the ticket and in the audit log."""
    grant = access.break_glass(session, number, user, body.reason, clock)
    session.commit()
    return BreakGlassOut.of(grant, user)


@router.get("/tickets/{number}/break-glass", response_model=list[BreakGlassOut])
def list_break_glass(
    number: Number, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> list[BreakGlassOut]:
    """The break-glass reads of a ticket, newest first, for everyone who may read the ticket."""
    ticket = access.ticket_for(session, number, user, clock)
    out = [BreakGlassOut.of(grant, actor) for grant, actor in access.break_glass_grants(session, ticket)]
    session.commit()  # the audit row of a sensitive read
    return out


@router.post("/tickets/{number}/escalate", response_model=TicketOut)
def escalate(
    number: Number, body: EscalateIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TicketOut:
    ticket = access.ticket_for(session, number, user, clock)
    access.require(user, TicketOp.ESCALATE, ticket)
    actions.escalate(
        session,
        ticket=ticket,
        reason=body.reason,
        actor=user,
        clock=clock,
        group=_group(session, body.group_id),
    )
    session.commit()
    return TicketOut.of(ticket, user)


@router.post("/tickets/{number}/return-to-l1", response_model=TicketOut)
def return_to_l1(
    number: Number, body: ReturnToL1In, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TicketOut:
    """L2 sends a ticket back to L1, with the reason on record (the ticket's ``return_reason`` and a
    ``returned_to_l1`` event). L1 agents may not."""
    ticket = access.ticket_for(session, number, user, clock)
    access.require(user, TicketOp.RETURN_TO_L1, ticket)
    actions.return_to_l1(
        session,
        ticket=ticket,
        reason=body.reason,
        actor=user,
        clock=clock,
        group=_group(session, body.group_id),
    )
    session.commit()
    return TicketOut.of(ticket, user)


@router.post("/tickets/{number}/merge", response_model=TicketOut)
def merge(
    number: Number, body: MergeIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> TicketOut:
    source = access.ticket_for(session, number, user, clock)
    try:
        target = access.ticket_for(session, body.into, user, clock)
    except NotFound as exc:
        raise NotFound(exc.message, field="into") from exc
    access.require(user, TicketOp.MERGE, source)
    access.require(user, TicketOp.MERGE, target)
    actions.merge_tickets(session, source=source, target=target, actor=user, clock=clock)
    session.commit()
    return TicketOut.of(target, user)


@router.get("/search", response_model=SearchOut)
def search_tickets(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=search.MAX_QUERY_CHARS,
            description="Words, a ticket number (123 or #123), or a requester's name or email",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SearchOut:
    access.require(user, TicketOp.LIST)
    results = search.search_tickets(session, user=user, q=q, limit=limit, cursor=cursor)
    access.audit_shown(session, user, (h.ticket for h in results.hits), clock, via="api_search")
    session.commit()  # writes the audit rows of the sensitive tickets found
    return SearchOut(
        items=[
            SearchHitOut(ticket=TicketOut.of(h.ticket, user), matched_messages=h.matched_messages)
            for h in results.hits
        ],
        total=results.total,
        more=results.more,
        next_cursor=results.next_cursor,
    )
