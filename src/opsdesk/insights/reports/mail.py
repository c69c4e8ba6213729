"""Sending the weekly report: an HTML email (with a plain-text part) and the PDF attached, through the
SMTP server in ``OPSDESK_SMTP_URL``."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.settings import Settings
from opsdesk.core.smtp import SmtpConnection, parse_smtp_url
from opsdesk.insights.reports.html import render_html, render_text
from opsdesk.insights.reports.weekly import WeeklyReport


def compose(report: WeeklyReport, *, pdf: bytes, sender: str, to: Sequence[str]) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = f"Weekly report {report.iso_week} ({report.week} to {report.week_end})"
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail.set_content(render_text(report))
    mail.add_alternative(render_html(report), subtype="html")
    mail.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"weekly-report-{report.week}.pdf"
    )
    return mail


def send_report(report: WeeklyReport, *, pdf: bytes, to: Sequence[str], settings: Settings) -> None:
    """Raises ValidationFailed (field ``smtp_url``) when no SMTP server is configured; SMTP and network
    errors pass through for the caller to report."""
    if not settings.smtp_url:
        raise ValidationFailed(
            "no SMTP server configured: set OPSDESK_SMTP_URL, e.g. smtp://user:pass@host:587?starttls=1",
            field="smtp_url",
        )
    mail = compose(report, pdf=pdf, sender=settings.support_address, to=to)
    with SmtpConnection(parse_smtp_url(settings.smtp_url)) as smtp:
        smtp.send(mail, from_addr=settings.support_address, to_addrs=list(to))
