"""The pure axis logic of the SVG charts: round gridlines and month labels that never overlap."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from opsdesk.web.ui.charts import (
    CHAR_WIDTH,
    LABEL_GAP,
    label_stride,
    line_chart,
    nice_ticks,
    stacked_bars,
    tick_label,
)


@pytest.mark.parametrize(
    ("top", "integer", "ticks"),
    [
        (7, True, [0, 2, 4, 6, 8]),  # was 0, 1.75, 3.5, 5.25, 7 printed as 0, 2, 4, 5, 7
        (8, True, [0, 2, 4, 6, 8]),
        (9, True, [0, 5, 10]),
        (3, True, [0, 1, 2, 3]),
        (1, True, [0, 1]),
        (0, True, [0, 1]),
        (100, False, [0, 25, 50, 75, 100]),
        (117, False, [0, 50, 100, 150]),
        (0.93, False, [0, 0.25, 0.5, 0.75, 1]),
        (1234, True, [0, 500, 1000, 1500]),
        (92_300_000, False, [0, 25e6, 50e6, 75e6, 100e6]),
    ],
)
def test_nice_ticks_are_round_evenly_spaced_and_cover_the_data(
    top: float, integer: bool, ticks: list[float]
) -> None:
    got = nice_ticks(top, integer=integer)
    assert got == ticks
    assert got[0] == 0 and got[-1] >= top
    steps = {round(b - a, 9) for a, b in pairwise(got)}
    assert len(steps) == 1
    if integer:
        assert all(float(t).is_integer() for t in got)


@pytest.mark.parametrize("top", [0.3, 1.7, 7, 13, 48, 99, 101, 640, 2_750, 1e9])
def test_nice_ticks_stay_between_three_and_seven(top: float) -> None:
    assert 2 <= len(nice_ticks(top)) - 1 <= 6
    assert 2 <= len(nice_ticks(top, integer=True)) - 1 <= 6 or top < 2


def test_tick_labels_read_as_plain_numbers() -> None:
    assert [tick_label(v) for v in (0, 2.5, 1500, 0.25, 1e8)] == ["0", "2.5", "1,500", "0.25", "100,000,000"]


def test_label_stride_thins_labels_evenly_until_neighbours_clear() -> None:
    months = [f"{m} 25" for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct")] * 3
    wide = [i * 100.0 for i in range(len(months))]
    assert label_stride(wide, months) == 1
    tight = [i * 20.0 for i in range(len(months))]
    stride = label_stride(tight, months)
    assert stride == 3  # 6 characters * 6.6 + 8 = 47.6 apart: every 3rd of 20 apart
    assert stride * 20.0 >= 6 * CHAR_WIDTH + LABEL_GAP > (stride - 1) * 20.0
    assert label_stride([0.0], ["Jan"]) == 1


def _label_boxes(svg: str, height: int) -> list[tuple[float, float]]:
    boxes = []
    for x, text in re.findall(
        rf'<text x="([0-9.]+)" y="{height - 8}" text-anchor="middle">([^<]+)</text>', svg
    ):
        half = len(text) * CHAR_WIDTH / 2
        boxes.append((float(x) - half, float(x) + half))
    return boxes


def test_month_labels_of_the_charts_do_not_overlap_and_stay_inside() -> None:
    months = [
        f"{m} {y}"
        for y in (24, 25)
        for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    ]
    for svg, height in (
        (line_chart({"engaged": [float(i) for i in range(24)]}, months), 240),
        (stacked_bars({"hires": [1.0] * 24}, [f"{m} 2027" for m in months]), 220),
        (stacked_bars({"created": [3.0] * 90}, [f"{d:02d} Mar" for d in range(90)]), 220),
    ):
        boxes = _label_boxes(str(svg), height)
        assert len(boxes) >= 4
        assert all(right + LABEL_GAP <= nxt for (_l, right), (nxt, _r) in pairwise(boxes))
        assert boxes[0][0] >= 0 and boxes[-1][1] <= 760


def test_the_value_axis_of_a_chart_shows_the_nice_ticks() -> None:
    svg = str(stacked_bars({"solved": [7.0, 3.0, 5.0]}, ["01 Mar", "02 Mar", "03 Mar"]))
    values = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert values == ["0", "2", "4", "6", "8"]
