"""The reports' background work. The hourly KPI target check: alerts go by email through
``OPSDESK_SMTP_URL`` and as events to the outbound webhooks; without an SMTP server only the targets
that email no one are checked (a target's excursion is never recorded with its email unsent). The
scheduled weekly report: every ten minutes, send last week's report if its time has come (once)."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, registry
from opsdesk.core.smtp import SmtpConnection, parse_smtp_url

log = logging.getLogger(__name__)


def check_kpi_targets(ctx: JobContext, _payload: dict[str, Any]) -> None:
    from opsdesk.insights.reports.targets import Alert, alert_mail, check_targets

    settings = ctx.settings
    smtp = SmtpConnection(parse_smtp_url(settings.smtp_url)) if settings.smtp_url else None
    with ctx.transaction() as session, smtp or nullcontext():

        def send(alert: Alert) -> None:
            if smtp is None:  # check_targets sends no mail when told there is no server
                raise RuntimeError("no SMTP server for a KPI alert")
            smtp.send(
                alert_mail(alert, sender=settings.support_address),
                from_addr=settings.support_address,
                to_addrs=[alert.to],
            )

        checked = check_targets(session, now=ctx.clock.now(), send=send, email=smtp is not None)
    if checked.skipped:
        log.warning(
            "%d KPI targets with an alert email not checked: OPSDESK_SMTP_URL is unset", checked.skipped
        )


def send_weekly_report(ctx: JobContext, _payload: dict[str, Any]) -> None:
    from opsdesk.insights.reports.schedule import send_due_report

    with ctx.transaction() as session:
        sent = send_due_report(session, now=ctx.clock.now(), settings=ctx.settings)
    if sent is not None:
        log.info("weekly report of %s sent to %d recipients", sent.week, len(sent.recipients))


registry.register("insights.check_kpi_targets", check_kpi_targets, every=timedelta(hours=1))
registry.register(
    "insights.send_weekly_report",
    send_weekly_report,
    every=timedelta(minutes=10),
    enabled=lambda settings: bool(settings.smtp_url),
)
