"""Writes of the phone channel: one provider event moves one call through the state machine, in one
transaction with the ticket it creates or joins and the ``call_completed`` event it ends with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import IdentityKind, User
from opsdesk.core.normalise import e164
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.channels.phone.calls import CallEvent, CallState, StaleEvent, apply, durations, start
from opsdesk.desk.channels.phone.models import Call
from opsdesk.desk.models import UNSOLVED, AuthorKind, Channel, Ticket
from opsdesk.desk.requesters import find_or_create_requester


@dataclass(frozen=True)
class PhoneEvent:
    """One call event, whichever provider format it came in."""

    provider: str
    call_id: str
    type: CallEvent
    at: datetime
    caller: str
    queue: str | None = None
    agent_email: str | None = None
    recording_url: str | None = None
    voicemail_url: str | None = None


def _agent(session: Session, email: str | None) -> User | None:
    if not email:
        return None
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    return user if user is not None and user.is_staff else None


def _open_ticket(session: Session, requester: User) -> Ticket | None:
    """The caller's latest unsolved ticket, on any channel: a call about it joins it."""
    return session.scalars(
        select(Ticket)
        .where(
            Ticket.requester_id == requester.id, Ticket.status.in_(UNSOLVED), Ticket.merged_into_id.is_(None)
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    ).first()


def _attach_ticket(session: Session, call: Call, *, subject: str, body: str, clock: Clock) -> None:
    if call.ticket_id is not None:
        return
    requester = find_or_create_requester(
        session, kind=IdentityKind.PHONE, value=call.caller, name=None, clock=clock
    )
    call.requester_id = requester.id
    ticket = _open_ticket(session, requester)
    if ticket is None:
        ticket = actions.create_ticket(
            session,
            requester=requester,
            subject=subject,
            body_text=body,
            channel=Channel.PHONE,
            clock=clock,
            external_id=f"call:{call.provider}:{call.external_id}"[:200],
        )
    call.ticket = ticket
    call.ticket_id = ticket.id


def _summary(call: Call) -> str:
    spent = durations(call.times())
    if call.abandoned:
        head = f"Abandoned call from {call.caller} after waiting {spent.wait_s:.0f} s"
    elif call.voicemail:
        head = f"Voicemail from {call.caller} after waiting {spent.wait_s:.0f} s"
    else:
        who = f" with {call.agent.name}" if call.agent is not None else ""
        head = (
            f"Call from {call.caller}{who}: waited {spent.wait_s:.0f} s, talked {spent.talk_s:.0f} s, "
            f"on hold {spent.hold_s:.0f} s, wrap-up {spent.wrap_s:.0f} s"
        )
    lines = [head]
    if call.queue:
        lines.append(f"Queue: {call.queue}")
    if call.recording_url:
        lines.append(f"Recording: {call.recording_url}")
    if call.voicemail_url:
        lines.append(f"Voicemail: {call.voicemail_url}")
    return "\n".join(lines)


def _complete(session: Session, call: Call, clock: Clock) -> None:
    """The call's end: a note on its ticket (when it has one) and the ``call_completed`` event."""
    spent = durations(call.times())
    data = {
        "call_id": call.external_id,
        "queue": call.queue,
        "agent_id": call.agent_id,
        "wait_s": spent.wait_s,
        "talk_s": spent.talk_s,
        "hold_s": spent.hold_s,
        "wrap_s": spent.wrap_s,
        "abandoned": call.abandoned,
        "voicemail": call.voicemail,
    }
    ticket = call.ticket
    if ticket is not None:
        actions.add_message(
            session,
            ticket=ticket,
            author=None,
            author_kind=AuthorKind.SYSTEM,
            public=False,
            channel=Channel.PHONE,
            clock=clock,
            body_text=_summary(call),
        )
    append_event(
        session,
        subject_type="ticket" if ticket is not None else "call",
        subject_id=ticket.id if ticket is not None else call.id,
        type="call_completed",
        at=call.wrap_ended_at or clock.now(),
        actor=call.agent,
        data=data,
    )


def _after_transition(session: Session, call: Call, settings: Settings, clock: Clock) -> None:
    if call.state is CallState.ACTIVE:
        _attach_ticket(
            session,
            call,
            subject=f"Call from {call.caller}",
            body=f"Phone call from {call.caller}.",
            clock=clock,
        )
    elif call.state is CallState.COMPLETED and call.voicemail:
        _attach_ticket(
            session,
            call,
            subject=f"Voicemail from {call.caller}",
            body=f"Voicemail from {call.caller}.",
            clock=clock,
        )
    elif call.state is CallState.COMPLETED and call.abandoned and settings.phone_callback_tickets:
        wait = durations(call.times()).wait_s
        _attach_ticket(
            session,
            call,
            subject=f"Call back {call.caller}",
            body=f"{call.caller} hung up after waiting {wait:.0f} s; call them back.",
            clock=clock,
        )
    if call.state is CallState.WRAP_UP:
        assert call.ended_at is not None
        call.wrap_due_at = call.ended_at + timedelta(seconds=settings.phone_wrap_up_seconds)
        if settings.phone_wrap_up_seconds == 0:
            call.set_times(apply(call.times(), CallEvent.WRAP_UP_ENDED, call.ended_at))
    if call.state is CallState.COMPLETED:
        _complete(session, call, clock)


def _existing(session: Session, provider: str, call_id: str) -> Call | None:
    return session.scalars(
        select(Call).where(Call.provider == provider, Call.external_id == call_id).with_for_update()
    ).first()


def record_call_event(session: Session, *, event: PhoneEvent, settings: Settings, clock: Clock) -> Call:
    """Apply ``event`` to its call (creating the call on first sight). An event the call has already
    passed (a repeat, or one arriving late) changes nothing but the URLs it brings."""
    now = clock.now()
    call = _existing(session, event.provider, event.call_id)
    if call is None:
        try:
            caller = e164(event.caller, settings.phone_region)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field="from") from exc
        try:
            times = start(event.type, event.at)
        except StaleEvent as exc:
            raise ValidationFailed(f"a call cannot begin with {event.type.value}", field="type") from exc
        call = Call(
            provider=event.provider, external_id=event.call_id, caller=caller, created_at=now, updated_at=now
        )
        call.set_times(times)
        try:
            with session.begin_nested():
                session.add(call)
                session.flush()
            changed = True
        except IntegrityError:  # the same call's other event won the insert: apply ours to it
            found = _existing(session, event.provider, event.call_id)
            assert found is not None
            call, changed = found, False
    else:
        changed = False
    if not changed:
        try:
            call.set_times(apply(call.times(), event.type, event.at))
            changed = True
        except StaleEvent:
            pass
    call.queue = event.queue or call.queue
    agent = _agent(session, event.agent_email)
    if agent is not None:
        call.agent = agent
        call.agent_id = agent.id
    call.recording_url = event.recording_url or call.recording_url
    call.voicemail_url = event.voicemail_url or call.voicemail_url
    call.updated_at = now
    if changed:
        _after_transition(session, call, settings, clock)
    session.flush()
    return call


def end_wrap_up(session: Session, *, call: Call, at: datetime, clock: Clock) -> bool:
    """The agent closes the wrap-up; False if the call is not in wrap-up (already completed)."""
    try:
        call.set_times(apply(call.times(), CallEvent.WRAP_UP_ENDED, at))
    except StaleEvent:
        return False
    call.updated_at = clock.now()
    _complete(session, call, clock)
    return True


def complete_due_wrap_ups(session: Session, *, clock: Clock) -> int:
    """Calls whose agent never closed the wrap-up end it at the configured default."""
    now = clock.now()
    due = session.scalars(
        select(Call)
        .where(Call.state == CallState.WRAP_UP, Call.wrap_due_at <= now)
        .order_by(Call.id)
        .limit(500)
        .with_for_update(skip_locked=True)
    ).all()
    for call in due:
        assert call.wrap_due_at is not None
        end_wrap_up(session, call=call, at=call.wrap_due_at, clock=clock)
    return len(due)
