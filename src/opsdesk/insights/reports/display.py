"""How the report writes its numbers, the same in HTML, text and PDF: counts whole, durations in minutes
under an hour and in hours above, rates as percentages and their changes in percentage points."""

from __future__ import annotations

from opsdesk.insights.kpis.catalogue import Kind
from opsdesk.insights.reports.weekly import Figure, Line

MISSING = "n/a"

LABELS = {
    "tickets_created": "Tickets created",
    "tickets_solved": "Tickets solved",
    "first_reply_time": "First reply time",
    "next_reply_time": "Next reply time",
    "first_resolution_time": "First resolution time",
    "full_resolution_time": "Full resolution time",
    "sla_attainment": "SLA attainment",
    "csat": "CSAT",
    "reopen_rate": "Reopen rate",
    "one_touch_rate": "One-touch rate",
    "escalation_rate": "Escalation rate",
    "backlog": "Backlog",
    "aht": "Average handle time",
}


def label(line: Line) -> str:
    """``First reply time (median)``, ``SLA attainment (first_reply)``, ``Tickets created``."""
    name = LABELS.get(line.choice.metric, line.choice.metric)
    extra = line.target or (line.choice.stat.removesuffix("_s") if line.choice.stat != "value" else "")
    return f"{name} ({extra})" if extra else name


def number(kind: Kind, value: float | None) -> str:
    if value is None:
        return MISSING
    if kind is Kind.COUNT:
        return f"{value:.0f}"
    if kind is Kind.RATE:
        return f"{value * 100:.1f}%"
    return duration(value)


def duration(seconds: float) -> str:
    if abs(seconds) < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def change(figure: Figure) -> str:
    delta = figure.change
    if delta is None:
        return MISSING
    kind = figure.line.choice.kind
    if kind is Kind.COUNT:
        return f"{delta:+.0f}"
    if kind is Kind.RATE:
        return f"{delta * 100:+.1f} pp"
    return ("+" if delta >= 0 else "-") + duration(abs(delta))


def trend(figure: Figure) -> str:
    """A word for the colour-blind and for plain text: better, worse or blank."""
    improved = figure.improved
    return "" if improved is None else ("better" if improved else "worse")


def band(figure: Figure) -> str:
    """The target as a reader says it: ``>= 80.0%``, ``<= 1.00 h``, ``90.0% to 95.0%``; blank if none."""
    if figure.band is None:
        return ""
    kind = figure.line.choice.kind
    low, high = figure.band
    if low is not None and high is not None:
        return f"{number(kind, low)} to {number(kind, high)}"
    return f">= {number(kind, low)}" if low is not None else f"<= {number(kind, high)}"


def target_status(figure: Figure) -> str:
    on = figure.on_target
    return "" if on is None else ("on target" if on else "off target")
