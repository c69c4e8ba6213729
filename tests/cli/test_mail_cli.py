"""`opsdesk mail ...` through the real command line parser, against real SMTP and IMAP servers on
loopback and the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import get_settings
from opsdesk.desk import actions
from opsdesk.desk.models import AuthorKind, Channel, Ticket
from tests.conftest import free_port
from tests.desk.channels.fake_imap import Mailbox, fake_imap
from tests.desk.channels.mail import mail
from tests.desk.channels.sink import smtp_sink
from tests.factories import make_user

runner = CliRunner()


@pytest.fixture
def cli_env(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPSDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPSDESK_SUPPORT_ADDRESS", "support@opsdesk.test")
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_commands_name_the_missing_setting(cli_env: pytest.MonkeyPatch) -> None:
    code, out = run("mail", "send-pending")
    assert code == 2 and "OPSDESK_SMTP_URL" in out
    code, out = run("mail", "poll")
    assert code == 2 and "OPSDESK_IMAP_URL" in out
    cli_env.setenv("OPSDESK_SMTP_URL", "http://not-smtp")
    get_settings.cache_clear()
    code, out = run("mail", "send-pending")
    assert code == 2 and "smtp_url" in out
    cli_env.setenv("OPSDESK_SMTP_LISTENER_TLS_CERT", "/etc/opsdesk/mx.crt")
    get_settings.cache_clear()
    code, out = run("mail", "listen", "--port", str(free_port()))
    assert code == 2 and "OPSDESK_SMTP_LISTENER_TLS_KEY" in out


def _queue_one_reply(db: Session, clock: FixedClock) -> None:
    """An email ticket with one public agent reply, which queues one outbound email."""
    requester = make_user(db, clock, Role.REQUESTER, email="dana@acme.example")
    agent = make_user(db, clock, Role.AGENT)
    ticket = actions.create_ticket(
        db, requester=requester, subject="Hi", body_text="hello", channel=Channel.EMAIL, clock=clock
    )
    actions.add_message(
        db,
        ticket=ticket,
        author=agent,
        author_kind=AuthorKind.AGENT,
        public=True,
        channel=Channel.WEB,
        clock=clock,
        body_text="hello back",
    )
    db.commit()


def test_send_pending_sends_queued_replies(
    cli_env: pytest.MonkeyPatch, db: Session, clock: FixedClock
) -> None:
    _queue_one_reply(db, clock)
    with smtp_sink() as sink:
        cli_env.setenv("OPSDESK_SMTP_URL", f"smtp://127.0.0.1:{sink.port}")
        get_settings.cache_clear()
        code, out = run("mail", "send-pending")
        assert code == 0, out
        assert "1 email(s) sent" in out
        assert len(sink.received) == 1


def test_send_pending_reports_an_unreachable_server(
    cli_env: pytest.MonkeyPatch, db: Session, clock: FixedClock
) -> None:
    _queue_one_reply(db, clock)
    cli_env.setenv("OPSDESK_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    code, out = run("mail", "send-pending")
    assert code == 0 and "0 email(s) sent" in out  # the failure is recorded on the row for a retry


def test_poll_files_the_mailbox(cli_env: pytest.MonkeyPatch, db: Session) -> None:
    box = Mailbox()
    box.deliver(mail(message_id="<p1@acme.example>"))
    box.deliver(mail(message_id="<p2@acme.example>", in_reply_to="<p1@acme.example>", text="again"))
    with fake_imap(box) as port:
        cli_env.setenv("OPSDESK_IMAP_URL", f"imap://{box.user}:{box.password}@127.0.0.1:{port}/INBOX")
        get_settings.cache_clear()
        code, out = run("mail", "poll")
    assert code == 0, out
    assert "2 message(s) filed: 1 appended, 1 created" in out
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_poll_reports_an_unreachable_mailbox(cli_env: pytest.MonkeyPatch) -> None:
    cli_env.setenv("OPSDESK_IMAP_URL", f"imap://u:p@127.0.0.1:{free_port()}/INBOX")
    get_settings.cache_clear()
    code, out = run("mail", "poll")
    assert code == 2 and "IMAP server" in out
