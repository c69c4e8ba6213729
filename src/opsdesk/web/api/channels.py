"""/api/v1/channels: the inbound webhooks of the phone and social channels.

They authenticate by signature, not by user: the raw body is verified before anything parses it, and
the delivery's receipt commits with its effect, so a refused delivery leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from opsdesk.core.bounds import MAX_ID
from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, PermissionDenied, TooLarge, ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.desk import access
from opsdesk.desk.channels import webhooks
from opsdesk.desk.channels.phone import actions as phone_actions
from opsdesk.desk.channels.phone import queries as phone_queries
from opsdesk.desk.channels.phone import twilio
from opsdesk.desk.channels.phone.actions import PhoneEvent, record_call_event
from opsdesk.desk.channels.phone.calls import durations
from opsdesk.desk.channels.phone.models import Call
from opsdesk.desk.channels.phone.schemas import PhoneEventIn
from opsdesk.desk.channels.social.actions import receive_post
from opsdesk.desk.channels.social.queries import deliveries_of
from opsdesk.desk.channels.social.schemas import SocialDeliveryOut, SocialPostIn
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/channels", tags=["channels"])
MAX_WEBHOOK_BODY = 256 * 1024


class WebhookResult(BaseModel):
    """``duplicate`` is true for a delivery seen before: nothing new was stored."""

    duplicate: bool
    call: int | None = None  # OpsDesk's id of the call (for ending its wrap-up)
    call_id: str | None = None
    ticket: int | None = None


async def _raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BODY:
        raise TooLarge(f"a webhook body is at most {MAX_WEBHOOK_BODY} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BODY:
            raise TooLarge(f"a webhook body is at most {MAX_WEBHOOK_BODY} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(model: type[BaseModel], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ValidationFailed(f"{field}: {first.get('msg', 'invalid')}", field=field) from exc


def _tolerance(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.webhook_tolerance_seconds)


def _deliver(
    session: Session,
    clock: Clock,
    *,
    source: str,
    event_id: str,
    body: bytes,
    effect: Callable[[], WebhookResult],
) -> WebhookResult:
    """Claim the delivery and make its effect in one transaction; a repeat does nothing."""
    try:
        if not webhooks.claim_delivery(session, source=source, event_id=event_id, body=body, clock=clock):
            session.rollback()
            return WebhookResult(duplicate=True)
        result = effect()
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


def _phone_result(session: Session, event: PhoneEvent, settings: Settings, clock: Clock) -> WebhookResult:
    call = record_call_event(session, event=event, settings=settings, clock=clock)
    return WebhookResult(duplicate=False, call=call.id, call_id=call.external_id, ticket=call.ticket_id)


@router.post("/phone/events", response_model=WebhookResult)
async def phone_event(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> WebhookResult:
    """A call event in OpsDesk's JSON, signed with the Standard Webhooks scheme (see the README)."""
    body = await _raw_body(request)
    delivery = webhooks.verify(
        webhooks.split_secrets(settings.phone_webhook_secret.get_secret_value()),
        request.headers,
        body,
        now=clock.now(),
        tolerance=_tolerance(settings),
    )
    parsed: PhoneEventIn = _parse(PhoneEventIn, body)
    event = PhoneEvent(provider="opsdesk", **parsed.model_dump())

    def run() -> WebhookResult:
        return _deliver(
            session,
            clock,
            source="phone",
            event_id=delivery.event_id,
            body=body,
            effect=lambda: _phone_result(session, event, settings, clock),
        )

    return await run_in_threadpool(run)


def _signed_url(request: Request, settings: Settings) -> str:
    """The URL Twilio requested: the public base URL when OpsDesk sits behind a proxy."""
    if not settings.public_url:
        return str(request.url)
    query = request.url.query
    return settings.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post("/phone/twilio", response_model=WebhookResult)
async def twilio_status(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    queue: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    x_twilio_signature: Annotated[str | None, Header(max_length=200)] = None,
    i_twilio_idempotency_token: Annotated[str | None, Header(max_length=200)] = None,
) -> WebhookResult:
    """A Twilio Voice status callback (form-encoded), checked against ``X-Twilio-Signature``."""
    body = await _raw_body(request)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("the body is not form-encoded", field="body") from exc
    twilio.verify(
        settings.twilio_auth_token.get_secret_value(),
        _signed_url(request, settings),
        pairs,
        x_twilio_signature,
    )
    params = dict(pairs)
    at = twilio.sent_at(params, now=clock.now(), tolerance=_tolerance(settings))
    event = twilio.to_event(params, at=at, queue=queue)
    event_id = twilio.event_id(params, i_twilio_idempotency_token)

    def run() -> WebhookResult:
        return _deliver(
            session,
            clock,
            source="twilio",
            event_id=event_id,
            body=body,
            effect=lambda: _phone_result(session, event, settings, clock),
        )

    return await run_in_threadpool(run)


@router.post("/social/events", response_model=WebhookResult)
async def social_post(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> WebhookResult:
    """A public mention or private message from a platform connector, signed like the phone events."""
    body = await _raw_body(request)
    delivery = webhooks.verify(
        webhooks.split_secrets(settings.social_webhook_secret.get_secret_value()),
        request.headers,
        body,
        now=clock.now(),
        tolerance=_tolerance(settings),
    )
    post: SocialPostIn = _parse(SocialPostIn, body)

    def effect() -> WebhookResult:
        record = receive_post(session, post=post, clock=clock)
        return WebhookResult(duplicate=False, ticket=record.ticket_id)

    def run() -> WebhookResult:
        return _deliver(session, clock, source="social", event_id=delivery.event_id, body=body, effect=effect)

    return await run_in_threadpool(run)


@router.get("/social/tickets/{number}/deliveries", response_model=list[SocialDeliveryOut])
def social_deliveries(
    number: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, session: SessionDep, clock: ClockDep
) -> list[SocialDeliveryOut]:
    """Where each agent reply on a social ticket is: pending (with its attempts), sent or failed."""
    ticket = access.ticket_for(session, number, user, clock)
    if not user.is_staff:
        raise PermissionDenied("delivery states are for the support team", field="number")
    out = [
        SocialDeliveryOut.model_validate(row, from_attributes=True) for row in deliveries_of(session, ticket)
    ]
    session.commit()  # the audit row of a sensitive read
    return out


class CallOut(BaseModel):
    id: int
    call_id: str
    state: str
    ticket: int | None
    agent_id: int | None
    queue: str | None
    wait_s: float
    talk_s: float
    hold_s: float
    wrap_s: float
    abandoned: bool
    voicemail: bool

    @classmethod
    def of(cls, call: Call) -> CallOut:
        spent = durations(call.times())
        return cls(
            id=call.id,
            call_id=call.external_id,
            state=call.state.value,
            ticket=call.ticket_id,
            agent_id=call.agent_id,
            queue=call.queue,
            wait_s=spent.wait_s,
            talk_s=spent.talk_s,
            hold_s=spent.hold_s,
            wrap_s=spent.wrap_s,
            abandoned=call.abandoned,
            voicemail=call.voicemail,
        )


@router.post("/phone/calls/{call}/wrap-up", response_model=CallOut)
def end_wrap_up(
    call: Annotated[int, Path(ge=1, le=MAX_ID, description="OpsDesk's id of the call")],
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> CallOut:
    """The agent has finished the call's after-call work: its wrap-up ends now (409 when the call is
    not in wrap-up). Staff who may read the call's ticket may end it."""
    if not user.is_staff:
        raise PermissionDenied("only the support team ends a call's wrap-up", field="call")
    row = phone_queries.call_for_update(session, call)
    if row is None or row.ticket_id is None:
        raise NotFound(f"no call {call}", field="call")
    access.ticket_for(session, row.ticket_id, user, clock)
    if not phone_actions.end_wrap_up(session, call=row, at=clock.now(), clock=clock):
        raise Conflict(f"call {call} is {row.state.value}, not in wrap-up", field="call")
    session.commit()
    return CallOut.of(row)
