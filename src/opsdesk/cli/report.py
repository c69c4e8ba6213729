"""`opsdesk report weekly --to EMAIL [--pdf FILE] [--week YYYY-MM-DD]`: the weekly leadership report,
built from the KPI engine, emailed as HTML with the PDF attached and/or written to a PDF file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from opsdesk.cli.common import clock, console, fail

report_app = typer.Typer(help="Reports built from the KPIs.", no_args_is_help=True)


def weekly(
    to: list[str] = typer.Option(
        None, "--to", help="Email the report to EMAIL (repeat for several) through OPSDESK_SMTP_URL."
    ),
    pdf: Path = typer.Option(None, "--pdf", help="Also write the PDF to FILE."),
    week: str = typer.Option(
        None, "--week", help="Any day of the ISO week to report (YYYY-MM-DD); default: the last full week."
    ),
    kpis: str = typer.Option(
        None,
        "--kpi",
        help="KPIs, comma-separated: metric or metric:mean|median|p90 for durations (default: tickets "
        "created and solved, median first reply and full resolution, SLA attainment, CSAT, reopen rate).",
    ),
) -> None:
    """The chosen KPIs for a week against the week before, and the biggest movers by channel, site and
    group (numbers from `opsdesk kpi`)."""
    import smtplib

    from opsdesk.core.database import make_engine, make_session_factory
    from opsdesk.core.errors import OpsDeskError
    from opsdesk.core.settings import get_settings
    from opsdesk.insights.reports.mail import send_report
    from opsdesk.insights.reports.pdf import render_pdf
    from opsdesk.insights.reports.weekly import build_weekly, last_full_week, parse_kpis

    recipients = [address.strip() for raw in to or [] for address in raw.split(",") if address.strip()]
    if not recipients and pdf is None:
        raise fail("say where the report goes: --to EMAIL and/or --pdf FILE")
    for address in recipients:
        if "@" not in address or len(address) > 254:
            raise fail(f"--to: {address[:60]!r} is not an email address")
    settings = get_settings()
    if recipients and not settings.smtp_url:
        raise fail(
            "--to: no SMTP server configured: set OPSDESK_SMTP_URL, e.g. smtp://user:pass@host:587?starttls=1"
        )
    try:
        choices = parse_kpis(kpis.split(",")) if kpis else None
    except OpsDeskError as exc:
        raise fail(f"--kpi: {exc.message}") from None
    now = clock.now()
    try:
        day = date.fromisoformat(week) if week else last_full_week(now)
    except ValueError:
        raise fail(f"--week: {week[:60]!r} is not a date (YYYY-MM-DD)") from None
    engine = make_engine(settings.resolved_database_url())
    try:
        with make_session_factory(engine)() as session:
            report = build_weekly(session, week=day, now=now, kpis=choices)
    except OpsDeskError as exc:
        raise fail(f"--week: {exc.message}" if exc.field in ("from", "to") else exc.message) from None
    finally:
        engine.dispose()
    document = render_pdf(report)
    if pdf is not None:
        try:
            pdf.write_bytes(document)
        except OSError as exc:
            raise fail(f"--pdf: cannot write {pdf}: {exc.strerror}") from None
        console.print(f"wrote {pdf}")
    if recipients:
        try:
            send_report(report, pdf=document, to=recipients, settings=settings)
        except OpsDeskError as exc:
            raise fail(exc.message) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise fail(f"SMTP server in OPSDESK_SMTP_URL failed: {exc}") from None
        console.print(f"weekly report {report.iso_week} sent to {', '.join(recipients)}")


report_app.command("weekly")(weekly)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
