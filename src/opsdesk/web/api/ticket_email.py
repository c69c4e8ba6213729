"""/api/v1/tickets/{number}/ccs and a received message's raw mail: the email side of a ticket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import AfterValidator, BaseModel

from opsdesk.core.bounds import MAX_ID, no_nul
from opsdesk.core.errors import NotFound
from opsdesk.desk import access
from opsdesk.desk.access import TicketOp
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.ccs import remove_cc, ticket_ccs
from opsdesk.desk.channels.email.sources import raw_source_for
from opsdesk.web.api.tickets import Number
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["tickets"])
Address = Annotated[
    str, Path(min_length=3, max_length=320, description="An email address"), AfterValidator(no_nul)
]


class CcOut(BaseModel):
    address: str


@router.get("/tickets/{number}/ccs", response_model=list[CcOut])
def list_ccs(number: Number, user: CurrentUser, session: SessionDep, clock: ClockDep) -> list[CcOut]:
    """Who is copied on the ticket's public replies (recorded from the customer's mail)."""
    ticket = access.ticket_for(session, number, user, clock)
    out = [CcOut(address=a) for a in ticket_ccs(session, ticket.id)]
    session.commit()  # the audit row of a sensitive read
    return out


@router.delete("/tickets/{number}/ccs/{address}", status_code=204, response_class=Response)
def delete_cc(
    number: Number, address: Address, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Response:
    """Stop copying an address on the ticket's replies (agents who may update the ticket)."""
    ticket = access.ticket_for(session, number, user, clock)
    access.require(user, TicketOp.UPDATE, ticket)
    remove_cc(session, ticket=ticket, address=address, actor=user, clock=clock)
    session.commit()
    return Response(status_code=204)


@router.get("/tickets/{number}/messages/{message_id}/raw", response_class=Response)
def download_raw_email(
    number: Number,
    message_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The message id")],
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """The mail a message was received as (RFC 822, ``.eml``), for those who may read the message;
    audited on sensitive tickets like an attachment download, refusals included."""
    ticket = access.ticket_for(session, number, user, clock)
    detail = {"message_id": message_id}
    try:
        row = raw_source_for(session, ticket=ticket, message_id=message_id, user=user)
    except NotFound:
        access.audit_download(session, user, ticket, clock, allowed=False, what="raw_email", detail=detail)
        raise
    access.audit_download(session, user, ticket, clock, allowed=True, what="raw_email", detail=detail)
    data = AttachmentStore.from_settings(settings).open(row.raw_key or "")
    session.commit()  # the audit rows of a sensitive read
    return Response(
        content=data,
        media_type="message/rfc822",
        headers={
            "Content-Disposition": f'attachment; filename="ticket-{ticket.id}-message-{message_id}.eml"',
            "X-Content-Type-Options": "nosniff",
        },
    )
