"""Small server-side SVG charts: readable without JavaScript and without any CDN."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from itertools import pairwise

from markupsafe import Markup

PALETTE = ["#2456c9", "#e08a00", "#2e7d32", "#8e24aa", "#c62828", "#00838f"]
# Axis text is 11 px (app.css); an average character of it is about 0.6 of that wide. Charts scale as a
# whole (text too), so widths in viewBox units hold at any screen width.
CHAR_WIDTH = 6.6
LABEL_GAP = 8.0


def nice_ticks(top: float, *, count: int = 5, integer: bool = False) -> list[float]:
    """Gridline values from 0 up to at least ``top`` in round steps (1, 2, 2.5 or 5 times a power of
    ten; 2.5 only when fractions are allowed), about ``count`` of them: 0, 2, 4, 6, 8 for a top of 7,
    never 0, 1.75, 3.5, 5.25, 7 printed as 0, 2, 4, 5, 7. ``integer`` keeps steps whole (counts)."""
    if not top > 0 or math.isinf(top):
        return [0.0, 1.0]
    raw = top / max(count - 1, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    multiples = (1.0, 2.0, 5.0, 10.0) if integer else (1.0, 2.0, 2.5, 5.0, 10.0)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw * (1 - 1e-9))
    if integer:
        step = max(1.0, round(step))
    intervals = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(intervals + 1)]


def tick_label(value: float) -> str:
    """A gridline value as it reads on the axis: 1,500 and 2.5, never 2.5000000001 or 1.5e+03."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.10g}"


def label_stride(positions: Sequence[float], labels: Sequence[str]) -> int:
    """The smallest k so that every k-th label, centred on its position, clears its neighbours: the
    labels thinned evenly to fit the axis instead of printed over each other."""
    if len(positions) < 2:
        return 1
    widest = max(len(label) for label in labels) * CHAR_WIDTH + LABEL_GAP
    for stride in range(1, len(positions)):
        kept = positions[::stride]
        if all(b - a >= widest for a, b in pairwise(kept)):
            return stride
    return len(positions)


def stacked_bars(
    series: dict[str, list[float]], labels: list[str], *, width: int = 760, height: int = 220, title: str = ""
) -> Markup:
    """Stacked columns, one per label, with a legend; labels are thinned to stay legible."""
    count = len(labels)
    if count == 0 or not series:
        return Markup('<p class="muted">No data yet.</p>')
    totals = [sum(values[i] for values in series.values()) for i in range(count)]
    integer = all(float(v).is_integer() for values in series.values() for v in values)
    ticks = nice_ticks(max(totals), integer=integer)
    top = ticks[-1]
    left, bottom, right, header = 40, 28, 10, 24
    plot_w, plot_h = width - left - right, height - bottom - header
    step = plot_w / count
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for value in ticks:
        y = header + plot_h - plot_h * value / top
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f4"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick_label(value)}</text>')
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
    centres = [left + i * step + step / 2 for i in range(count)]
    for i in range(0, count, label_stride(centres, labels)):
        x = centres[i]
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{escape(labels[i])}</text>')
    x = left
    for colour, name in zip(PALETTE * 3, series, strict=False):
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15">{escape(name)}</text>')
        x += 16 + 8 * len(name) + 10
    parts.append("</svg>")
    return Markup("".join(parts))


def _segments(values: Sequence[float | None]) -> list[list[int]]:
    """Runs of consecutive indexes that have a value (a gap in the data breaks a line)."""
    runs: list[list[int]] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def line_chart(
    series: Mapping[str, Sequence[float | None]],
    labels: list[str],
    *,
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
    band_name: str = "80% interval",
    markers: list[tuple[int, str]] | None = None,
    dashed: frozenset[str] = frozenset(),
    width: int = 760,
    height: int = 240,
    title: str = "",
) -> Markup:
    """Lines over a shared x axis (None leaves a gap), with an optional shaded band (e.g. a forecast's
    prediction interval) and labelled vertical markers (e.g. "now"). Only non-empty labels are drawn,
    thinned evenly until they no longer overlap."""
    count = len(labels)
    if count == 0 or not series:
        return Markup('<p class="muted">No data yet.</p>')
    present = [v for values in series.values() for v in values if v is not None]
    if band is not None:
        present += [v for v in band[1] if v is not None]
    ticks = nice_ticks(max(present, default=0.0))
    top = ticks[-1]
    left, bottom, right, header = 44, 28, 12, 26
    plot_w, plot_h = width - left - right, height - bottom - header
    step = plot_w / max(count - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(value: float) -> float:
        return header + plot_h - plot_h * value / top

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for value in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#eef0f4"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y(value) + 4:.1f}" text-anchor="end">{tick_label(value)}</text>'
        )
    legend: list[tuple[str, str, str]] = []  # (kind, colour, name)
    if band is not None:
        low, high = band
        both = [lo if lo is not None and high[i] is not None else None for i, lo in enumerate(low)]
        for run in _segments(both):
            upper = " ".join(f"{x(i):.1f},{y(high[i] or 0.0):.1f}" for i in run)
            lower = " ".join(f"{x(i):.1f},{y(low[i] or 0.0):.1f}" for i in reversed(run))
            parts.append(
                f'<polygon class="band" points="{upper} {lower}" fill="{PALETTE[0]}" fill-opacity="0.15">'
                f"<title>{escape(band_name)}</title></polygon>"
            )
        legend.append(("band", PALETTE[0], band_name))
    # The band takes the first colour, like the first series it belongs to.
    for colour, (name, values) in zip(PALETTE * 3, series.items(), strict=False):
        dash = ' stroke-dasharray="5 3"' if name in dashed else ""
        for run in _segments(values):
            points = " ".join(f"{x(i):.1f},{y(values[i] or 0.0):.1f}" for i in run)
            parts.append(
                f'<polyline class="series" data-series="{escape(name)}" points="{points}" fill="none" '
                f'stroke="{colour}" stroke-width="1.6"{dash}><title>{escape(name)}</title></polyline>'
            )
        legend.append(("line", colour, name))
    for index, text in markers or []:
        if 0 <= index < count:
            parts.append(
                f'<line class="marker" x1="{x(index):.1f}" x2="{x(index):.1f}" y1="{header}" '
                f'y2="{header + plot_h}" stroke="#5b6475" stroke-dasharray="3 3"/>'
                f'<text x="{x(index) + 3:.1f}" y="{header + 10}">{escape(text)}</text>'
            )
    shown = [i for i, label in enumerate(labels) if label]
    stride = label_stride([x(i) for i in shown], [labels[i] for i in shown]) if shown else 1
    for i in shown[::stride]:
        half = len(labels[i]) * CHAR_WIDTH / 2
        centre = min(max(x(i), half), width - half)  # the ends stay inside the box
        parts.append(
            f'<text x="{centre:.1f}" y="{height - 8}" text-anchor="middle">{escape(labels[i])}</text>'
        )
    cursor = left
    for kind, colour, name in legend:
        if kind == "band":
            parts.append(
                f'<rect x="{cursor}" y="7" width="14" height="9" fill="{colour}" fill-opacity="0.15"/>'
            )
        else:
            dash = ' stroke-dasharray="5 3"' if name in dashed else ""
            parts.append(
                f'<line x1="{cursor}" x2="{cursor + 14}" y1="12" y2="12" stroke="{colour}" '
                f'stroke-width="2"{dash}/>'
            )
        parts.append(f'<text x="{cursor + 18}" y="16">{escape(name)}</text>')
        cursor += 28 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))


def waterfall(
    steps: list[tuple[str, float]], *, width: int = 760, height: int = 260, title: str = "", money: str = "$"
) -> Markup:
    """A bridge: the first and last steps are totals drawn from zero, the ones between float from the
    running total (rises green, falls red)."""
    if len(steps) < 2:
        return Markup('<p class="muted">No data yet.</p>')
    running, bars = 0.0, []
    for index, (name, value) in enumerate(steps):
        if index in (0, len(steps) - 1):
            bars.append((name, 0.0, value, "total"))
            running = value
        else:
            bars.append((name, running, running + value, "up" if value >= 0 else "down"))
            running += value
    ticks = nice_ticks(max(max(a, b) for _n, a, b, _k in bars))
    top = ticks[-1]
    left, bottom, right, header = 70, 30, 10, 12
    plot_w, plot_h = width - left - right, height - bottom - header
    step = plot_w / len(bars)
    colours = {"total": "#2456c9", "up": "#2e7d32", "down": "#c62828"}
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for value in ticks:
        y = header + plot_h - plot_h * value / top
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f4"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_compact(value, money)}</text>'
        )
    for i, (name, a, b, kind) in enumerate(bars):
        lo, hi = min(a, b), max(a, b)
        y = header + plot_h - plot_h * hi / top
        h = max(plot_h * (hi - lo) / top, 1.0)
        x = left + i * step + step * 0.15
        amount = b - a
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="{colours[kind]}">'
            f"<title>{escape(name)}: {money}{amount:,.0f}</title></rect>"
        )
        parts.append(
            f'<text x="{left + i * step + step / 2:.1f}" y="{height - 10}" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _compact(value: float, money: str) -> str:
    """An axis label short enough for the margin: $117M, $58.4k."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{money}{value / size:,.3g}{suffix}"
    return f"{money}{value:,.0f}"


def heat_class(value: float | None, *, low: float, mid: float, high: float) -> str:
    """The class of a heatmap cell (app.css): ``heat-r1``..``heat-r5`` deepening red below ``mid``
    towards ``low``, ``heat-g1``..``heat-g5`` green above it towards ``high``; none without a value. A
    class, not a ``style`` attribute: pages run under CSP style-src 'self'."""
    if value is None or value != value:  # NaN
        return ""
    if value >= mid:
        share = min((value - mid) / max(high - mid, 1e-9), 1.0)
        return f"heat-g{1 + round(share * 4)}"
    share = min((mid - value) / max(mid - low, 1e-9), 1.0)
    return f"heat-r{1 + round(share * 4)}"


def grouped_bars(
    series: Mapping[str, Sequence[float | None]],
    labels: Sequence[str],
    *,
    percent: bool = False,
    legend: Mapping[str, str] | None = None,
    width: int = 760,
    height: int = 240,
    title: str = "",
) -> Markup:
    """Side-by-side columns per label, one colour per series; a missing value draws nothing. Each bar
    carries its label, series and exact value as data attributes, so the numbers drawn can be checked
    against the table and the downloads. ``percent`` reads values 0..1 as percentages on the axis;
    ``legend`` names the series for people."""
    names = dict(legend or {})
    count = len(labels)
    present = [float(v) for values in series.values() for v in values if v is not None]
    if count == 0 or not series or not present:
        return Markup('<p class="muted">No data for this view.</p>')
    scale = 100.0 if percent else 1.0
    ticks = nice_ticks(max(present) * scale, integer=not percent and all(v.is_integer() for v in present))
    top = ticks[-1] or 1.0
    left, bottom, right, header = 48, 28, 10, 24
    plot_w, plot_h = width - left - right, height - bottom - header
    step = plot_w / count
    bar = max((step - 4) / max(len(series), 1), 1.0)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for value in ticks:
        y = header + plot_h - plot_h * value / top
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f4"/>')
        suffix = "%" if percent else ""
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick_label(value)}{suffix}</text>'
        )
    for s, (colour, (name, values)) in enumerate(zip(PALETTE * 3, series.items(), strict=False)):
        for i, present_value in enumerate(values):
            if present_value is None:
                continue
            value = float(present_value)
            h = plot_h * value * scale / top
            shown = f"{value * 100:.1f}%" if percent else f"{value:,.10g}"
            parts.append(
                f'<rect class="bar" x="{left + i * step + 2 + s * bar:.1f}" y="{header + plot_h - h:.1f}" '
                f'width="{max(bar - 1, 1):.1f}" height="{max(h, 0.0):.1f}" fill="{colour}" '
                f'data-label="{escape(str(labels[i]))}" data-series="{escape(name)}" data-value="{value!r}">'
                f"<title>{escape(str(labels[i]))} {escape(names.get(name, name))}: {shown}</title></rect>"
            )
    centres = [left + i * step + step / 2 for i in range(count)]
    texts = [str(label) for label in labels]
    for i in range(0, count, label_stride(centres, texts)):
        parts.append(
            f'<text x="{centres[i]:.1f}" y="{height - 8}" text-anchor="middle">{escape(texts[i])}</text>'
        )
    x = left
    for colour, name in zip(PALETTE * 3, series, strict=False):
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        shown_name = names.get(name, name)
        parts.append(f'<text x="{x + 14}" y="15">{escape(shown_name)}</text>')
        x += 16 + 7 * len(shown_name) + 10
    parts.append("</svg>")
    return Markup("".join(parts))
