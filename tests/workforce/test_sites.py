"""Sites config: the example file, opening hours on the local wall clock, errors naming the key path."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.sites import load_sites, parse_sites

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sites.yaml"


def site(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Chicago",
        "timezone": "America/Chicago",
        "opening_hours": {"mon": ["07:00-19:00"], "tue": ["22:00-06:00"]},
        "languages": ["en", "es"],
        "skills": ["L1", "L2"],
        "headcount": 5,
    }
    return base | overrides


def error_of(data: dict[str, Any]) -> tuple[str | None, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_sites(data)
    return caught.value.field, caught.value.message


def test_example_file_loads_five_follow_the_sun_sites() -> None:
    config = load_sites(EXAMPLE)
    assert [s.name for s in config.sites] == ["Chicago", "Seattle", "San Francisco", "Manila", "Dublin"]
    assert config.site("Manila").timezone == "Asia/Manila"
    # A site without teams is one team holding all its skills, languages and headcount.
    (team,) = config.site("San Francisco").teams
    assert (team.skills, team.languages, team.headcount) == (["L1"], ["en", "es"], 6)
    assert config.site("Chicago").capacity("L1", "es") == 8
    assert config.site("Chicago").capacity("L2", "en") == 4
    assert config.site("Dublin").rules.max_hours_per_week == 39
    assert config.site("Chicago").rules.min_rest_hours == 11


def test_opening_hours_are_local_and_may_run_past_midnight() -> None:
    chicago = parse_sites({"sites": [site()]}).sites[0]
    # Monday 07:00-19:00 CST is 13:00-01:00 UTC.
    assert chicago.is_open(datetime(2027, 2, 1, 13, 0, tzinfo=UTC))
    assert not chicago.is_open(datetime(2027, 2, 1, 12, 59, tzinfo=UTC))
    assert not chicago.is_open(datetime(2027, 2, 2, 1, 0, tzinfo=UTC))
    # Tuesday 22:00 to Wednesday 06:00 local: open at Wednesday 05:59, closed at 06:00.
    assert chicago.is_open(datetime(2027, 2, 3, 11, 59, tzinfo=UTC))
    assert not chicago.is_open(datetime(2027, 2, 3, 12, 0, tzinfo=UTC))
    assert not chicago.is_open(datetime(2027, 2, 2, 18, 0, tzinfo=UTC))  # Tuesday noon: closed


def test_opening_hours_follow_daylight_saving_time() -> None:
    chicago = parse_sites({"sites": [site(opening_hours={"mon": ["07:00-19:00"]})]}).sites[0]
    assert chicago.is_open(datetime(2027, 3, 8, 13, 0, tzinfo=UTC))  # CST: 07:00 local
    assert chicago.is_open(datetime(2027, 3, 15, 13, 0, tzinfo=UTC))  # CDT: 08:00 local
    assert chicago.is_open(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))  # CDT: 07:00 local
    assert not chicago.is_open(datetime(2027, 3, 8, 12, 0, tzinfo=UTC))  # CST: 06:00 local


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d["sites"][0].update(timezone="Mars/Olympus"), "sites[0].timezone", "unknown time zone"),
        (
            lambda d: d["sites"][0].update(opening_hours={"mon": ["7-19"]}),
            "sites[0].opening_hours.mon[0]",
            "time range",
        ),
        (lambda d: d["sites"][0].update(opening_hours={"funday": []}), "sites[0].opening_hours.funday", ""),
        (
            lambda d: d["sites"][0].update(opening_hours={"mon": ["07:00-25:00"]}),
            "sites[0].opening_hours.mon[0]",
            "time of day",
        ),
        (lambda d: d["sites"][0].update(headcount=-1), "sites[0].headcount", "greater than or equal"),
        (lambda d: d["sites"][0].update(colour="red"), "sites[0].colour", "Extra inputs"),
        (
            lambda d: d["sites"][0].update(teams=[{"skills": ["L3"], "languages": ["en"], "headcount": 5}]),
            "sites[0].teams[0].skills",
            "not listed",
        ),
        (
            lambda d: d["sites"][0].update(teams=[{"skills": ["L1"], "languages": ["en"], "headcount": 4}]),
            "sites[0].teams",
            "add up",
        ),
        (
            lambda d: d["sites"][0].update(shifts={"lengths_hours": [8, 20]}),
            "sites[0].shifts.lengths_hours[1]",
            "16",
        ),
        (
            lambda d: d["sites"][0].update(shifts={"lengths_hours": [4], "break_latest_after_hours": 4}),
            "sites[0].shifts.break_latest_after_hours",
            "inside",
        ),
        (
            lambda d: d["sites"][0].update(rules={"max_consecutive_days": 9}),
            "sites[0].rules.max_consecutive_days",
            "",
        ),
        (lambda d: d["sites"].append(copy.deepcopy(d["sites"][0])), "sites[1].name", "twice"),
        (lambda d: d.update(demand_mix=[{"skill": "L1", "share": 0.5}]), "demand_mix", "add up to 1"),
        (lambda d: d.update(demand_mix=[{"language": "fr", "share": 1}]), "demand_mix[0]", "no site"),
        (lambda d: d.update(sites=[]), "sites", "at least 1"),
    ],
)
def test_errors_name_the_key_path(change: Any, field: str, words: str) -> None:
    data: dict[str, Any] = {"sites": [site()]}
    change(data)
    got_field, message = error_of(data)
    assert got_field == field
    assert words in message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text("sites:\n  - name: Chicago\n    timezone: [unclosed\n")
    with pytest.raises(ValidationFailed, match="line"):
        load_sites(path)


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="cannot read"):
        load_sites(tmp_path / "nope.yaml")
