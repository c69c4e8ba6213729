"""`opsdesk mail`: read the support mailbox, send queued replies, run the inbound SMTP listener."""

from __future__ import annotations

import threading
from collections import Counter

import typer

from opsdesk.cli.common import clock, console, fail

mail_app = typer.Typer(
    help="Email channel: poll the mailbox, send queued replies, listen for SMTP.", no_args_is_help=True
)


def poll(limit: int = typer.Option(200, min=1, help="Most messages to file in one run.")) -> None:
    """File unseen mail from the IMAP mailbox in OPSDESK_IMAP_URL as tickets and replies."""
    import imaplib

    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.errors import OpsDeskError
    from opsdesk.core.settings import get_settings
    from opsdesk.desk.attachments import AttachmentStore
    from opsdesk.desk.channels.email.imap_poll import poll_imap

    settings = get_settings()
    if not settings.imap_url:
        raise fail("no mailbox configured: set OPSDESK_IMAP_URL, e.g. imaps://user:pass@host:993/INBOX")
    engine = make_engine(settings.resolved_database_url())
    try:
        results = poll_imap(
            make_session_factory(engine),
            settings=settings,
            clock=clock,
            store=AttachmentStore.from_settings(settings),
            limit=limit,
        )
    except OpsDeskError as exc:
        raise fail(f"{exc.message} ({exc.field})" if exc.field else exc.message) from None
    except (imaplib.IMAP4.error, OSError) as exc:
        raise fail(f"IMAP server in OPSDESK_IMAP_URL failed: {exc}") from None
    finally:
        engine.dispose()
    outcomes = Counter(result.outcome.value for result in results)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "nothing new"
    console.print(f"{len(results)} message(s) filed: {summary}")


def send_pending_command() -> None:
    """Send the replies waiting in the outbound queue through OPSDESK_SMTP_URL (retries included)."""
    import smtplib

    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.errors import OpsDeskError
    from opsdesk.core.settings import get_settings
    from opsdesk.desk.channels.email.outbound import send_pending

    settings = get_settings()
    if not settings.smtp_url:
        raise fail(
            "no SMTP server configured: set OPSDESK_SMTP_URL, e.g. smtp://user:pass@host:587?starttls=1"
        )
    engine = make_engine(settings.resolved_database_url())
    try:
        sent = send_pending(make_session_factory(engine), clock=clock, settings=settings)
    except OpsDeskError as exc:
        raise fail(f"{exc.message} ({exc.field})" if exc.field else exc.message) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise fail(f"SMTP server in OPSDESK_SMTP_URL failed: {exc}") from None
    finally:
        engine.dispose()
    console.print(f"{sent} email(s) sent")


def listen(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(2525, help="SMTP port."),
) -> None:
    """Receive mail by SMTP until interrupted (the same listener `opsdesk serve --smtp-port` runs)."""
    from opsdesk.core.errors import ValidationFailed
    from opsdesk.core.settings import get_settings
    from opsdesk.desk.channels.email.smtp_listener import serve_smtp

    try:
        stop = serve_smtp(get_settings(), host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc}") from None
    except ValidationFailed as exc:  # a half-configured STARTTLS certificate
        raise fail(f"{exc.message} (OPSDESK_{(exc.field or '').upper()})") from None
    console.print(f"receiving mail on smtp://{host}:{port} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()


mail_app.command("poll")(poll)
mail_app.command("send-pending")(send_pending_command)
mail_app.command("listen")(listen)


def register(app: typer.Typer) -> None:
    app.add_typer(mail_app, name="mail")
