"""An event log as sorted integer arrays: the one shape every mining computation reads.

Cases and activities become integer codes once, events are ordered by case, then time, then input order
(so events of a case with equal timestamps keep the order they came in), and every later step is a
vectorised pass over these arrays — no per-event Python — which is what lets it reach tens of millions
of events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Codes:
    """A column as integer codes per (sorted) event and the labels they stand for; -1 is missing."""

    codes: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class EventLog:
    case: np.ndarray  # case code per event, non-decreasing
    activity: np.ndarray  # activity code per event
    timestamp: np.ndarray  # int64 nanoseconds since the epoch, UTC
    case_labels: np.ndarray
    activity_labels: np.ndarray
    bounds: np.ndarray  # bounds[i]:bounds[i+1] are the events of case i
    attributes: dict[str, Codes] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return int(self.case.shape[0])

    @property
    def cases(self) -> int:
        return int(self.bounds.shape[0] - 1)

    def next_in_case(self) -> np.ndarray:
        """Mask over events 0..n-2: the following event belongs to the same case."""
        result: np.ndarray = self.case[1:] == self.case[:-1]
        return result


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    codes, labels = pd.factorize(values, sort=False, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(labels, dtype=object)


def to_nanoseconds(values: pd.Series | np.ndarray) -> np.ndarray:
    """UTC nanoseconds from datetime64 (naive read as UTC, aware converted) or from integers."""
    import numpy as np
    import pandas as pd

    series = pd.Series(values, copy=False)
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        return np.asarray(series, dtype=np.int64)
    stamps: np.ndarray = pd.DatetimeIndex(series).as_unit("ns").asi8
    missing = stamps == np.iinfo(np.int64).min
    if missing.any():
        raise ValueError(f"missing timestamp at row {int(np.flatnonzero(missing)[0])}")
    return stamps


def event_log(
    frame: pd.DataFrame,
    *,
    case: str,
    activity: str,
    timestamp: str,
    attributes: Sequence[str] = (),
) -> EventLog:
    """Sort and encode ``frame``; rows keep their input order among equal (case, timestamp)."""
    import numpy as np

    case_codes, case_labels = _codes(frame[case].to_numpy())
    activity_codes, activity_labels = _codes(frame[activity].to_numpy())
    missing = (case_codes < 0) | (activity_codes < 0)
    if missing.any():
        raise ValueError(f"missing case or activity at row {int(np.flatnonzero(missing)[0])}")
    stamps = to_nanoseconds(frame[timestamp])
    # Two stable sorts (time, then case) keep the input order among equal (case, time); both are fast
    # on input that is already in time or case order, as exports usually are.
    by_time = np.argsort(stamps, kind="stable")
    order = by_time[np.argsort(case_codes[by_time], kind="stable")]
    sorted_cases = case_codes[order]
    counts = np.bincount(sorted_cases, minlength=len(case_labels))
    bounds = np.zeros(len(case_labels) + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    extra = {}
    for name in attributes:
        codes, labels = _codes(frame[name].to_numpy())
        extra[name] = Codes(codes=codes[order], labels=labels)
    return EventLog(
        case=sorted_cases,
        activity=activity_codes[order],
        timestamp=stamps[order],
        case_labels=case_labels,
        activity_labels=activity_labels,
        bounds=bounds,
        attributes=extra,
    )
