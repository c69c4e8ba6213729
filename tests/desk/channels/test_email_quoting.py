"""Quoted history cut from replies: the pure splitter on a corpus of replies as common clients write
them (each ``NAME.txt`` beside the ``NAME.new.txt`` its sender wrote), and what a filed reply keeps."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import InboundResult, Outcome, receive_and_commit
from opsdesk.desk.channels.email.models import InboundEmail
from opsdesk.desk.channels.email.quoting import MAX_SCANNED, split_reply
from opsdesk.desk.models import Message
from opsdesk.web.deps import SESSION_COOKIE
from tests.conftest import LiveServer
from tests.desk.channels.mail import mail
from tests.factories import make_user

CORPUS = Path(__file__).with_name("replies")
CASES = sorted(p.name[: -len(".txt")] for p in CORPUS.glob("*.txt") if not p.name.endswith(".new.txt"))


@pytest.mark.parametrize("name", CASES)
def test_the_new_part_of_each_reply_in_the_corpus(name: str) -> None:
    received = (CORPUS / f"{name}.txt").read_text()
    reply = split_reply(received)
    assert reply.new == (CORPUS / f"{name}.new.txt").read_text()
    assert reply.full == received
    assert reply.trimmed is (reply.new != received.strip())


def test_the_corpus_covers_the_common_clients() -> None:
    assert len(CASES) >= 15
    assert {"gmail", "outlook_desktop", "outlook_web", "apple_mail", "signature_delimiter"} <= set(CASES)


def test_crlf_lines_and_an_oversized_mail() -> None:
    assert (
        split_reply("Fine now.\r\n\r\nOn Mon, 2 Mar 2026, Sam <s@x.example> wrote:\r\n> ok\r\n").new
        == "Fine now."
    )
    huge = "word " * (MAX_SCANNED // 5) + "\n\nOn Mon, 2 Mar 2026, Sam <s@x.example> wrote:\n> ok"
    assert split_reply(huge).trimmed is False


def _file(
    sf: sessionmaker[Session], raw: bytes, clock: FixedClock, store: AttachmentStore, settings: Settings
) -> InboundResult:
    result = receive_and_commit(sf, raw=raw, clock=clock, store=store, settings=settings)
    assert result.message_id is not None
    return result


GMAIL_REPLY = (CORPUS / "gmail.txt").read_text()


def test_a_filed_reply_keeps_the_new_part_and_the_whole_mail_beside_it(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    store: AttachmentStore,
    settings: Settings,
    live_server: LiveServer,
) -> None:
    forwarded = (
        "Please look at this.\n\nFrom: Vendor <v@vendor.example>\nSent: Monday, March 2, 2026\n"
        "To: Dana\nSubject: Invoice\n\nThe invoice."
    )
    opened = _file(
        session_factory, mail(message_id="<q-1@acme.example>", text=forwarded), clock, store, settings
    )
    assert opened.outcome is Outcome.CREATED
    first_raw = mail(message_id="<q-2@acme.example>", in_reply_to="<q-1@acme.example>", text=GMAIL_REPLY,
                     html="<div>Thanks!</div><blockquote>Please try resetting</blockquote>")  # fmt: skip
    replied = _file(session_factory, first_raw, clock, store, settings)
    assert replied.outcome is Outcome.APPENDED and replied.ticket_id == opened.ticket_id

    with session_factory() as fresh:
        first, second = fresh.scalars(
            select(Message).where(Message.ticket_id == opened.ticket_id).order_by(Message.id)
        )
        # A new ticket is never cut: a forwarded mail is the customer's point.
        assert first.body_text.replace("\r\n", "\n") == forwarded
        assert fresh.get_one(InboundEmail, first.id).full_text is None
        assert second.body_text == "Thanks, resetting the password fixed it!\n\nDana"
        assert "resetting your password" not in second.body_html and "blockquote" not in second.body_html
        source = fresh.get_one(InboundEmail, second.id)
        assert source.full_text == GMAIL_REPLY.strip()
        assert store.open(source.raw_key or "") == first_raw and source.raw_size == len(first_raw)

    agent = make_user(db, clock, Role.AGENT, email="agent@opsdesk.test")
    _row, cookie = core_actions.start_browser_session(db, user=agent, clock=clock)
    db.commit()
    page = httpx.Client(base_url=live_server.url, timeout=10)
    page.cookies.set(SESSION_COOKIE, cookie)
    shown = page.get(f"/tickets/{opened.ticket_id}").text
    folded = re.findall(r'<details class="quoted" data-testid="quoted-history">(.*?)</details>', shown, re.S)
    assert len(folded) == 1 and "Please try resetting your password from the sign-in page." in folded[0]
    # Each received mail links to its raw download (whose access rules test_email_raw covers).
    links = re.findall(r'href="(/api/v1/tickets/\d+/messages/\d+/raw)" data-testid="raw-email"', shown)
    assert links == [
        f"/api/v1/tickets/{opened.ticket_id}/messages/{m}/raw"
        for m in (opened.message_id, replied.message_id)
    ]
    assert page.get(links[1]).content == first_raw
