"""Agents needed per interval for one queue, from its volume, handle time and targets.

Channel models (all times in seconds, L = interval length):
- phone: Erlang C (M/M/n, callers wait) for the service-level and ASA targets; with a patience
  given, Erlang A (M/M/n+M, callers abandon after an exponential patience of that mean). Service
  level = answered within the threshold / offered (abandons count as missed); ASA = mean wait of
  all offered contacts, zero waits included (under Erlang A abandoners count until they hang up);
  occupancy = answered traffic / agents.
- chat: an agent works `concurrency` sessions at once, so each session costs AHT / concurrency of
  agent time. The queue is modelled as Erlang C (or A) on that effective handle time: traffic
  a = volume * AHT / (concurrency * L) agents, and waits scale with AHT / concurrency.
- email and social (deferred work): no queueing model, only workload. With a response-time target
  R (`answer_within_seconds`), work received in an interval may be carried as backlog: each
  interval's work is spread evenly over the w = max(1, floor(R / L)) intervals that start with it,
  so work received anywhere in an interval is done within R of its arrival (the earliest arrival
  gets exactly R). Required agents = ceil(work due in the interval / (L * max occupancy)). There is
  no backlog before the first interval; work spread past the last interval is not staffed here.
  Service level is 1 by construction; ASA is not modelled (blank).

Exactness: agents is the smallest integer meeting every target. The occupancy cap and shrinkage are
applied in integer arithmetic on the decimal values as written (a float is read as its shortest
repr, so 0.3 means 3/10): scheduled_agents is the smallest n with n * (1 - shrinkage) >= agents,
so 21 agents at 30% shrinkage need 30 scheduled, not the 31 a float ceil(21 / 0.7) gives.
Intervals with zero volume (and, for deferred work, nothing carried) need zero agents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce import erlang
from opsdesk.workforce.channels import Channel

Number = int | float | Decimal | Fraction


def exact(value: Number) -> Fraction:
    """The exact rational a user meant: floats by their shortest repr (0.7 is 7/10, not 0.69999...)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return Fraction(repr(value))
    return Fraction(value)


@dataclass(frozen=True)
class StaffingTargets:
    """Inputs and targets for one queue. Validation errors name the field."""

    channel: Channel
    aht_seconds: Number
    interval_seconds: int
    service_level: Number = 0.8
    answer_within_seconds: Number = 20
    asa_seconds: Number | None = None
    shrinkage: Number = 0
    max_occupancy: Number = 1
    patience_seconds: Number | None = None
    concurrency: int = 1

    def __post_init__(self) -> None:
        def check(ok: bool, field: str, message: str) -> None:
            if not ok:
                raise ValidationFailed(message, field=field)

        for name in ("aht_seconds", "service_level", "answer_within_seconds", "shrinkage", "max_occupancy"):
            value = getattr(self, name)
            check(_finite(value), name, f"{value} is not a finite number")
        for name in ("asa_seconds", "patience_seconds"):
            value = getattr(self, name)
            check(value is None or _finite(value), name, f"{value} is not a finite number")
        check(exact(self.aht_seconds) > 0, "aht_seconds", "the handle time must be positive")
        check(
            int(self.interval_seconds) == self.interval_seconds, "interval_seconds", "must be whole seconds"
        )
        check(self.interval_seconds > 0, "interval_seconds", "the interval length must be positive")
        check(
            0 <= exact(self.shrinkage) < 1,
            "shrinkage",
            "shrinkage must be at least 0 and below 1 (1 would leave nobody available)",
        )
        check(
            0 < exact(self.max_occupancy) <= 1,
            "max_occupancy",
            "maximum occupancy must be above 0 and at most 1",
        )
        check(exact(self.answer_within_seconds) >= 0, "answer_within_seconds", "must not be negative")
        check(
            0 <= exact(self.service_level) < 1,
            "service_level",
            "the service level must be at least 0 and below 1 (random arrivals never allow 100%)",
        )
        check(
            self.asa_seconds is None or exact(self.asa_seconds) > 0,
            "asa_seconds",
            "an ASA target must be positive",
        )
        check(
            self.patience_seconds is None or exact(self.patience_seconds) > 0,
            "patience_seconds",
            "patience must be positive",
        )
        check(self.concurrency >= 1, "concurrency", "concurrency must be at least 1")
        check(
            self.concurrency == 1 or self.channel is Channel.CHAT,
            "concurrency",
            "concurrent sessions apply to chat only",
        )
        if self.channel.deferred:
            check(
                self.patience_seconds is None, "patience_seconds", "patience applies to phone and chat only"
            )
            check(self.asa_seconds is None, "asa_seconds", "an ASA target applies to phone and chat only")
            check(
                exact(self.answer_within_seconds) > 0,
                "answer_within_seconds",
                f"{self.channel.value} needs a positive response-time target",
            )

    @property
    def effective_aht(self) -> Fraction:
        """Agent time per contact: chat sessions share an agent `concurrency` ways."""
        return exact(self.aht_seconds) / self.concurrency


def _finite(value: Number) -> bool:
    return not isinstance(value, float | Decimal) or math.isfinite(value)


def _scaled_integers(values: NDArray[np.float64]) -> tuple[NDArray[Any], int]:
    """Integers k and a common denominator d with values == k / d exactly (values as written)."""
    if values.size == 0 or (np.all(values == np.floor(values)) and float(values.max()) < 2.0**53):
        return values.astype(np.int64), 1
    fractions = [exact(float(v)) for v in values]
    denominator = math.lcm(*(f.denominator for f in fractions))
    scaled = [f.numerator * (denominator // f.denominator) for f in fractions]
    return np.array(scaled, dtype=object), denominator


def _ceil_scaled(numerators: NDArray[Any], denominator: int, factor: Fraction) -> NDArray[np.int64]:
    """ceil(k / d * factor) per element, in integer arithmetic (object ints when int64 could overflow)."""
    top, bottom = factor.numerator, denominator * factor.denominator
    if numerators.dtype != object:
        largest = int(numerators.max()) if numerators.size else 0
        if largest * top < 2**62 and bottom < 2**62:
            return -((-numerators * top) // bottom)
        numerators = numerators.astype(object)
    return np.array(-((-numerators * top) // bottom), dtype=np.int64)


def scheduled_agents(agents: ArrayLike, shrinkage: Number) -> NDArray[np.int64]:
    """Smallest n with n * (1 - shrinkage) >= agents, exactly (no float ceil off-by-one)."""
    available = 1 - exact(shrinkage)
    counts = np.asarray(agents, dtype=np.int64)
    return _ceil_scaled(counts, 1, 1 / available)


def staff_intervals(data: pd.DataFrame | Mapping[str, ArrayLike], targets: StaffingTargets) -> pd.DataFrame:
    """Agents per interval for `data` (columns timestamp and volume or forecast, times increasing).

    Returns timestamp, volume, agents (before shrinkage), scheduled_agents (after), service_level,
    asa_seconds, occupancy, and abandon_rate when a patience is given. See the module docstring for
    the models.
    """
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(dict(data))
    volume_column = "volume" if "volume" in frame.columns else "forecast"
    if "timestamp" not in frame.columns:
        raise ValidationFailed("missing column 'timestamp'", field="timestamp")
    if volume_column not in frame.columns:
        raise ValidationFailed("missing a 'volume' (or 'forecast') column", field="volume")
    volume = np.asarray(frame[volume_column], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(volume) | (volume < 0))
    if bad.size:
        raise ValidationFailed(
            f"row {bad[0] + 1}: volume {volume[bad[0]]} must be a finite number >= 0", field="volume"
        )
    if targets.channel.deferred:
        metrics = _staff_deferred(frame["timestamp"], volume, targets)
    else:
        metrics = _staff_queue(volume, targets)
    out = pd.DataFrame(
        {
            "timestamp": frame["timestamp"].array,
            "volume": volume.copy(),
            "agents": metrics.agents,
            "scheduled_agents": scheduled_agents(metrics.agents, targets.shrinkage),
            "service_level": metrics.service_level,
            "asa_seconds": metrics.asa,
            "occupancy": metrics.occupancy,
        },
        copy=False,
    )
    if targets.patience_seconds is not None:
        out["abandon_rate"] = metrics.abandon_rate
    return out


def _staff_queue(volume: NDArray[np.float64], targets: StaffingTargets) -> erlang.QueueMetrics:
    """Erlang C or A per distinct volume (a year of intervals has few), then spread back to rows."""
    distinct, back = _distinct(volume)
    aht = targets.effective_aht
    traffic = distinct * float(aht) / targets.interval_seconds
    answer_within = float(exact(targets.answer_within_seconds))
    service_level = float(exact(targets.service_level))
    asa = None if targets.asa_seconds is None else float(exact(targets.asa_seconds))
    if targets.patience_seconds is None:
        numerators, denominator = _scaled_integers(distinct)
        occupancy_floor = _ceil_scaled(
            numerators, denominator, aht / (targets.interval_seconds * exact(targets.max_occupancy))
        )
        found = erlang.agents_erlang_c(
            traffic,
            aht=float(aht),
            answer_within=answer_within,
            service_level=service_level,
            asa=asa,
            min_agents=occupancy_floor,
        )
    else:
        found = erlang.agents_erlang_a(
            traffic,
            aht=float(aht),
            patience=float(exact(targets.patience_seconds)),
            answer_within=answer_within,
            service_level=service_level,
            asa=asa,
            max_occupancy=float(exact(targets.max_occupancy)),
        )
    return erlang.QueueMetrics(
        found.agents[back],
        found.service_level[back],
        found.asa[back],
        found.occupancy[back],
        found.abandon_rate[back],
    )


def _distinct(volume: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Distinct volumes and each row's position among them; a lookup table for whole counts."""
    if volume.size and np.all(volume == np.floor(volume)) and volume.max() <= 4 * volume.size + 1024:
        counts = volume.astype(np.intp)
        distinct = np.flatnonzero(np.bincount(counts))
        table = np.zeros(distinct[-1] + 1, dtype=np.intp)
        table[distinct] = np.arange(distinct.size)
        return distinct.astype(np.float64), table[counts]
    found, back = np.unique(volume, return_inverse=True)
    return found, back


def _staff_deferred(
    timestamps: pd.Series, volume: NDArray[np.float64], targets: StaffingTargets
) -> erlang.QueueMetrics:
    """Workload with backlog carried inside the response window (see the module docstring)."""
    length = targets.interval_seconds
    window = max(1, math.floor(exact(targets.answer_within_seconds) / length))
    if not pd.api.types.is_datetime64_any_dtype(timestamps):
        timestamps = pd.to_datetime(timestamps, utc=True, format="ISO8601")
    nanos = pd.DatetimeIndex(timestamps).as_unit("ns").asi8
    steps = np.diff(nanos)
    if steps.size and np.any(steps != length * 1_000_000_000):
        row = int(np.flatnonzero(steps != length * 1_000_000_000)[0]) + 2
        raise ValidationFailed(
            f"row {row}: deferred work needs one row per {length} s interval with no gaps or repeats",
            field="timestamp",
        )
    numerators, denominator = _scaled_integers(volume)
    running = np.concatenate([np.zeros(1, dtype=numerators.dtype), np.cumsum(numerators)])
    starts = np.maximum(np.arange(volume.size) - window + 1, 0)
    due = running[1:] - running[starts]  # volume received in the last `window` intervals, scaled
    aht = exact(targets.aht_seconds)
    agents = _ceil_scaled(due, denominator, aht / (window * length * exact(targets.max_occupancy)))
    work_seconds = np.asarray(due, dtype=np.float64) / denominator * float(aht) / window
    with np.errstate(divide="ignore", invalid="ignore"):
        occupancy = np.where(agents > 0, work_seconds / (agents * length), np.nan)
    service_level = np.where(agents > 0, 1.0, np.nan)
    nothing = np.full(volume.size, np.nan)
    return erlang.QueueMetrics(agents, service_level, nothing, occupancy, np.zeros(volume.size))
