"""Own queue or pooled per language: Erlang per language where the volume justifies it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.workforce.channels import Channel
from opsdesk.workforce.scheduling import Part, plan_language_queues
from opsdesk.workforce.staffing import StaffingTargets, staff_intervals

STAMPS = pd.date_range("2027-02-01 08:00", periods=8, freq="30min", tz="UTC")
PHONE = StaffingTargets(channel=Channel.PHONE, aht_seconds=300, interval_seconds=1800, shrinkage=0.2)
VOLUMES = {
    "en": np.full(8, 120.0),  # 20 Erlangs
    "es": np.full(8, 60.0),  # 10 Erlangs: a queue of its own is busy enough
    "de": np.array([2.0, 1, 0, 3, 1, 2, 0, 1]),  # a fraction of an Erlang: pooled
}


def scheduled(volume: np.ndarray) -> np.ndarray:
    return staff_intervals({"timestamp": STAMPS, "volume": volume}, PHONE)["scheduled_agents"].to_numpy()


def test_busy_languages_get_their_own_queue_and_small_ones_share_the_biggest() -> None:
    queues = plan_language_queues(STAMPS, VOLUMES, PHONE, skill="L1")
    decided = {d.language: d for d in queues.decisions}
    assert [d.language for d in queues.decisions] == ["en", "es", "de"]
    assert decided["en"].queue == "pooled" and "anchors" in decided["en"].reason
    assert decided["es"].queue == "own" and decided["es"].own_queue_occupancy >= 0.5
    assert decided["de"].queue == "pooled" and decided["de"].own_queue_occupancy < 0.5
    assert "threshold 50%" in decided["de"].reason
    assert queues.parts == [Part("L1", "en"), Part("L1", "de"), Part("L1", "es")]
    # Spanish is its own Erlang queue; English and German are one queue on their summed volume,
    # whose agents are divided by workload.
    np.testing.assert_array_equal(queues.required[2], scheduled(VOLUMES["es"]))
    pool = scheduled(VOLUMES["en"] + VOLUMES["de"])
    np.testing.assert_array_equal(queues.required[0] + queues.required[1], pool)
    assert (queues.required[1] <= 1).all() and queues.required[1].sum() >= 1
    # Pooling German saves agents against a queue of its own.
    assert pool.sum() < scheduled(VOLUMES["en"]).sum() + scheduled(VOLUMES["de"]).sum()


def test_the_threshold_decides() -> None:
    everyone_pooled = plan_language_queues(STAMPS, VOLUMES, PHONE, min_occupancy=1.0)
    assert {d.language: d.queue for d in everyone_pooled.decisions} == {
        "en": "pooled",
        "es": "pooled",
        "de": "pooled",
    }
    np.testing.assert_array_equal(
        everyone_pooled.required.sum(axis=0), scheduled(VOLUMES["en"] + VOLUMES["es"] + VOLUMES["de"])
    )
    with pytest.raises(ValidationFailed):
        plan_language_queues(STAMPS, {"en": np.ones(3)}, PHONE)
