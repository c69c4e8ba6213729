"""CSV imports of CRM exports: accounts, contacts, contracts, utilisation and opportunities.

Every row is checked before anything is written, and every rejected row is reported with its line and
column. By default one rejected row means nothing is imported (the caller's transaction is rolled
back); with ``skip_invalid`` the valid rows are imported and the rejected ones reported. Re-importing a
file updates the records it created, matched by external id (utilisation: by account and month); a row
that would change nothing writes nothing and is not counted as updated, and a column the file does not
have leaves the stored value alone (an empty cell in a present column clears it).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.success.imports import accounts, contacts, contracts, opportunities, utilisation
from opsdesk.success.imports.base import ImportFailed, ImportReport, RowError, read_rows

IMPORTERS: dict[str, ModuleType] = {
    "accounts": accounts,
    "contacts": contacts,
    "contracts": contracts,
    "utilisation": utilisation,
    "opportunities": opportunities,
}

__all__ = ["IMPORTERS", "ImportFailed", "ImportReport", "RowError", "import_csv"]


def import_csv(
    session: Session,
    kind: str,
    text: str,
    *,
    clock: Clock,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check and (unless ``dry_run``) write one file's rows; raises ImportFailed when rows are rejected
    and ``skip_invalid`` is not set, so the caller's transaction writes nothing."""
    module = IMPORTERS[kind]
    rows, read_errors = read_rows(text, module.REQUIRED)
    report = ImportReport(kind=kind, rows=len(rows), rejected=list(read_errors))
    if any(error.line == 1 for error in read_errors):  # the header is wrong: no row can be read
        if dry_run:
            return report
        raise ImportFailed(report)
    planned, errors = module.validate(session, rows, clock=clock)
    report.rows = len(rows) + len(read_errors)
    report.rejected = sorted(read_errors + errors, key=lambda e: e.line)
    report.created = sum(not p.existing for p in planned)
    report.updated = sum(bool(p.existing) and not p.unchanged for p in planned)
    if dry_run:
        return report
    if report.rejected and not skip_invalid:
        raise ImportFailed(report)
    report.created, report.updated = module.apply(
        session, planned, clock=clock, progress=progress or (lambda _n: None)
    )
    report.written = True
    return report
