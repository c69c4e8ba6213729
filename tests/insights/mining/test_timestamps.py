"""Every timestamp format the miner promises, and the row it names when one cannot be read."""

from __future__ import annotations

import pandas as pd
import pytest

from opsdesk.insights.mining.timestamps import TimestampError, parse_timestamps


def utc(values: list[str], *, dayfirst: bool = False) -> list[str]:
    stamps = pd.to_datetime(parse_timestamps(pd.Series(values), dayfirst=dayfirst))
    return [stamp.isoformat() for stamp in stamps]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-03-31T15:59:42+01:00", "2010-03-31T14:59:42"),
        ("2010-03-31T15:59:42-0500", "2010-03-31T20:59:42"),
        ("2010-03-31T15:59:42Z", "2010-03-31T15:59:42"),
        ("2010-03-31T15:59:42.250+00:00", "2010-03-31T15:59:42.250000"),
        ("2010-03-31T15:59:42", "2010-03-31T15:59:42"),
        ("2010-03-31 15:59", "2010-03-31T15:59:00"),
        ("2013/05/02 10:11:12.345", "2013-05-02T10:11:12.345000"),
        ("2013/05/02 10:11:12", "2013-05-02T10:11:12"),
    ],
)
def test_iso_and_year_first_formats(text: str, expected: str) -> None:
    assert utc([text]) == [expected]


def test_day_first_dates_with_dayfirst_and_month_first_without() -> None:
    assert utc(["2/5/2013 10:11", "25/12/2013 08:00"], dayfirst=True) == [
        "2013-05-02T10:11:00",
        "2013-12-25T08:00:00",
    ]
    assert utc(["2/5/2013 10:11", "12/25/2013 8:00 PM"]) == ["2013-02-05T10:11:00", "2013-12-25T20:00:00"]


def test_a_value_without_offset_is_utc_even_after_one_with_an_offset() -> None:
    """pandas alone would give the naive value the previous value's offset."""
    assert utc(["2010-03-31T15:59:42+01:00", "2010-03-31 15:59:42", "2010-03-31T15:59:42+02:00"]) == [
        "2010-03-31T14:59:42",
        "2010-03-31T15:59:42",
        "2010-03-31T13:59:42",
    ]


def test_mixed_formats_in_one_column_each_read_by_their_own_format() -> None:
    assert utc(["2013-05-02T10:00:00Z", "2013/05/02 11:00:00.5", "3/5/2013 12:00"], dayfirst=True) == [
        "2013-05-02T10:00:00",
        "2013-05-02T11:00:00.500000",
        "2013-05-03T12:00:00",
    ]


def test_the_first_unreadable_row_is_named() -> None:
    with pytest.raises(TimestampError) as caught:
        parse_timestamps(pd.Series(["2013-05-02T10:00:00Z", "2013-05-02", "yesterday", "later"]))
    assert (caught.value.row, caught.value.value) == (2, "yesterday")


def test_a_day_first_date_without_dayfirst_past_the_twelfth_is_refused() -> None:
    with pytest.raises(TimestampError) as caught:
        parse_timestamps(pd.Series(["25/12/2013 08:00"]))
    assert caught.value.row == 0
