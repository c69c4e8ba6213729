"""Staffing: OpsDesk's vectorised Erlang C against pyworkforce's per-interval ErlangC, same inputs, same run.

Workload: a year of 15-minute intervals (35,040) with a daily and weekly shape and zeros at night,
first for one phone queue, then for 4 channels x 5 sites (20 queues). pyworkforce is run exactly as
its documentation shows (`ErlangC(...).required_positions(service_level, max_occupancy)` per
interval) on the queues it can model (phone, and chat as Erlang C on AHT / concurrency); it raises
on zero volume, so those intervals are skipped for it and counted. Email and social use OpsDesk's
workload model, which pyworkforce lacks, so they count in OpsDesk's time only.

Checks: raw agent counts must be identical; post-shrinkage positions are compared and every
difference is explained (pyworkforce rounds raw / (1 - shrinkage) with a float ceil).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from opsdesk.workforce.staffing import Channel, StaffingTargets, staff_intervals

try:
    from pyworkforce.queuing import ErlangC
except ImportError:  # pragma: no cover - the anchor is installed by `make bench`
    sys.exit("pyworkforce is not installed: pip install -r benchmarks/requirements.txt")

INTERVAL = 900
STAMPS = pd.date_range("2026-01-01", periods=365 * 96, freq="15min", tz="UTC")
SITES = {"Chicago": -6, "Seattle": -8, "San Francisco": -8, "Manila": 8, "Dublin": 0}
SITE_SIZE = {"Chicago": 1.0, "Seattle": 0.6, "San Francisco": 0.5, "Manila": 1.4, "Dublin": 0.8}


@dataclass(frozen=True)
class Queue:
    site: str
    channel: Channel
    peak: float  # mean contacts per 15 minutes at the busiest time of a weekday
    targets: StaffingTargets


def channel_targets(channel: Channel) -> StaffingTargets:
    common = {"interval_seconds": INTERVAL, "shrinkage": 0.3, "max_occupancy": 0.85}
    if channel is Channel.PHONE:
        return StaffingTargets(channel, 360, service_level=0.8, answer_within_seconds=20, **common)
    if channel is Channel.CHAT:
        return StaffingTargets(
            channel, 600, service_level=0.8, answer_within_seconds=60, concurrency=3, **common
        )
    if channel is Channel.EMAIL:
        return StaffingTargets(channel, 420, answer_within_seconds=4 * 3600, **common)
    return StaffingTargets(channel, 300, answer_within_seconds=3600, **common)


PEAKS = {Channel.PHONE: 220.0, Channel.CHAT: 160.0, Channel.EMAIL: 120.0, Channel.SOCIAL: 40.0}


def volumes(site_offset_hours: int, peak: float, seed: int) -> np.ndarray:
    """Poisson counts around a business-day curve in the site's local time; nothing 22:00-06:00."""
    local = STAMPS + pd.Timedelta(hours=site_offset_hours)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60
    open_hours = (hour >= 6) & (hour < 22)
    rise_and_fall = np.clip(np.sin(np.pi * (hour - 6) / 16), 0, None) ** 1.5
    morning_peak = 1 + 0.25 * np.exp(-(((hour - 10.5) / 1.5) ** 2))
    day_curve = np.where(open_hours, rise_and_fall * morning_peak, 0.0)
    weekday = local.dayofweek.to_numpy()
    week_curve = np.select([weekday == 5, weekday == 6], [0.45, 0.3], 1.0)
    season = 1 + 0.15 * np.cos(2 * np.pi * (local.dayofyear.to_numpy() - 20) / 365)
    mean = peak / 1.25 * day_curve * week_curve * season
    return np.random.default_rng(seed).poisson(mean).astype(np.float64)


def queues() -> list[Queue]:
    return [
        Queue(site, channel, PEAKS[channel] * SITE_SIZE[site], channel_targets(channel))
        for site in SITES
        for channel in Channel
    ]


def pyworkforce_plan(volume: np.ndarray, targets: StaffingTargets) -> tuple[np.ndarray, np.ndarray, int]:
    """Raw and shrunk positions per interval from pyworkforce; -1 where it cannot run (zero volume)."""
    raw = np.full(volume.size, -1, dtype=np.int64)
    shrunk = np.full(volume.size, -1, dtype=np.int64)
    aht_minutes = float(targets.aht_seconds) / targets.concurrency / 60
    skipped = 0
    for i, v in enumerate(volume):
        if v == 0:
            skipped += 1
            continue
        result = ErlangC(
            transactions=float(v),
            aht=aht_minutes,
            asa=float(targets.answer_within_seconds) / 60,
            interval=INTERVAL // 60,
            shrinkage=float(targets.shrinkage),
        ).required_positions(
            service_level=float(targets.service_level), max_occupancy=float(targets.max_occupancy)
        )
        raw[i], shrunk[i] = result["raw_positions"], result["positions"]
    return raw, shrunk, skipped


def explain_shrinkage(raw: int, shrinkage: float) -> tuple[str, str]:
    """(reason, example) for a post-shrinkage difference at `raw` agents."""
    exact_need = Fraction(raw) / (1 - Fraction(repr(shrinkage)))
    if exact_need.denominator == 1 and math.ceil(raw / (1 - shrinkage)) > exact_need:
        return (
            "pyworkforce's float ceil",
            f"{raw} / (1 - {shrinkage}) = {raw / (1 - shrinkage)!r}, exactly {exact_need}",
        )
    return "unexplained", f"raw {raw}"


def time_opsdesk(frames: list[tuple[pd.DataFrame, StaffingTargets]], repeats: int = 3) -> tuple[float, list]:
    best, plans = math.inf, []
    for _ in range(repeats):
        start = time.perf_counter()
        plans = [staff_intervals(frame, targets) for frame, targets in frames]
        best = min(best, time.perf_counter() - start)
    return best, plans


def compare(label: str, chosen: list[Queue]) -> bool:
    frames = [
        (pd.DataFrame({"timestamp": STAMPS, "volume": volumes(SITES[q.site], q.peak, seed=k)}), q.targets)
        for k, q in enumerate(chosen)
    ]
    ops_seconds, plans = time_opsdesk(frames)
    intervals = sum(len(f) for f, _ in frames)
    modelled = [(f, t, p) for (f, t), p in zip(frames, plans, strict=True) if not t.channel.deferred]
    start = time.perf_counter()
    anchor = [pyworkforce_plan(f["volume"].to_numpy(), t) for f, t, _ in modelled]
    pw_seconds = time.perf_counter() - start
    # OpsDesk on exactly pyworkforce's share of the work, for a like-for-like ratio.
    ops_same, _ = time_opsdesk([(f, t) for f, t, _ in modelled])

    compared = raw_differ = shrunk_differ = skipped = 0
    reasons: dict[str, list] = {}
    for (_, targets, plan), (raw, shrunk, skip) in zip(modelled, anchor, strict=True):
        skipped += skip
        ran = raw >= 0
        compared += int(ran.sum())
        ours_raw = plan["agents"].to_numpy()[ran]
        ours_shrunk = plan["scheduled_agents"].to_numpy()[ran]
        raw_differ += int(np.sum(ours_raw != raw[ran]))
        for ours, theirs, n in zip(ours_shrunk, shrunk[ran], raw[ran], strict=True):
            if ours != theirs:
                shrunk_differ += 1
                why, example = explain_shrinkage(int(n), float(targets.shrinkage))
                reasons.setdefault(why, [0, example])[0] += 1
    zero_opsdesk = sum(
        int(np.sum(p["agents"].to_numpy()[f["volume"].to_numpy() == 0] == 0)) for f, _, p in modelled
    )

    print(f"\n{label}: {len(chosen)} queue(s), {intervals:,} intervals")
    print(f"  OpsDesk, all queues:                 {ops_seconds * 1000:9.1f} ms")
    print(f"  OpsDesk, pyworkforce-modelled queues: {ops_same * 1000:9.1f} ms")
    print(f"  pyworkforce (same queues):           {pw_seconds * 1000:9.1f} ms")
    print(f"  speed-up:                            {pw_seconds / ops_same:9.0f}x")
    print(
        f"  intervals compared: {compared:,}; zero-volume intervals skipped for pyworkforce "
        f"(it raises on them): {skipped:,}; OpsDesk gives 0 agents on {zero_opsdesk:,} of them"
    )
    print(f"  raw agent counts identical: {'yes' if raw_differ == 0 else f'NO ({raw_differ:,} differ)'}")
    print(f"  post-shrinkage positions differing: {shrunk_differ:,}")
    for why, (count, example) in reasons.items():
        print(f"    {count:,} from {why} (e.g. {example})")
    ok_speed = pw_seconds / ops_same >= 100
    print(f"  target 100x: {'met' if ok_speed else 'MISSED'}")
    if len(chosen) > 1:
        print(f"  target full year x {len(chosen)} queues < 1 s: {'met' if ops_seconds < 1 else 'MISSED'}")
    return raw_differ == 0 and "unexplained" not in reasons


def main() -> None:
    everything = queues()
    ok = compare("One phone queue (Chicago)", [everything[0]])
    ok &= compare("4 channels x 5 sites", everything)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
