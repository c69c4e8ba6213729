"""The weekly report as a PDF (reportlab), attached to the email or written by ``--pdf``. reportlab is
imported here only, so web workers that never draw a PDF do not load it."""

from __future__ import annotations

import io

from opsdesk.insights.reports import display
from opsdesk.insights.reports.weekly import WeeklyReport

GOOD, BAD, NEUTRAL = "#1a7f37", "#b42318", "#52606d"


def render_pdf(report: WeeklyReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Weekly report {report.iso_week}",
        author="OpsDesk",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=1,  # the same report gives the same bytes (no creation-time stamp or random id)
    )
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("LINEBELOW", (0, 0), (-1, 0), 1, colors.HexColor("#cbd2d9")),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#e4e7eb")),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ]
    )
    story: list[object] = [
        Paragraph(f"Weekly report {report.iso_week}", styles["Title"]),
        Paragraph(
            f"{report.week} to {report.week_end}, against the week of {report.previous_week} (UTC days)",
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
    ]
    data = [["KPI", "This week", "Previous week", "Change", "Target"]]
    style = TableStyle(grid.getCommands())
    for i, f in enumerate(report.figures, start=1):
        kind = f.line.choice.kind
        trend = display.trend(f)
        data.append(
            [
                display.label(f.line),
                display.number(kind, f.current),
                display.number(kind, f.previous),
                display.change(f) + (f" ({trend})" if trend else ""),
                f"{display.band(f)} ({display.target_status(f)})" if f.band else "",
            ]
        )
        shade = NEUTRAL if f.improved is None else (GOOD if f.improved else BAD)
        style.add("TEXTCOLOR", (3, i), (3, i), colors.HexColor(shade))
        if f.on_target is not None:
            style.add("TEXTCOLOR", (4, i), (4, i), colors.HexColor(GOOD if f.on_target else BAD))
    story.append(
        Table(data, colWidths=[52 * mm, 22 * mm, 24 * mm, 36 * mm, 40 * mm], style=style, hAlign="LEFT")
    )
    story += [Spacer(1, 8 * mm), Paragraph("Biggest movers", styles["Heading2"])]
    if report.movers:
        movers = [["KPI", "By", "Group", "This week", "Previous week", "Change"]]
        for m in report.movers:
            kind = m.figure.line.choice.kind
            movers.append(
                [
                    display.label(m.figure.line),
                    m.dimension,
                    m.group,
                    display.number(kind, m.figure.current),
                    display.number(kind, m.figure.previous),
                    display.change(m.figure),
                ]
            )
        movers_style = TableStyle([*grid.getCommands(), ("ALIGN", (1, 0), (2, -1), "LEFT")])
        story.append(
            Table(
                movers,
                colWidths=[55 * mm, 16 * mm, 30 * mm, 22 * mm, 27 * mm, 24 * mm],
                style=movers_style,
                hAlign="LEFT",
                repeatRows=1,
            )
        )
    else:
        story.append(Paragraph("No group moved.", styles["Normal"]))
    story += [
        Spacer(1, 8 * mm),
        Paragraph(
            "Numbers from opsdesk kpi (definitions in the README, KPIs); generated "
            f"{report.generated_at:%Y-%m-%d %H:%M} UTC.",
            styles["Italic"],
        ),
    ]
    doc.build(story)
    return buffer.getvalue()
