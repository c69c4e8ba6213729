"""The weekly report as an HTML email body (a Jinja2 template with inline styles, which mail clients
keep) and as plain text for the alternative part."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from opsdesk.insights.reports import display
from opsdesk.insights.reports.weekly import WeeklyReport

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["display"] = display


def render_html(report: WeeklyReport) -> str:
    return _env.get_template("weekly.html").render(report=report)


def render_text(report: WeeklyReport) -> str:
    lines = [f"Weekly report {report.iso_week}: {report.week} to {report.week_end}", ""]
    for f in report.figures:
        kind = f.line.choice.kind
        lines.append(
            f"{display.label(f.line)}: {display.number(kind, f.current)} "
            f"(previous week {display.number(kind, f.previous)}, change {display.change(f)}"
            + (f", {display.trend(f)}" if display.trend(f) else "")
            + (f", target {display.band(f)}: {display.target_status(f)}" if f.band else "")
            + ")"
        )
    if report.movers:
        lines += ["", "Biggest movers"]
        for m in report.movers:
            kind = m.figure.line.choice.kind
            lines.append(
                f"{display.label(m.figure.line)}, {m.dimension} {m.group}: "
                f"{display.number(kind, m.figure.previous)} -> {display.number(kind, m.figure.current)} "
                f"({display.change(m.figure)})"
            )
    return "\n".join(lines) + "\n"
