"""A panel: one chart's numbers, as a table. The page draws the chart from these rows, shows them on
a click, and the downloads write exactly them, so what is drawn, shown and downloaded cannot differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChartKind = Literal["bars", "stacked", "lines", "waterfall", "table"]
Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    unit: Literal["", "count", "rate", "cents", "score", "hours"] = ""
    missing: str = ""
    """What an empty cell says on the page (downloads leave it empty)."""


@dataclass
class Panel:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    chart: ChartKind = "bars"
    x: str = ""
    """The column the chart's axis runs along (its labels); the other numeric columns are series."""
    series: list[str] = field(default_factory=list)
    note: str = ""

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def values(self, name: str) -> list[Cell]:
        index = self.column_names().index(name)
        return [row[index] for row in self.rows]

    def as_dicts(self) -> list[dict[str, Any]]:
        names = self.column_names()
        return [dict(zip(names, row, strict=True)) for row in self.rows]


def ratio(part: Any) -> float | None:
    """A Fraction-like (numerator/denominator) or number as a plain rate rounded for display tables."""
    value = getattr(part, "value", part)
    return None if value is None else round(float(value), 4)
