"""Stage calibration from a small history, checked by hand against the Beta-prior formula."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from opsdesk.success.pipeline.probabilities import (
    DEFAULT_PROBABILITIES,
    calibrate,
    reached_stages,
)


def at(day: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(2026, 1, day, tzinfo=UTC))


def history() -> pd.DataFrame:
    rows = [
        # four expansion deals reach propose; 3 won, 1 lost; two of the winners passed through negotiate
        (1, "expansion", at(1), "qualify"),
        (1, "expansion", at(2), "propose"),
        (1, "expansion", at(3), "negotiate"),
        (1, "expansion", at(4), "closed_won"),
        (2, "expansion", at(1), "propose"),
        (2, "expansion", at(3), "negotiate"),
        (2, "expansion", at(5), "closed_won"),
        (3, "upsell", at(1), "propose"),
        (3, "upsell", at(6), "closed_won"),
        (4, "cross_sell", at(1), "qualify"),
        (4, "cross_sell", at(2), "propose"),
        (4, "cross_sell", at(7), "closed_lost"),
        # still open: says nothing yet
        (5, "expansion", at(1), "qualify"),
        # one renewal, lost from negotiate
        (6, "renewal", at(1), "negotiate"),
        (6, "renewal", at(8), "closed_lost"),
    ]
    return pd.DataFrame(rows, columns=["opportunity_id", "kind", "at", "stage"])


def test_reached_stages_only_counts_closed_deals_and_stages_they_were_in() -> None:
    reached = reached_stages(history())
    pairs = {(r.opportunity_id, r.stage, r.won) for r in reached.itertuples()}
    assert pairs == {
        (1, "qualify", True),
        (1, "propose", True),
        (1, "negotiate", True),
        (2, "propose", True),
        (2, "negotiate", True),
        (3, "propose", True),
        (4, "qualify", False),
        (4, "propose", False),
        (6, "negotiate", False),
    }


def test_reached_stages_as_of_a_moment_ignores_later_closes() -> None:
    # before 6 Jan only deals 1 and 2 had closed
    reached = reached_stages(history(), closed_before=at(6))
    assert set(reached["opportunity_id"]) == {1, 2}


def test_calibration_shrinks_small_samples_towards_the_defaults() -> None:
    table = calibrate(reached_stages(history()))
    rows = {(r.family, r.stage): r for r in table.rows}
    propose = rows[("new_arr", "propose")]
    assert (propose.reached, propose.won) == (4, 3)
    # (3 + 10 * .40) / (4 + 10) = 7 / 14
    assert propose.probability == pytest.approx(0.5)
    # qualify: 2 reached, 1 won -> (1 + 10 * .10) / 12
    assert table.probability("upsell", "qualify") == pytest.approx(2 / 12)
    # negotiate: 2 of 2 -> (2 + 6) / 12
    assert table.probability("expansion", "negotiate") == pytest.approx(8 / 12)
    # discover: nobody -> the default
    assert table.probability("expansion", "discover") == DEFAULT_PROBABILITIES["new_arr"]["discover"]
    # renewal negotiate: 0 of 1 -> (0 + 10 * .9) / 11
    assert table.probability("renewal", "negotiate") == pytest.approx(9 / 11)
    assert table.probability("renewal", "closed_won") == 1.0
    assert propose.observed_win_rate == 0.75


def test_without_history_the_defaults_apply_and_no_prior_means_raw_rates() -> None:
    empty = calibrate(pd.DataFrame())
    assert empty.probability("renewal", "qualify") == DEFAULT_PROBABILITIES["renewal"]["qualify"]
    raw = calibrate(reached_stages(history()), prior_weight=0)
    assert raw.probability("expansion", "propose") == pytest.approx(0.75)
    with pytest.raises(ValueError):
        calibrate(pd.DataFrame(), prior_weight=-1)
