"""Per-channel staffing plans: exact occupancy and shrinkage, zero intervals, chat, deferred work."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.erlang import erlang_c_metrics
from opsdesk.workforce.staffing import Channel, StaffingTargets, scheduled_agents, staff_intervals
from tests.workforce.test_erlang import reference_agents_c

COLUMNS = ["timestamp", "volume", "agents", "scheduled_agents", "service_level", "asa_seconds", "occupancy"]


def frame(volumes: list[float], minutes: int = 15) -> pd.DataFrame:
    stamps = pd.date_range("2026-03-02", periods=len(volumes), freq=f"{minutes}min", tz="UTC")
    return pd.DataFrame({"timestamp": stamps, "volume": volumes})


def phone(**overrides: object) -> StaffingTargets:
    settings_ = {
        "channel": Channel.PHONE,
        "aht_seconds": 180,
        "interval_seconds": 1800,
        "service_level": 0.8,
        "answer_within_seconds": 20,
    }
    settings_.update(overrides)
    return StaffingTargets(**settings_)  # type: ignore[arg-type]


def test_textbook_interval_and_exact_shrinkage() -> None:
    plan = staff_intervals(frame([100], minutes=30), phone(shrinkage=0.3, max_occupancy=0.85))
    assert list(plan.columns) == COLUMNS
    row = plan.iloc[0]
    assert (row.agents, row.scheduled_agents) == (14, 20)
    assert row.service_level == pytest.approx(0.8884, abs=5e-5)


def test_scheduled_agents_uses_exact_arithmetic() -> None:
    # float: math.ceil(21 / 0.7) == 31; 30 * 0.7 == 21 exactly, so 30 is right.
    assert math.ceil(21 / 0.7) == 31
    assert scheduled_agents([21, 14, 0, 1], 0.3).tolist() == [30, 20, 0, 2]
    assert scheduled_agents([21], Decimal("0.3")).tolist() == [30]


@given(
    agents=st.lists(st.integers(0, 5000), min_size=1, max_size=20),
    percent=st.decimals(min_value=0, max_value=Decimal("0.999"), places=3),
)
def test_scheduled_is_the_smallest_count_covering_the_agents(agents: list[int], percent: Decimal) -> None:
    available = 1 - Fraction(percent)
    got = scheduled_agents(agents, float(percent)).tolist()
    for need, n in zip(agents, got, strict=True):
        assert n * available >= need
        assert n == 0 or (n - 1) * available < need


def test_zero_volume_needs_no_agents() -> None:
    plan = staff_intervals(frame([0, 5, 0]), phone(interval_seconds=900))
    assert plan.agents.tolist()[0::2] == [0, 0]
    assert plan.scheduled_agents.tolist()[0::2] == [0, 0]
    assert plan.service_level.isna().tolist() == [True, False, True]
    assert plan.agents[1] > 0


def test_occupancy_cap_is_exact_at_a_whole_number() -> None:
    # 221 calls x 90 s / 900 s = 22.1 Erlangs; 22.1 / 0.85 is exactly 26 agents (the float: 26.000...04).
    assert 221 * 90 / 900 / 0.85 > 26
    plan = staff_intervals(
        frame([221]), phone(aht_seconds=90, interval_seconds=900, service_level=0, max_occupancy=0.85)
    )
    assert plan.agents.tolist() == [26]
    assert plan.occupancy[0] == pytest.approx(0.85)


def test_asa_target_adds_agents_when_binding() -> None:
    loose = staff_intervals(frame([100], 30), phone())
    strict = staff_intervals(frame([100], 30), phone(asa_seconds=3))
    assert strict.agents[0] > loose.agents[0]
    assert strict.asa_seconds[0] <= 3
    before = erlang_c_metrics(strict.agents[0] - 1, 10.0, 180, 20)
    assert before.asa > 3


@settings(max_examples=40, deadline=None)
@given(
    volumes=st.lists(st.integers(0, 400), min_size=1, max_size=10),
    occupancy=st.decimals(min_value=Decimal("0.5"), max_value=1, places=2),
    target=st.floats(0.5, 0.95),
)
def test_every_interval_matches_an_independent_erlang_c_and_exact_occupancy(
    volumes: list[int], occupancy: Decimal, target: float
) -> None:
    targets = phone(interval_seconds=900, aht_seconds=240, service_level=target, max_occupancy=occupancy)
    plan = staff_intervals(frame([float(v) for v in volumes]), targets)
    for volume, n in zip(volumes, plan.agents, strict=True):
        if volume == 0:
            assert n == 0
            continue
        by_service = reference_agents_c(volume * 240 / 900, 240, 20, target, None)
        by_occupancy = math.ceil(Fraction(volume * 240, 900) / Fraction(occupancy))
        assert n == max(by_service, by_occupancy)


def test_chat_is_erlang_c_on_the_shared_handle_time() -> None:
    volumes = [0, 12, 60, 240]
    chat = staff_intervals(
        frame(volumes),
        StaffingTargets(Channel.CHAT, 600, 900, 0.8, 60, max_occupancy=0.9, concurrency=3),
    )
    same_as_phone = staff_intervals(
        frame(volumes), StaffingTargets(Channel.PHONE, 200, 900, 0.8, 60, max_occupancy=0.9)
    )
    assert chat.agents.tolist() == same_as_phone.agents.tolist()
    single = staff_intervals(
        frame(volumes), StaffingTargets(Channel.CHAT, 600, 900, 0.8, 60, max_occupancy=0.9)
    )
    assert all(one >= three for one, three in zip(single.agents, chat.agents, strict=True))


def test_patience_switches_to_erlang_a() -> None:
    targets = phone(interval_seconds=900, patience_seconds=120, shrinkage=0.25)
    plan = staff_intervals(frame([0, 50, 200]), targets)
    assert list(plan.columns) == [*COLUMNS, "abandon_rate"]
    assert plan.abandon_rate[0] == 0
    assert 0 < plan.abandon_rate[1] < 0.2
    erlang_c = staff_intervals(frame([0, 50, 200]), phone(interval_seconds=900))
    # Abandoning callers lighten the queue, so Erlang A never needs more agents than Erlang C.
    assert all(a <= c for a, c in zip(plan.agents, erlang_c.agents, strict=True))


def email(**overrides: object) -> StaffingTargets:
    settings_ = {
        "channel": Channel.EMAIL,
        "aht_seconds": 300,
        "interval_seconds": 900,
        "answer_within_seconds": 3600,
        "max_occupancy": 0.9,
    }
    settings_.update(overrides)
    return StaffingTargets(**settings_)  # type: ignore[arg-type]


def test_email_spreads_each_interval_over_the_response_window() -> None:
    # One hour target, 15-minute intervals: each interval's work is worked over 4 intervals.
    plan = staff_intervals(frame([108, 0, 0, 0, 0, 0]), email())
    # 108 x 300 s / 4 = 8100 s per interval; one agent gives 900 x 0.9 = 810 s: 10 agents.
    assert plan.agents.tolist() == [10, 10, 10, 10, 0, 0]
    assert plan.asa_seconds.isna().all()
    assert plan.occupancy[0] == pytest.approx(0.9)


@settings(max_examples=50, deadline=None)
@given(
    volumes=st.lists(st.integers(0, 300), min_size=1, max_size=40),
    hours=st.sampled_from([900, 2700, 3600, 4 * 3600, 24 * 3600]),
)
def test_email_meets_every_deadline_with_the_fewest_agents(volumes: list[int], hours: int) -> None:
    plan = staff_intervals(frame([float(v) for v in volumes]), email(answer_within_seconds=hours))
    window = max(1, hours // 900)
    capacity = Fraction(900) * Fraction("0.9")
    for t, n in enumerate(plan.agents):
        due = sum(Fraction(volumes[i] * 300, window) for i in range(max(0, t - window + 1), t + 1))
        assert n * capacity >= due
        assert n == 0 or (n - 1) * capacity < due
    # Cumulatively, everything received by interval i is worked by the end of interval i + window - 1.
    done = np.cumsum(plan.agents.to_numpy() * 810)
    for i in range(len(volumes) - window + 1):
        assert done[i + window - 1] >= sum(volumes[: i + 1]) * 300


def test_email_needs_contiguous_intervals() -> None:
    data = frame([1, 2, 3])
    data.loc[2, "timestamp"] += pd.Timedelta(minutes=15)
    with pytest.raises(ValidationFailed) as caught:
        staff_intervals(data, email())
    assert caught.value.field == "timestamp"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"shrinkage": 1}, "shrinkage"),
        ({"shrinkage": -0.1}, "shrinkage"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"max_occupancy": 1.2}, "max_occupancy"),
        ({"service_level": 1.5}, "service_level"),
        ({"service_level": 1}, "service_level"),
        ({"aht_seconds": 0}, "aht_seconds"),
        ({"asa_seconds": 0}, "asa_seconds"),
        ({"patience_seconds": -5}, "patience_seconds"),
        ({"concurrency": 2}, "concurrency"),
        ({"answer_within_seconds": float("nan")}, "answer_within_seconds"),
        ({"interval_seconds": 0}, "interval_seconds"),
    ],
)
def test_impossible_targets_name_their_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        phone(**overrides)
    assert caught.value.field == field


def test_email_rejects_queue_only_targets() -> None:
    with pytest.raises(ValidationFailed) as caught:
        email(patience_seconds=60)
    assert caught.value.field == "patience_seconds"


def test_forecast_column_and_plain_arrays_are_accepted() -> None:
    stamps = pd.date_range("2026-03-02", periods=2, freq="30min", tz="UTC")
    plan = staff_intervals({"timestamp": stamps, "forecast": np.array([100.0, 0.0])}, phone())
    assert plan.agents.tolist() == [14, 0]


def test_negative_volume_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="row 2"):
        staff_intervals(frame([1, -1]), phone(interval_seconds=900))


def test_fractional_forecasts_use_their_decimal_value() -> None:
    # 22.1 calls x 900 s / 900 s / 0.85 = 26 exactly; the float quotient is just above 26.
    assert 22.1 / 0.85 > 26
    plan = staff_intervals(
        frame([22.1]), phone(aht_seconds=900, interval_seconds=900, service_level=0, max_occupancy=0.85)
    )
    assert plan.agents.tolist() == [26]
