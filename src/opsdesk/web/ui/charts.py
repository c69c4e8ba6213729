"""Small server-side SVG charts: readable without JavaScript and without any CDN."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

PALETTE = ["#2456c9", "#e08a00", "#2e7d32", "#8e24aa", "#c62828", "#00838f"]


def stacked_bars(
    series: dict[str, list[float]], labels: list[str], *, width: int = 760, height: int = 220, title: str = ""
) -> Markup:
    """Stacked columns, one per label, with a legend; labels are thinned to stay legible."""
    count = len(labels)
    if count == 0 or not series:
        return Markup('<p class="muted">No data yet.</p>')
    totals = [sum(values[i] for values in series.values()) for i in range(count)]
    top = max(max(totals), 1.0)
    left, bottom, right, header = 40, 28, 10, 24
    plot_w, plot_h = width - left - right, height - bottom - header
    step = plot_w / count
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for k in range(5):
        value = top * k / 4
        y = header + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f4"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    base = [0.0] * count
    for colour, (name, values) in zip(PALETTE * 3, series.items(), strict=False):
        for i, value in enumerate(values):
            if value <= 0:
                continue
            h = plot_h * value / top
            y = header + plot_h - plot_h * base[i] / top - h
            parts.append(
                f'<rect x="{left + i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(labels[i])} {escape(name)}: {value:,.0f}</title></rect>"
            )
            base[i] += value
    every = max(1, count // 10)
    for i in range(0, count, every):
        x = left + i * step + step / 2
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{escape(labels[i])}</text>')
    x = left
    for colour, name in zip(PALETTE * 3, series, strict=False):
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15">{escape(name)}</text>')
        x += 16 + 8 * len(name) + 10
    parts.append("</svg>")
    return Markup("".join(parts))
