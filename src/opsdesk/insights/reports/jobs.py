"""The hourly KPI target check: alerts go by email through ``OPSDESK_SMTP_URL`` (runs only when set)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.core.jobs import JobContext, registry
from opsdesk.core.smtp import SmtpConnection, parse_smtp_url


def check_kpi_targets(ctx: JobContext, _payload: dict[str, Any]) -> None:
    from opsdesk.insights.reports.targets import Alert, alert_mail, check_targets

    settings = ctx.settings
    with ctx.transaction() as session, SmtpConnection(parse_smtp_url(settings.smtp_url)) as smtp:

        def send(alert: Alert) -> None:
            smtp.send(
                alert_mail(alert, sender=settings.support_address),
                from_addr=settings.support_address,
                to_addrs=[alert.to],
            )

        check_targets(session, now=ctx.clock.now(), send=send)


registry.register(
    "insights.check_kpi_targets",
    check_kpi_targets,
    every=timedelta(hours=1),
    enabled=lambda settings: bool(settings.smtp_url),
)
