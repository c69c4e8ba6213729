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


def test_the_chain_decides_each_part_of_the_demand_mix() -> None:
    from opsdesk.workforce.chain.queues import queue_requirement
    from opsdesk.workforce.sites import DemandShare

    week = {"phone": np.full(8, 200.0)}  # 33 Erlangs of calls
    mix = [
        DemandShare(skill="L1", language="en", share=0.5),
        DemandShare(skill="L1", language="es", share=0.3),  # 10 Erlangs: large enough for its own queue
        DemandShare(skill="L1", language="de", share=0.01),  # a third of an Erlang: pooled
        DemandShare(skill="L2", share=0.19),  # 6 Erlangs of engineers' work in any language: its own
    ]
    targets = {Channel.PHONE: PHONE}

    def queued(threshold: float) -> tuple[dict[object, str], np.ndarray, dict[object, np.ndarray]]:
        result = queue_requirement(STAMPS, week, targets, mix, min_own_queue_occupancy=threshold)
        decided = {(d["skill"], d["language"]): d["queue"] for d in result.decisions}
        return decided, result.by_channel["phone"], result.by_part

    decided, total, parts = queued(0.5)
    assert decided == {
        ("L1", "en"): "pooled",
        ("L1", "es"): "own",
        ("L1", "de"): "pooled",
        ("L2", None): "own",
    }
    np.testing.assert_array_equal(parts[("L1", "es")], scheduled(week["phone"] * 0.3))
    np.testing.assert_array_equal(parts[("L2", None)], scheduled(week["phone"] * 0.19))
    np.testing.assert_array_equal(parts[("L1", "en")] + parts[("L1", "de")], scheduled(week["phone"] * 0.51))
    assert (parts[("L1", "de")] >= 1).all()  # German still needs its speakers in the pooled queue
    np.testing.assert_array_equal(total, sum(parts.values()))
    # Pooling never needs more agents than queues of their own; a threshold of 1 pools every part,
    # a tiny one gives every part but the anchor its own queue.
    all_pooled = queued(1.0)
    all_own = queued(1e-6)
    assert set(all_pooled[0].values()) == {"pooled"}
    assert all_own[0] == {
        ("L1", "en"): "pooled",
        ("L1", "es"): "own",
        ("L1", "de"): "own",
        ("L2", None): "own",
    }
    np.testing.assert_array_equal(all_pooled[1], scheduled(week["phone"]))
    assert all_pooled[1].sum() <= total.sum() <= all_own[1].sum()
    assert all_pooled[1].sum() < all_own[1].sum()
    # One part (no mix): the channel is one queue, nothing to decide.
    single = queue_requirement(STAMPS, week, targets, [DemandShare(share=1.0)], min_own_queue_occupancy=0.5)
    assert single.decisions == [] and list(single.by_part) == [(None, None)]
    np.testing.assert_array_equal(single.by_channel["phone"], scheduled(week["phone"]))


def test_a_small_language_s_reason_shows_how_busy_its_own_queue_would_be() -> None:
    """A queue under 10% busy is given with a decimal: "0%" read as a fault in the plan."""
    queues = plan_language_queues(STAMPS, {"en": VOLUMES["en"], "fr": np.full(8, 0.05)}, PHONE, skill="L1")
    french = next(d for d in queues.decisions if d.language == "fr")
    assert french.queue == "pooled" and 0 < french.own_queue_occupancy < 0.01
    assert f"only {100 * french.own_queue_occupancy:.1f}% busy" in french.reason
