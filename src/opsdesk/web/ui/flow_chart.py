"""The directly-follows graph drawn on the server as SVG: activities listed top to bottom in the order
cases pass through them, each edge an arc (forward arcs on the right, steps back on the left) as thick
as it is frequent, with its count and median wait on hover and in the table under it. No script and
nothing fetched from elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from opsdesk.web.ui.render import _duration

ROW = 40
BOX_WIDTH = 220
BOX_HEIGHT = 26
LEFT = 170  # room for the arcs going back
MAX_EDGES = 40


def flow_graph(order: Sequence[str], edges: Sequence[Mapping[str, Any]], *, width: int = 760) -> Markup:
    """The most frequent ``MAX_EDGES`` edges between the activities in ``order``."""
    if not order or not edges:
        return Markup('<p class="muted">No events match these filters.</p>')
    shown = sorted(edges, key=lambda e: -int(e["count"]))[:MAX_EDGES]
    row = {name: index for index, name in enumerate(order)}
    top = max(int(e["count"]) for e in shown)
    height = 20 + ROW * len(order)
    right = LEFT + BOX_WIDTH
    parts = [
        f'<svg class="chart flow" viewBox="0 0 {width} {height}" role="img" data-testid="flow-graph" '
        f'aria-label="Directly-follows graph of {len(order)} activities">'
    ]
    for edge in shown:
        source, target = row[edge["source"]], row[edge["target"]]
        y1, y2 = _middle(source), _middle(target)
        stroke = 1.0 + 7.0 * int(edge["count"]) / top
        reach = 18 + 16 * abs(target - source)
        if source == target:
            path = f"M{right},{y1 - 6} C{right + 40},{y1 - 24} {right + 40},{y1 + 24} {right},{y1 + 6}"
        elif target > source:
            bend = min(right + reach, width - 4)
            path = f"M{right},{y1} C{bend},{y1} {bend},{y2} {right},{y2}"
        else:
            bend = max(LEFT - reach, 4)
            path = f"M{LEFT},{y1} C{bend},{y1} {bend},{y2} {LEFT},{y2}"
        label = (
            f"{edge['source']} → {edge['target']}: {int(edge['count']):,} times, "
            f"median wait {_duration(edge['median_s'])}, mean {_duration(edge['mean_s'])}"
        )
        parts.append(
            f'<path class="flow-edge{" back" if target < source else ""}" d="{path}" '
            f'stroke-width="{stroke:.1f}" fill="none" data-count="{int(edge["count"])}">'
            f"<title>{escape(label)}</title></path>"
        )
    for name, index in row.items():
        y = _middle(index) - BOX_HEIGHT / 2
        parts.append(
            f'<g class="flow-node" data-activity="{escape(name)}">'
            f'<rect x="{LEFT}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="5"></rect>'
            f'<text x="{LEFT + BOX_WIDTH / 2}" y="{y + 17}" '
            f'text-anchor="middle">{escape(_short(name))}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _middle(index: int) -> float:
    return 10 + ROW * index + ROW / 2


def _short(name: str, limit: int = 32) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
