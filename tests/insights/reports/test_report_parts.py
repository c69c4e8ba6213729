"""The report's pure parts: choosing KPIs, the default week, and which way a change counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.insights.reports import display
from opsdesk.insights.reports.weekly import Figure, KpiChoice, Line, last_full_week, monday_of, parse_kpis


def test_kpi_choices() -> None:
    assert parse_kpis(["first_reply_time", "aht:p90", "csat", "csat"]) == (
        KpiChoice("first_reply_time", "median_s"),
        KpiChoice("aht", "p90_s"),
        KpiChoice("csat", "value"),
    )
    for bad, words in (
        ("nps_score", "unknown metric"),
        ("csat:median", "takes no statistic"),
        ("aht:max", "statistic must be one of"),
    ):
        with pytest.raises(ValidationFailed, match=words):
            parse_kpis([bad])
    with pytest.raises(ValidationFailed):
        parse_kpis([])


def test_weeks_run_monday_to_sunday_and_the_default_is_the_last_full_one() -> None:
    assert monday_of(date(2026, 3, 15)) == date(2026, 3, 9)  # a Sunday
    assert monday_of(date(2026, 3, 9)) == date(2026, 3, 9)
    assert last_full_week(datetime(2026, 3, 9, 0, 30, tzinfo=UTC)) == date(2026, 3, 2)
    assert last_full_week(datetime(2026, 3, 15, 23, 59, tzinfo=UTC)) == date(2026, 3, 2)  # still running


def test_which_way_is_better() -> None:
    def figure(metric: str, stat: str, current: float | None, previous: float | None) -> Figure:
        return Figure(Line(KpiChoice(metric, stat)), current, previous, 1, 1)

    assert figure("first_reply_time", "median_s", 600, 1200).improved is True
    assert figure("csat", "value", 0.8, 0.9).improved is False
    assert figure("reopen_rate", "value", 0.1, 0.05).improved is False
    assert figure("tickets_created", "value", 10, 5).improved is None  # demand is no verdict
    assert figure("csat", "value", 0.9, 0.9).improved is None
    assert figure("csat", "value", 0.9, None).change is None
    assert display.change(figure("first_reply_time", "median_s", 600, 7800)) == "-2.00 h"
    assert display.change(figure("csat", "value", 0.75, 0.8)) == "-5.0 pp"
    assert display.number(KpiChoice("aht", "mean_s").kind, 59.0) == "1.0 min"
