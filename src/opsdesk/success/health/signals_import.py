"""Health inputs OpsDesk does not observe itself (NPS from the survey tool, executive meetings from the
CRM, days overdue from billing, CSAT where the desk has none), from CSV: one observation per row.

Same contract as the CRM imports in ``opsdesk.success.imports`` (REQUIRED, validate, apply), so it can
be listed there too; re-importing a row (same account, signal and time) replaces its value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.success.health.actions import SIGNAL_RANGES, record_signal
from opsdesk.success.health.models import AccountSignal, SignalKind
from opsdesk.success.imports.base import (
    CellError,
    ImportFailed,
    ImportReport,
    Row,
    RowError,
    check_rows,
    parse_date,
    read_rows,
)
from opsdesk.success.models import Account

REQUIRED = ["Account ID", "Signal", "Observed"]
OPTIONAL = ["Value", "Source"]  # Value may be left empty for exec_engagement (the meeting happened)


@dataclass
class PlannedSignal:
    line: int
    account: Account
    kind: SignalKind
    value: Decimal
    observed_at: datetime
    source: str | None
    existing: bool


def parse_observed(value: str) -> datetime:
    """An ISO timestamp (a zone-less one is UTC) or a date (its start, UTC)."""
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.combine(parse_date("Observed", value), time(0), tzinfo=UTC)
    if len(value) <= 10:
        return datetime.combine(stamp.date(), time(0), tzinfo=UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def validate(
    session: Session, rows: list[Row], *, clock: Clock
) -> tuple[list[PlannedSignal], list[RowError]]:
    accounts = {
        a.external_id: a for a in session.scalars(select(Account).where(Account.external_id.is_not(None)))
    }
    first_line: dict[tuple[str, SignalKind, datetime], int] = {}

    def check(row: Row) -> PlannedSignal:
        ref = row.required("Account ID")
        if ref not in accounts:
            raise CellError("Account ID", f"unknown account {ref} (import accounts first)")
        name = row.required("Signal").lower().replace(" ", "_")
        try:
            kind = SignalKind(name)
        except ValueError:
            known = ", ".join(k.value for k in SignalKind)
            raise CellError("Signal", f"unknown signal {name!r} (one of {known})") from None
        observed = parse_observed(row.required("Observed"))
        if observed > clock.now():
            raise CellError("Observed", "is in the future")
        text = row.text("Value")
        if text is None and kind is not SignalKind.EXEC_ENGAGEMENT:
            raise CellError("Value", "is required")
        try:
            value = Decimal(text.rstrip("%").replace(",", "")) if text is not None else Decimal(1)
        except InvalidOperation:
            raise CellError("Value", f"{text!r} is not a number") from None
        low, high = SIGNAL_RANGES[kind]
        if not low <= value <= high:
            raise CellError("Value", f"a {kind.value} value is between {low} and {high}")
        key = (ref, kind, observed)
        if key in first_line:
            raise CellError(
                "Observed", f"{ref} {kind.value} at {observed} appears twice (line {first_line[key]})"
            )
        first_line[key] = row.line
        account = accounts[ref]
        existing = session.scalar(
            select(AccountSignal.id).where(
                AccountSignal.account_id == account.id,
                AccountSignal.kind == kind,
                AccountSignal.observed_at == observed,
            )
        )
        return PlannedSignal(
            row.line, account, kind, value, observed, row.text("Source"), existing is not None
        )

    return check_rows(rows, check)


def apply(
    session: Session, planned: list[PlannedSignal], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    for plan in planned:
        record_signal(
            session,
            account=plan.account,
            kind=plan.kind,
            value=plan.value,
            observed_at=plan.observed_at,
            source=plan.source,
            clock=clock,
        )
        progress(1)
    updated = sum(p.existing for p in planned)
    return len(planned) - updated, updated


def import_signals(
    session: Session,
    text: str,
    *,
    clock: Clock,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check every row, then write them all, or (any row rejected) raise ImportFailed having written
    nothing."""
    rows, read_errors = read_rows(text, REQUIRED)
    report = ImportReport(kind="signals", rows=len(rows) + len(read_errors), rejected=list(read_errors))
    planned, errors = validate(session, rows, clock=clock) if rows else ([], [])
    report.rejected = sorted(read_errors + errors, key=lambda e: e.line)
    report.updated = sum(p.existing for p in planned)
    report.created = len(planned) - report.updated
    if dry_run:
        return report
    if report.rejected:
        raise ImportFailed(report)
    report.created, report.updated = apply(
        session, planned, clock=clock, progress=progress or (lambda _n: None)
    )
    report.written = True
    return report
