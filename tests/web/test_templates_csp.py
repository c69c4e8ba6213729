"""Pages will run under a strict Content-Security-Policy (script-src 'self', style-src 'self'): no
template or server-built markup may carry an inline script, a style attribute or an event handler."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsdesk.web.ui import charts

TEMPLATES = sorted((Path(charts.__file__).parent / "templates").rglob("*.html"))
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on*= event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_has_inline_script_or_style(template: Path) -> None:
    text = template.read_text()
    for pattern, what in INLINE:
        assert not pattern.search(text), f"{template.name} has {what}"


def test_charts_and_heatmap_cells_need_no_inline_style() -> None:
    markup = "".join(
        str(m)
        for m in (
            charts.stacked_bars({"a": [1.0, 2.0]}, ["x", "y"]),
            charts.line_chart(
                {"a": [1.0, None, 2.0]}, ["x", "", "z"], band=([0.5, None, 1.0], [1.5, None, 3.0])
            ),
            charts.waterfall([("start", 10.0), ("up", 2.0), ("end", 12.0)]),
        )
    )
    assert not re.search(r"\sstyle\s*=", markup)
    assert charts.heat_class(1.4, low=0.6, mid=1.0, high=1.4) == "heat-g5"
    assert charts.heat_class(0.6, low=0.6, mid=1.0, high=1.4) == "heat-r5"
    assert charts.heat_class(None, low=0.6, mid=1.0, high=1.4) == ""
