"""Samples to rows: the group keys of each sample, then one row per group with the numbers of its kind
(durations: n, mean_s, median_s, p90_s by linear interpolation; rates: value, numerator, denominator;
counts: value)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opsdesk.insights.kpis.catalogue import Kind

if TYPE_CHECKING:
    import pandas as pd

RESTRICTED_TAG = "(restricted)"
"""A tag seen only on sensitive tickets: grouping never spells it out."""
TICKET_KEYS = ("channel", "site", "group", "tier", "agent", "priority", "segment")


def with_keys(
    samples: pd.DataFrame, keys: Sequence[str], tickets: pd.DataFrame, tags: pd.DataFrame
) -> pd.DataFrame:
    """The samples with a column per group key: time keys from ``at`` (UTC), the others from the sample
    itself when it has them (a call's channel and agent) or else from its ticket. A ticket with several
    tags counts under each."""
    frame = samples
    if "day" in keys:
        frame = frame.assign(day=frame["at"].dt.strftime("%Y-%m-%d"))
    if "week" in keys:
        monday = frame["at"].dt.tz_convert("UTC").dt.normalize() - _days(frame["at"].dt.weekday)
        frame = frame.assign(week=monday.dt.strftime("%Y-%m-%d"))
    if "month" in keys:
        frame = frame.assign(month=frame["at"].dt.strftime("%Y-%m"))
    wanted = [k for k in keys if k in TICKET_KEYS and k not in frame.columns]
    if wanted:
        frame = frame.merge(tickets[["ticket_id", *wanted]], on="ticket_id", how="left")
    if "tag" in keys:
        frame = frame.merge(visible_tags(tickets, tags), on="ticket_id", how="left")
    return frame


def visible_tags(tickets: pd.DataFrame, tags: pd.DataFrame) -> pd.DataFrame:
    """Tags as group values: a tag that appears on no ticket but sensitive ones is shown as
    ``(restricted)``, so a grouping cannot reveal what only protected tickets are about."""
    sensitive = tags["ticket_id"].isin(tickets.loc[tickets["sensitive"], "ticket_id"])
    public = set(tags.loc[~sensitive, "tag"])
    shown = tags["tag"].where(tags["tag"].isin(public), RESTRICTED_TAG)
    return tags.assign(tag=shown).drop_duplicates()


def _days(weekday: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_timedelta(weekday, unit="D")


def summarise(samples: pd.DataFrame, kind: Kind, keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per group (sorted by its keys), without the metric name."""
    import pandas as pd

    if not len(samples):
        return []
    keys = list(keys)
    if kind is Kind.DURATION:
        seconds = samples["seconds"].astype("float64")
        grouped = (
            seconds.groupby([samples[k] for k in keys], dropna=False)
            if keys
            else seconds.groupby(pd.Series(0, index=samples.index))
        )
        table = grouped.agg(["count", "mean", "median"]).join(grouped.quantile(0.9).rename("p90"))
        values = [
            {
                "n": int(r["count"]),
                "mean_s": _round(r["mean"]),
                "median_s": _round(r["median"]),
                "p90_s": _round(r["p90"]),
            }
            for _i, r in table.iterrows()
        ]
    elif kind is Kind.RATE:
        hits = samples["hit"].astype(bool).astype("int64")
        grouped = (
            hits.groupby([samples[k] for k in keys], dropna=False)
            if keys
            else hits.groupby(pd.Series(0, index=samples.index))
        )
        table = grouped.agg(["count", "sum"])
        values = [
            {"n": int(r["count"]), "value": _round(r["sum"] / r["count"], 6), "numerator": int(r["sum"]),
             "denominator": int(r["count"])}
            for _i, r in table.iterrows()
        ]  # fmt: skip
    else:
        ones = pd.Series(1, index=samples.index)
        grouped = ones.groupby([samples[k] for k in keys], dropna=False) if keys else ones.groupby(ones)
        table = grouped.count().to_frame("count")
        values = [{"n": int(r["count"]), "value": int(r["count"])} for _i, r in table.iterrows()]
    rows = []
    for index, numbers in zip(table.index, values, strict=True):
        labels = index if isinstance(index, tuple) else (index,)
        rows.append({**{k: _label(v) for k, v in zip(keys, labels, strict=False)}, **numbers})
    return rows


def _round(value: float, places: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), places)


def _label(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value
