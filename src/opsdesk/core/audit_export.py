"""The audit log as CSV, and the trace that every read of the log leaves in the log itself: who read
or exported which rows (the filters), through which door (page, API, command line)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core import audit
from opsdesk.core.audit_queries import AuditFilters, AuditRow
from opsdesk.core.models import AuditEntry, User
from opsdesk.core.spreadsheet import cell_text

CSV_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_email",
    "actor_name",
    "action",
    "subject_type",
    "subject_id",
    "detail",
)


def csv_values(row: AuditRow) -> list[str]:
    entry = row.entry
    return [
        str(entry.id),
        entry.at.isoformat(),
        "" if entry.actor_id is None else str(entry.actor_id),
        cell_text(row.actor_email),
        cell_text(row.actor_name),
        cell_text(entry.action),
        cell_text(entry.subject_type),
        "" if entry.subject_id is None else str(entry.subject_id),
        cell_text(json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)),
    ]


def csv_lines(rows: Iterable[AuditRow]) -> Iterator[str]:
    """The header, then one line per row, as they are read: an export never holds the log in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for values in _all(rows):
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _all(rows: Iterable[AuditRow]) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for row in rows:
        yield csv_values(row)


def record_audit_read(
    session: Session,
    *,
    reader: User | None,
    exported: bool,
    filters: AuditFilters,
    via: str,
    at: datetime,
    extra: dict[str, Any] | None = None,
) -> AuditEntry:
    """Adds the trace of one read of the log; the caller commits it before reading, so a read that
    fails half-way still leaves its trace."""
    return audit.record(
        session,
        actor=reader,
        action="audit_log_exported" if exported else "audit_log_read",
        subject_type="audit_log",
        subject_id=None,
        at=at,
        detail={"via": via, "filters": filters.described(), **(extra or {})},
    )
