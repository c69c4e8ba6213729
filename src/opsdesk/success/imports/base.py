"""What every CSV import shares: reading a CRM export, parsing cells, and the per-row report."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from opsdesk.core.errors import ValidationFailed

T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header line
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[RowError] = field(default_factory=list)
    written: bool = False

    @property
    def rejected_lines(self) -> int:
        return len({e.line for e in self.rejected})


class ImportFailed(ValidationFailed):
    """Raised when rows are rejected and nothing may be written; the caller's transaction rolls back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"{report.rejected_lines} row(s) of the {report.kind} file were rejected; nothing imported"
        )
        self.report = report


class CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class RowProblems(Exception):
    """Every problem found in one row, so the user fixes a row in one pass, not one error per run."""

    def __init__(self, problems: list[CellError]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class Checks:
    """Runs a row's checks and keeps every failure; ``settle`` raises them together. Checks whose result
    later checks depend on come first, then ``settle``, then the checks that use them."""

    def __init__(self) -> None:
        self.problems: list[CellError] = []

    def __call__(self, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except CellError as exc:
            self.problems.append(exc)
            return None

    def fail(self, column: str, message: str) -> None:
        self.problems.append(CellError(column, message))

    def settle(self) -> None:
        if self.problems:
            raise RowProblems(self.problems)


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]

    def present(self, column: str) -> bool:
        """Whether the file has this column at all: an absent column leaves the stored value alone,
        while an empty cell in a present column clears it."""
        return column in self.cells

    def text(self, column: str, *, required: bool = False) -> str | None:
        value = (self.cells.get(column) or "").strip()
        if not value:
            if required:
                raise CellError(column, "is required")
            return None
        return value

    def required(self, column: str) -> str:
        value = self.text(column, required=True)
        assert value is not None
        return value

    def whole(self, column: str, *, required: bool = False, minimum: int = 0) -> int | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            number = int(value.replace(",", ""))
        except ValueError:
            raise CellError(column, f"{value!r} is not a whole number") from None
        if number < minimum:
            raise CellError(column, f"cannot be below {minimum}")
        return number

    def day(self, column: str, *, required: bool = False) -> date | None:
        value = self.text(column, required=required)
        return None if value is None else parse_date(column, value)

    def cents(self, column: str, *, required: bool = False) -> int | None:
        """A currency amount such as ``$1,234.56`` or ``1234.5`` as integer cents (half-up)."""
        value = self.text(column, required=required)
        if value is None:
            return None
        cleaned = re.sub(r"[\s$€£,]", "", value)
        negative = cleaned.startswith("(") and cleaned.endswith(")")
        try:
            amount = Decimal(cleaned.strip("()"))
        except InvalidOperation:
            raise CellError(column, f"{value!r} is not an amount of money") from None
        if negative:
            amount = -amount
        return int((amount * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))

    def percent(self, column: str, *, required: bool = False) -> Decimal | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            number = Decimal(value.rstrip("%").strip())
        except InvalidOperation:
            raise CellError(column, f"{value!r} is not a percentage") from None
        if not Decimal(0) <= number <= Decimal(100):
            raise CellError(column, "must be between 0 and 100")
        return number


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d-%b-%Y", "%Y/%m/%d")


def parse_date(column: str, value: str) -> date:
    """ISO dates and the US ``M/D/YYYY`` that Salesforce reports export."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise CellError(column, f"{value!r} is not a date (use YYYY-MM-DD or M/D/YYYY)")


def read_rows(text: str, required: list[str]) -> tuple[list[Row], list[RowError]]:
    """The data rows with their line numbers, or the header problems (reported on line 1). Columns other
    than the ones an import reads are ignored, as CRM reports often carry extra ones."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], [RowError(1, None, "the file is empty")]
    except csv.Error as exc:
        return [], [RowError(1, None, f"not readable as CSV: {exc}")]
    errors = [RowError(1, name, "required column is missing") for name in required if name not in header]
    duplicates = {h for h in header if header.count(h) > 1}
    errors += [RowError(1, name, "column appears more than once") for name in sorted(duplicates)]
    if errors:
        return [], errors
    rows: list[Row] = []
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. text after a closing quote: nothing after it can be trusted
            errors.append(RowError(line + 1, None, f"not readable as CSV: {exc}"))
            break
        first_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            errors.append(
                RowError(first_line, None, f"has {len(record)} cells, the header has {len(header)}")
            )
            continue
        rows.append(Row(first_line, dict(zip(header, record, strict=True))))
    return rows, errors


def check_rows(rows: list[Row], check: Callable[[Row], T]) -> tuple[list[T], list[RowError]]:
    """Run one row check over every row, turning cell and domain errors into row errors."""
    good: list[T] = []
    errors: list[RowError] = []
    for row in rows:
        try:
            good.append(check(row))
        except RowProblems as exc:
            errors.extend(RowError(row.line, p.column, p.message) for p in exc.problems)
        except CellError as exc:
            errors.append(RowError(row.line, exc.column, exc.message))
        except ValidationFailed as exc:
            errors.append(RowError(row.line, exc.field, exc.message))
    return good, errors
