"""The weekly report on a schedule: who receives it and when (a weekday and hour in a time zone), and
the send itself, once per week. A week's report goes out at the first chosen weekday and hour (in the
zone) after the week has ended (Monday 00:00 UTC, as the report's weeks are UTC days). The send
inserts the week's :class:`ReportSend` first: its unique (report, week) makes a second worker, or a
restarted job, find the week taken and send nothing; a failed send rolls the row back for a retry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.insights.reports.models import ReportSchedule, ReportSend
from opsdesk.insights.reports.weekly import last_full_week, monday_of

WEEKLY = "weekly"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_RECIPIENTS = 50


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {name[:64]!r}", field="timezone") from None


def _recipients(addresses: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
    if len(cleaned) > MAX_RECIPIENTS:
        raise ValidationFailed(f"at most {MAX_RECIPIENTS} recipients", field="recipients")
    for address in cleaned:
        local, at, domain = address.rpartition("@")
        if (
            not at
            or not local
            or "." not in domain
            or len(address) > 254
            or any(c.isspace() for c in address)
        ):
            raise ValidationFailed(f"{address[:60]!r} is not an email address", field="recipients")
    return cleaned


def set_schedule(
    session: Session,
    *,
    recipients: Sequence[str],
    weekday: int,
    hour: int,
    timezone: str,
    active: bool,
    actor: User | None,
    now: datetime,
) -> ReportSchedule:
    """Create or replace the weekly report's schedule. An active schedule needs a recipient."""
    addresses = _recipients(recipients)
    if not 0 <= weekday <= 6:
        raise ValidationFailed("weekday is 0 (Monday) to 6 (Sunday)", field="weekday")
    if not 0 <= hour <= 23:
        raise ValidationFailed("hour is 0 to 23", field="hour")
    _zone(timezone)
    if active and not addresses:
        raise ValidationFailed("name at least one recipient, or switch the schedule off", field="recipients")
    row = session.get(ReportSchedule, WEEKLY)
    if row is None:
        row = ReportSchedule(report=WEEKLY, active=False, active_since=now)
        session.add(row)
    if active and not row.active:
        row.active_since = now
    row.recipients, row.weekday, row.hour, row.timezone, row.active = (
        addresses,
        weekday,
        hour,
        timezone,
        active,
    )
    row.updated_at, row.updated_by_id = now, actor.id if actor is not None else None
    session.flush()
    append_event(
        session,
        subject_type="report_schedule",
        subject_id=0,
        type="report_schedule_set",
        at=now,
        actor=actor,
        data={
            "weekday": weekday,
            "hour": hour,
            "timezone": timezone,
            "active": active,
            "recipients": len(addresses),
        },
    )
    return row


def schedule(session: Session) -> ReportSchedule | None:
    return session.get(ReportSchedule, WEEKLY)


def sends(session: Session, *, limit: int = 10) -> list[ReportSend]:
    """The latest weeks sent, newest first."""
    query = select(ReportSend).where(ReportSend.report == WEEKLY).order_by(ReportSend.week.desc())
    return list(session.scalars(query.limit(limit)))


def send_time(row: ReportSchedule, week: date) -> datetime:
    """When the report of the ISO week holding ``week`` goes out: the first chosen weekday and hour in
    the zone at or after the week's end (UTC)."""
    end = datetime.combine(monday_of(week) + timedelta(days=7), time(), UTC)
    zone = _zone(row.timezone)
    first_day = end.astimezone(zone).date()
    for offset in range(8):
        day = first_day + timedelta(days=offset)
        if day.weekday() == row.weekday:
            at = datetime.combine(day, time(row.hour), zone).astimezone(UTC)
            if at >= end:
                return at
    raise AssertionError("a weekday recurs within eight days")


def due_week(row: ReportSchedule, now: datetime) -> date | None:
    """The week whose report should have gone by ``now`` (the last full one), or None. A week whose
    send time came before the schedule was switched on is left out: the first report is the next."""
    if not row.active or not row.recipients:
        return None
    week = last_full_week(now)
    at = send_time(row, week)
    return week if row.active_since <= at <= now else None


def next_send(row: ReportSchedule, now: datetime, sent: set[date]) -> datetime | None:
    """When the next report goes (``now`` when one is due and waits for the job's next run), for the
    settings page and the API; None while the schedule is off."""
    if not row.active or not row.recipients:
        return None
    week = last_full_week(now)
    if week not in sent and due_week(row, now) == week:
        return now
    at = send_time(row, week)
    # Last week's time is still ahead, or else this week's (which always is: the week has not ended).
    return at if at > now and week not in sent else send_time(row, week + timedelta(days=7))


@dataclass(frozen=True)
class Sent:
    week: date
    recipients: list[str]


def _claim(session: Session, week: date, recipients: list[str], now: datetime) -> bool:
    """Insert the week's send record unless one exists (another worker's, or an earlier run's)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(ReportSend)
        .values(report=WEEKLY, week=week, recipients=recipients, sent_at=now)
        .on_conflict_do_nothing()
        .returning(ReportSend.id)
    )
    return session.execute(statement).first() is not None


def send_due_report(session: Session, *, now: datetime, settings: Settings) -> Sent | None:
    """Send last week's report if it is due and not sent; in the caller's transaction, which commits
    the send record only after the SMTP server took the mail (any failure rolls it back)."""
    from opsdesk.insights.reports.mail import send_report
    from opsdesk.insights.reports.pdf import render_pdf
    from opsdesk.insights.reports.weekly import build_weekly

    row = schedule(session)
    week = due_week(row, now) if row is not None else None
    if row is None or week is None:
        return None
    recipients = list(row.recipients)
    if not _claim(session, week, recipients, now):
        return None
    report = build_weekly(session, week=week, now=now)
    send_report(report, pdf=render_pdf(report), to=recipients, settings=settings)
    append_event(
        session,
        subject_type="report_schedule",
        subject_id=0,
        type="weekly_report_sent",
        at=now,
        data={"week": week.isoformat(), "recipients": len(recipients)},
    )
    return Sent(week, recipients)
