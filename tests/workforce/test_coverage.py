"""Follow-the-sun split: whole agents that add up to the requirement, by open site, capacity and mix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.workforce.coverage import largest_remainder, split_interval, split_requirement
from opsdesk.workforce.sites import load_sites, parse_sites

EXAMPLE = load_sites(Path(__file__).resolve().parents[2] / "examples" / "sites.yaml")
ALL_DAY = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def site(name: str, headcount: int, languages: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": "UTC",
        "opening_hours": ALL_DAY,
        "languages": languages,
        "skills": ["L1"],
        "headcount": headcount,
    } | extra


def test_largest_remainder_adds_up_and_follows_the_weights() -> None:
    assert largest_remainder(10, [3, 1]) == [8, 2]  # 7.5 and 2.5: the tie goes to the first
    assert largest_remainder(7, [1, 1, 1]) == [3, 2, 2]
    assert largest_remainder(0, [1, 2]) == [0, 0]
    assert largest_remainder(5, [0, 0]) == [0, 0]


def test_open_sites_share_in_proportion_to_headcount() -> None:
    config = parse_sites({"sites": [site("A", 30, ["en"]), site("B", 10, ["en"])]})
    served, unserved = split_interval(8, datetime(2027, 2, 1, tzinfo=UTC), config.sites, config.demand_mix)
    assert served == {("A", 0): 6, ("B", 0): 2}
    assert unserved == {}


def test_closed_site_gets_nothing() -> None:
    closed_weekends = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    config = parse_sites(
        {"sites": [site("A", 30, ["en"]), site("B", 10, ["en"], opening_hours=closed_weekends)]}
    )
    saturday = datetime(2027, 2, 6, 12, tzinfo=UTC)
    served, _ = split_interval(8, saturday, config.sites, config.demand_mix)
    assert served == {("A", 0): 8}


def test_language_share_goes_only_to_sites_with_the_language() -> None:
    config = parse_sites(
        {
            "demand_mix": [{"language": "en", "share": 0.75}, {"language": "es", "share": 0.25}],
            "sites": [site("A", 10, ["en"]), site("B", 10, ["en", "es"])],
        }
    )
    served, unserved = split_interval(8, datetime(2027, 2, 1, tzinfo=UTC), config.sites, config.demand_mix)
    # English: 6 split 5:5 by capacity -> 3 and 3; Spanish: 2, all to B.
    assert served == {("A", 0): 3, ("B", 0): 3, ("B", 1): 2}
    assert unserved == {}


def test_work_no_open_site_can_take_is_unserved_not_dropped() -> None:
    es_office_hours = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    config = parse_sites(
        {
            "demand_mix": [{"language": "en", "share": 0.5}, {"language": "es", "share": 0.5}],
            "sites": [site("A", 10, ["en"]), site("B", 10, ["es"], opening_hours=es_office_hours)],
        }
    )
    night = datetime(2027, 2, 1, 2, tzinfo=UTC)
    served, unserved = split_interval(6, night, config.sites, config.demand_mix)
    assert served == {("A", 0): 3}
    assert unserved == {1: 3}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=7 * 48 - 1),
)
def test_split_adds_up_to_the_requirement_in_every_interval(values: list[int], offset: int) -> None:
    start = datetime(2027, 2, 1, tzinfo=UTC) + offset * timedelta(minutes=30)
    requirement = pd.Series(values, index=pd.date_range(start, periods=len(values), freq="30min"))
    split = split_requirement(requirement, EXAMPLE.sites, EXAMPLE.demand_mix)
    served = split.required.groupby("timestamp")["required"].sum()
    lost = split.unserved.groupby("timestamp")["required"].sum()
    total = served.add(lost, fill_value=0).reindex(requirement.index, fill_value=0)
    assert total.tolist() == values
    assert (split.required["required"] > 0).all()
    # Nobody is sent to a closed site.
    for row in split.required.itertuples():
        assert EXAMPLE.site(row.site).is_open(row.timestamp)


def test_spanish_work_of_the_example_goes_to_spanish_speaking_teams() -> None:
    week = pd.date_range(datetime(2027, 2, 1, tzinfo=UTC), periods=7 * 48, freq="30min")
    split = split_requirement(pd.Series(20, index=week), EXAMPLE.sites, EXAMPLE.demand_mix)
    spanish = split.required[split.required["language"] == "es"]
    assert set(spanish["site"]) <= {"Chicago", "San Francisco", "Dublin"}
    assert spanish["required"].sum() > 0
    # At 06:00 UTC (22:00 in the US West, 06:00 in Dublin) only Manila is open, and it has no Spanish.
    at_six = pd.Timestamp("2027-02-02T06:00Z")
    assert set(split.required[split.required["timestamp"] == at_six]["site"]) == {"Manila"}
    lost = split.unserved[split.unserved["timestamp"] == at_six]
    assert lost["language"].tolist() == ["es"]
    assert lost["required"].tolist() == [2]  # 10% of 20
