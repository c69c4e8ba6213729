"""The demo customer's email conversation is filed as real mail: Cc recorded, the Outlook reply cut to
its new part with the whole text kept, and each mail's raw copy in the store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event
from opsdesk.core.settings import Settings
from opsdesk.demo.loader import load_demo
from opsdesk.demo.people import DEMO_REQUESTER
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.ccs import ticket_ccs
from opsdesk.desk.channels.email.models import InboundEmail
from opsdesk.desk.models import AuthorKind, Message, Ticket


def test_the_demo_email_conversation(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock, settings: Settings
) -> None:
    load_demo(session_factory, clock=clock, organisations=50, tickets_per_day=2, history_days=3,
              success_accounts=10, settings=settings)  # fmt: skip
    ticket = db.scalars(select(Ticket).where(Ticket.subject == "March eligibility file rejected")).one()
    assert ticket.requester.email == DEMO_REQUESTER
    assert ticket_ccs(db, ticket.id) == ["dana.whitfield@opsdesk.demo", "lee.park@opsdesk.demo"]
    messages = list(db.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)))
    # The scripted conversation is the first three; the demo's agents may later have applied a macro.
    first, answer, reply = messages[:3]
    later_by_macro = db.scalars(
        select(Event.id).where(Event.subject_id == ticket.id, Event.type == "macro_applied")
    ).all()
    assert len(messages) == 3 + len(later_by_macro)
    assert answer.author_kind is AuthorKind.AGENT
    assert (
        reply.body_text
        == "Corrected and uploaded again just now, thank you for keeping February active.\n\nJordan"
    )
    store = AttachmentStore.from_settings(settings)
    for message in (first, reply):
        source = db.get_one(InboundEmail, message.id)
        assert store.open(source.raw_key or "").startswith(b"From: Jordan Ellis")
    assert "Row 4,212 has a date of birth" in (db.get_one(InboundEmail, reply.id).full_text or "")
