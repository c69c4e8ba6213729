"""Chat replies written after the visitor left go by mail, batched: the lines an agent writes within
the batch window travel in one mail, threaded like any reply; a line written once that mail is on its
way starts the next one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.models import Role, User
from opsdesk.core.settings import Settings
from opsdesk.desk.channels.chat import actions
from opsdesk.desk.channels.chat.models import ChatConversation, Sender
from opsdesk.desk.channels.delivery import CHAT_MAIL_BATCH
from opsdesk.desk.channels.email.models import OutboundEmail
from opsdesk.desk.channels.email.outbound import send_pending
from tests.desk.channels.chat.helpers import start
from tests.desk.channels.sink import Sink, smtp_sink
from tests.factories import make_user


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as sink:
        yield sink


def _say(
    session_factory: sessionmaker[Session], conversation_id: int, agent_id: int, text: str, clock: FixedClock
) -> None:
    with transaction(session_factory) as session:
        actions.post_message(
            session,
            conversation=session.get_one(ChatConversation, conversation_id),
            sender=Sender.AGENT,
            author=session.get_one(User, agent_id),
            text=text,
            client_id=f"a-{text}",
            clock=clock,
        )
        clock.advance(timedelta(seconds=20))


def test_lines_written_after_the_visitor_left_go_in_one_threaded_mail(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings, sink: Sink
) -> None:
    conversation = start(db, clock, email="ada@newcustomer.example").conversation
    agent = make_user(db, clock, Role.AGENT, email="agent@opsdesk.test")
    actions.set_visitor_presence(db, conversation=conversation, online=False)
    db.commit()
    mail_settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})

    for text in ("Sorry you had to go", "The card was declined by the bank", "Try it again tomorrow"):
        _say(session_factory, conversation.id, agent.id, text, clock)
    rows = db.scalars(select(OutboundEmail)).all()
    assert len(rows) == 1 and len(rows[0].batched_message_ids) == 2
    # Nothing goes before the window has passed, counted from the first line.
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 0
    clock.advance(CHAT_MAIL_BATCH)
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 1
    [mail] = sink.messages()
    assert mail["To"] == "ada@newcustomer.example"
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    lines = [line for line in text.splitlines() if line]
    assert lines[1::2] == [
        "Sorry you had to go",
        "The card was declined by the bank",
        "Try it again tomorrow",
    ]
    assert all(line.startswith(f"{agent.name}, ") for line in lines[0::2])

    # Once that mail is sent, the next line starts a new one, threaded onto the first.
    _say(session_factory, conversation.id, agent.id, "Did it work?", clock)
    clock.advance(CHAT_MAIL_BATCH)
    assert send_pending(session_factory, clock=clock, settings=mail_settings) == 1
    first, second = sink.messages()
    assert first["Message-ID"] in second["References"]
    assert "Did it work?" in second.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    db.expire_all()
    assert [
        len(r.batched_message_ids) for r in db.scalars(select(OutboundEmail).order_by(OutboundEmail.id))
    ] == [2, 0]
