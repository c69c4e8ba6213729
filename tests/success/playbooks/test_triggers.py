"""Pure trigger logic: episodes and their keys for each trigger kind, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.playbooks.models import TriggerKind
from opsdesk.success.playbooks.triggers import AccountEvent, AccountState, episodes, validate_params

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)


def keys(kind: TriggerKind, params: dict[str, Any], state: AccountState, now: datetime = NOW) -> list[str]:
    return [e.key for e in episodes(kind, validate_params(kind, params), state, since=SINCE, now=now)]


def event(id: int, type: str, days_ago: float, **data: Any) -> AccountEvent:
    return AccountEvent(id=id, type=type, at=NOW - timedelta(days=days_ago), data=data)


def test_renewal_window_edges_and_one_key_per_end_date() -> None:
    state = AccountState(1, renewal_ends=[date(2026, 5, 31), date(2026, 3, 2), date(2026, 6, 1)])
    assert keys(TriggerKind.RENEWAL_WITHIN, {"days": 90}, state) == [
        "renewal:2026-03-02",
        "renewal:2026-05-31",
    ]
    # The key does not change as the days pass: the same episode on every evaluation.
    later = NOW + timedelta(days=10)
    assert keys(TriggerKind.RENEWAL_WITHIN, {"days": 90}, state, later) == [
        "renewal:2026-05-31",
        "renewal:2026-06-01",
    ]


def months(*rates: float | None, last: date = date(2026, 2, 1)) -> dict[date, float | None]:
    out, month = {}, last
    for rate in reversed(rates):
        out[month] = rate
        month = date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)
    return out


def test_utilisation_run_must_reach_the_latest_month_and_last_long_enough() -> None:
    params = {"pct": 10, "months": 3}
    assert keys(TriggerKind.UTILISATION_BELOW, params, AccountState(1, engagement=months(20, 5, 5))) == []
    assert keys(TriggerKind.UTILISATION_BELOW, params, AccountState(1, engagement=months(20, 5, 5, 5))) == [
        "utilisation_below:10:2025-12-01"
    ]
    # A longer run keeps its first month as its name.
    assert keys(TriggerKind.UTILISATION_BELOW, params, AccountState(1, engagement=months(5, 5, 5, 5, 5))) == [
        "utilisation_below:10:2025-10-01"
    ]
    # The latest month recovered: the episode is over.
    assert keys(TriggerKind.UTILISATION_BELOW, params, AccountState(1, engagement=months(5, 5, 5, 10))) == []
    # A month without data (or without covered lives) breaks the run.
    assert (
        keys(TriggerKind.UTILISATION_BELOW, params, AccountState(1, engagement=months(5, None, 5, 5))) == []
    )


def test_health_red_stretch_starts_at_the_change_to_red() -> None:
    def state(*bands: tuple[int, str, float]) -> AccountState:
        return AccountState(1, events=[event(i, "health_changed", ago, to=b) for i, b, ago in bands])

    assert keys(TriggerKind.HEALTH_RED, {}, state((1, "amber", 10), (2, "red", 5))) == ["health_red:2"]
    assert keys(TriggerKind.HEALTH_RED, {}, state((1, "red", 10), (2, "red", 5))) == ["health_red:1"]
    assert keys(TriggerKind.HEALTH_RED, {}, state((1, "red", 10), (2, "green", 5))) == []
    assert keys(TriggerKind.HEALTH_RED, {}, state((1, "red", 40))) == []  # before the playbook existed
    future = AccountState(1, events=[event(1, "health_changed", -1, to_band="red")])
    assert keys(TriggerKind.HEALTH_RED, {}, future) == []  # after ``now``


def test_event_triggers_filter_and_respect_since() -> None:
    state = AccountState(
        1,
        events=[
            event(1, "account_stage_changed", 40, **{"from": "launch", "to": "adoption"}),
            event(2, "account_stage_changed", 3, **{"from": "launch", "to": "adoption"}),
            event(3, "account_stage_changed", 2, **{"from": "implementation", "to": "adoption"}),
            event(4, "nps_response_recorded", 2, score=6),
            event(5, "nps_response_recorded", 2, score=7),
            event(6, "escalation_opened", 1, severity="sev3", title="x"),
            event(7, "escalation_opened", 1, severity="sev1", title="y"),
        ],
    )
    assert keys(TriggerKind.STAGE_CHANGED, {"to": "adoption"}, state) == [
        "stage_changed:2",
        "stage_changed:3",
    ]
    assert keys(TriggerKind.STAGE_CHANGED, {"from": "launch", "to": "adoption"}, state) == ["stage_changed:2"]
    assert keys(TriggerKind.NPS_DETRACTOR, {}, state) == ["nps_detractor:4"]
    assert keys(TriggerKind.ESCALATION_OPENED, {}, state) == ["escalation_opened:6", "escalation_opened:7"]
    assert keys(TriggerKind.ESCALATION_OPENED, {"severities": ["sev1"]}, state) == ["escalation_opened:7"]


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        (TriggerKind.RENEWAL_WITHIN, {}, "days"),
        (TriggerKind.RENEWAL_WITHIN, {"days": "90"}, "days"),
        (TriggerKind.RENEWAL_WITHIN, {"days": 90, "extra": 1}, "extra"),
        (TriggerKind.UTILISATION_BELOW, {"pct": 0}, "pct"),
        (TriggerKind.UTILISATION_BELOW, {"pct": 10, "months": 0}, "months"),
        (TriggerKind.STAGE_CHANGED, {"to": "launched"}, "to"),
        (TriggerKind.NPS_DETRACTOR, {"max_score": 11}, "max_score"),
        (TriggerKind.ESCALATION_OPENED, {"severities": []}, "severities"),
        (TriggerKind.HEALTH_RED, {"band": "red"}, "band"),
    ],
)
def test_bad_parameters_name_the_field(kind: TriggerKind, params: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_params(kind, params)
    assert caught.value.field == field
