"""The support overview KPIs (volume, median and p90 first reply and full resolution, SLA attainment per
target, CSAT, reopen rate) by week x channel x site, over 10 million tickets and 60 million events in
Parquet, in the shape ``opsdesk export parquet`` writes. The run times, each apart:

A. the export's last step: OpsDesk derives one row of facts per ticket from the events
   (``ticket_facts.parquet``, :mod:`opsdesk.insights.kpis.duck_facts`), once per export;
B. OpsDesk's KPI query (``opsdesk kpi --parquet``'s path: DuckDB over the facts);
C. the same KPIs written plainly in pandas from the same facts file (the fair comparison: same input);
D. the same KPIs written plainly in pandas from the raw events (``--no-pandas-events`` skips it).
The rows of B, C and D must be identical, or the run fails.

Target: identical values, OpsDesk under 3 s and at least 10x faster than pandas; the verdict printed
applies to the query B against pandas over the same facts C. The other readings (D / B: OpsDesk's query
over prepared facts against pandas from events; D / (A + B): both from events) are printed beside it.

The history is generated with numpy (fixed seed) and kept under ``$BENCH_KPIS_DIR`` (default /tmp) for
the next run. ``--tickets N`` runs a smaller size (events are six per ticket):
``python benchmarks/kpis.py --tickets 1000000``. Memory: DuckDB is held to 8 GB
(``BENCH_KPIS_DUCKDB_MEMORY``; it spills beyond); the pandas side D takes 2.5 million tickets at a time
(``BENCH_KPIS_CHUNK``), about 3 GB per million tickets in a pass, as measured at 1 million. Wall and
CPU seconds are both printed: on a shared machine the wall clock depends on the load.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from opsdesk.insights.kpis import duck_engine, duck_facts
from opsdesk.insights.kpis.duck_source import DuckSource
from opsdesk.insights.kpis.request import kpi_request

SEED = 20261203
EVENTS_PER_TICKET = 6
FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 731
NOW = datetime(2026, 3, 1, tzinfo=UTC)
METRICS = (
    "tickets_created",
    "first_reply_time",
    "full_resolution_time",
    "sla_attainment",
    "csat",
    "reopen_rate",
)
BY = ("week", "channel", "site")
CHANNELS = ["chat", "email", "phone", "social"]
SITES = ["Chicago", "Dublin", "Manila", "San Francisco", "Seattle"]
PRIORITIES = ["low", "normal", "high", "urgent"]
TYPES = ["ticket_created", "message_added", "status_changed", "csat_received"]
STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"]
KINDS = ["requester", "agent", "system"]
HOUR = 3600
CHUNK = int(os.environ.get("BENCH_KPIS_CHUNK", "2500000"))  # tickets per pandas pass
MEMORY = os.environ.get("BENCH_KPIS_DUCKDB_MEMORY", "8GB")  # DuckDB spills beyond it


@dataclass(frozen=True)
class Policy:
    targets: dict[str, dict[str, timedelta]]
    pausing_statuses: frozenset[str] = frozenset({"pending"})


def _hours(first: float, nxt: float, resolution: float) -> dict[str, timedelta]:
    return {
        "first_reply": timedelta(hours=first),
        "next_reply": timedelta(hours=nxt),
        "resolution": timedelta(hours=resolution),
    }


POLICIES = {
    1: Policy(
        {
            "low": _hours(8, 12, 72),
            "normal": _hours(4, 8, 48),
            "high": _hours(1, 4, 24),
            "urgent": _hours(0.5, 2, 8),
        }
    )
}

# Each ticket follows one of these six-event stories: (type, status entered, author kind, public).
# T created, M message, S status change, C rating; None where the field does not apply.
STORIES = [
    # answered, put on pending, solved, rated
    [("T", "new", None, None), ("M", None, "requester", True), ("M", None, "agent", True),
     ("S", "pending", None, None), ("S", "solved", None, None), ("C", None, None, None)],
    # solved, reopened by the requester, solved again
    [("T", "new", None, None), ("M", None, "requester", True), ("M", None, "agent", True),
     ("S", "solved", None, None), ("S", "open", None, None), ("S", "solved", None, None)],
    # opened by an agent with a public comment: the reply is the agent's next public comment
    [("T", "new", None, None), ("M", None, "agent", True), ("M", None, "requester", True),
     ("M", None, "agent", True), ("S", "solved", None, None), ("C", None, None, None)],
    # an internal note, then still open after another exchange
    [("T", "new", None, None), ("M", None, "requester", True), ("M", None, "agent", False),
     ("S", "open", None, None), ("M", None, "requester", True), ("M", None, "agent", True)],
    # a bot answers first (no reply), then an agent; solved, then closed
    [("T", "new", None, None), ("M", None, "requester", True), ("M", None, "system", True),
     ("M", None, "agent", True), ("S", "solved", None, None), ("S", "closed", None, None)],
]  # fmt: skip
STORY_SHARE = [0.4, 0.15, 0.1, 0.15, 0.2]
FINAL = ["solved", "solved", "solved", "open", "closed"]
GAP_HOURS = [0.0, 0.0, 3.0, 10.0, 20.0, 48.0]  # mean wait before each event of a story


def _codes(values: list[str | None], names: list[str]) -> np.ndarray:
    return np.array([-1 if v is None else names.index(v) for v in values], dtype="int8")


def _dictionary(codes: np.ndarray, names: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0, type=pa.int8()), pa.array(names))


def _timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("int64") * 1_000_000, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def generate(directory: Path, tickets: int) -> None:
    """tickets, events, tags, calls and agents .parquet for ``tickets`` tickets (fixed seed)."""
    rng = np.random.default_rng(SEED)
    directory.mkdir(parents=True, exist_ok=True)
    ids = np.arange(1, tickets + 1, dtype="int64")
    story = rng.choice(len(STORIES), size=tickets, p=STORY_SHARE)
    start = int(FIRST_DAY.timestamp())
    created = start + rng.integers(0, DAYS * 86400, size=tickets)
    merged = (story == 4) & (rng.random(tickets) < 0.05)
    final = np.array(FINAL)[story]
    table = pa.table(
        {
            "ticket_id": ids,
            "created_at": _timestamps(created),
            "status": pa.array(final).dictionary_encode(),
            "channel": _dictionary(rng.integers(0, 4, size=tickets).astype("int8"), CHANNELS),
            "priority": _dictionary(
                rng.choice(4, size=tickets, p=[0.2, 0.5, 0.2, 0.1]).astype("int8"), PRIORITIES
            ),
            "tier": _dictionary(rng.integers(0, 2, size=tickets).astype("int8"), ["L1", "L2"]),
            "group": _dictionary(
                rng.integers(0, 3, size=tickets).astype("int8"), ["Billing", "Care", "Tech"]
            ),
            "site": _dictionary(rng.integers(0, 5, size=tickets).astype("int8"), SITES),
            "agent": pa.nulls(tickets, pa.string()),
            "segment": pa.nulls(tickets, pa.string()),
            "merged": merged,
            "sensitive": np.zeros(tickets, dtype=bool),
            "schedule_id": pa.nulls(tickets, pa.int64()),
            "policy_id": pa.array(np.ones(tickets, dtype="int64"), mask=rng.random(tickets) < 0.1),
        }
    )
    pq.write_table(table, directory / "tickets.parquet", row_group_size=1 << 20)
    del table

    n = tickets * EVENTS_PER_TICKET
    type_of = np.array([_codes([{"T": TYPES[0], "M": TYPES[1], "S": TYPES[2], "C": TYPES[3]}[e[0]]
                                for e in s], TYPES) for s in STORIES])  # fmt: skip
    status_of = np.array([_codes([e[1] for e in s], STATUSES) for s in STORIES])
    kind_of = np.array([_codes([e[2] for e in s], KINDS) for s in STORIES])
    public_of = np.array([[bool(e[3]) for e in s] for s in STORIES])
    from_of = np.array([_codes(_previous_status(s), STATUSES) for s in STORIES])
    gaps = rng.exponential(1.0, size=(tickets, EVENTS_PER_TICKET)) * np.array(GAP_HOURS) * HOUR
    at = (created[:, None] + np.cumsum(gaps.astype("int64"), axis=1)).ravel()
    del gaps
    order = np.argsort(at, kind="stable")  # the log's order: by time, a ticket's own events in story order
    ticket_of = np.repeat(ids, EVENTS_PER_TICKET)[order]
    story_of = np.repeat(story, EVENTS_PER_TICKET)[order]
    step = np.tile(np.arange(EVENTS_PER_TICKET), tickets)[order]
    at = at[order]
    del order
    types = type_of[story_of, step]
    rated = types == TYPES.index("csat_received")
    five = rated & (rng.random(n) < 0.5)
    score = np.where(five, rng.integers(1, 6, size=n), 0).astype("float64")
    good = rng.random(n) < 0.8
    rating = np.where(rated, np.where(five, np.where(score >= 4, 0, 1), np.where(good, 0, 1)), -1).astype(
        "int8"
    )
    events = pa.table(
        {
            "ticket_id": ticket_of,
            "seq": np.arange(n, dtype="int64"),
            "at": _timestamps(at),
            "type": _dictionary(types, TYPES),
            "status": _dictionary(status_of[story_of, step], STATUSES),
            "from_status": _dictionary(from_of[story_of, step], STATUSES),
            "public": public_of[story_of, step],
            "author_kind": _dictionary(kind_of[story_of, step], KINDS),
            "created_by_agent": (story_of == 2) & (step == 0),
            "agent_id": pa.nulls(n, pa.int64()),
            "rating": _dictionary(rating, ["good", "bad"]),
            "score": pa.array(score, mask=~five),
            "scale": _dictionary(
                np.where(rated, np.where(five, 0, 1), -1).astype("int8"), ["one_to_five", "good_bad"]
            ),
            "by": pa.nulls(n, pa.string()),
        }
    )
    pq.write_table(events, directory / "events.parquet", row_group_size=1 << 20)
    for name, columns in (
        ("tags", {"ticket_id": pa.array([], pa.int64()), "tag": pa.array([], pa.string())}),
        ("agents", {"agent_id": pa.array([], pa.int64()), "email": pa.array([], pa.string())}),
        (
            "calls",
            {
                "ticket_id": pa.array([], pa.int64()),
                "seq": pa.array([], pa.int64()),
                "at": pa.array([], pa.timestamp("us", tz="UTC")),
                "agent_id": pa.array([], pa.int64()),
                **{c: pa.array([], pa.float64()) for c in ("wait_s", "talk_s", "hold_s", "wrap_s")},
                "abandoned": pa.array([], pa.bool_()),
                "voicemail": pa.array([], pa.bool_()),
            },
        ),
    ):
        pq.write_table(pa.table(columns), directory / f"{name}.parquet")


def _previous_status(story: list[tuple[Any, ...]]) -> list[str | None]:
    current, previous = "new", []
    for kind, status, _author, _public in story:
        previous.append(current if kind == "S" else None)
        if kind == "S":
            current = status
    return previous


def derive_facts(directory: Path) -> int:
    """The export's last step (``opsdesk export parquet`` runs the same function): one row of facts per
    ticket, derived from the tickets and events files, SLA outcomes as at ``NOW``."""
    source = DuckSource.of_parquet(directory)
    source.con.execute(f"SET memory_limit = '{MEMORY}'")
    return duck_facts.derive(source.con, directory, now=NOW, policies=POLICIES)


def opsdesk_rows(directory: Path) -> list[dict[str, Any]]:
    """``opsdesk kpi --parquet DIR``'s path: the engine finds the facts beside the events and reads them."""
    request = kpi_request(metrics=METRICS, start="2024-01-01", end="2025-12-31", by=",".join(BY))
    source = DuckSource.of_parquet(directory)
    assert source.facts is not None and source.facts.sla_for(NOW, POLICIES), "facts not used"
    source.con.execute(f"SET memory_limit = '{MEMORY}'")
    return duck_engine.compute(source, request, now=NOW, policies=POLICIES)


def pandas_facts_rows(directory: Path) -> list[dict[str, Any]]:
    """The same KPIs in plain pandas from the same facts file: each metric a selection of ticket rows,
    grouped by the week of creation (CSAT: of the rating), channel and site."""
    columns = ["created_at", "channel", "site", "first_reply_at", "latest_solve", "solved_once", "reopened",
               "rated", "rated_at", "rating", "score", "scale", *duck_facts.SLA_COLUMNS]  # fmt: skip
    facts = pq.read_table(
        directory / duck_facts.FACTS_FILE, columns=columns, read_dictionary=["channel", "site"]
    ).to_pandas()
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC")

    def week(instants: pd.Series) -> pd.Series:
        day = instants.dt.tz_localize(None).dt.normalize()
        return day - pd.to_timedelta(day.dt.dayofweek, unit="D")

    created = facts[(facts["created_at"] >= start) & (facts["created_at"] < end)]
    keys = pd.DataFrame({"week": week(created["created_at"]), "channel": created["channel"],
                         "site": created["site"]})  # fmt: skip

    def seconds(until: str) -> pd.DataFrame:
        done = created[until].notna()
        spent = (created[until][done] - created["created_at"][done]).dt.total_seconds().clip(lower=0)
        return keys[done].assign(seconds=spent)

    solved = created["solved_once"]
    rated = facts[facts["rated"] & (facts["rated_at"] >= start) & (facts["rated_at"] < end)]
    five = (rated["scale"] == "one_to_five") & rated["score"].notna()
    good = (five & (rated["score"] >= 4)) | (~five & (rated["rating"] == "good"))
    sla = pd.concat(
        [
            keys.assign(
                target=target,
                met=created[duck_facts.sla_column(target, True)],
                total=created[duck_facts.sla_column(target, True)]
                + created[duck_facts.sla_column(target, False)],
            )
            for target in duck_facts.SLA_TARGETS
        ]
    )
    samples = {
        "tickets_created": keys,
        "first_reply_time": seconds("first_reply_at"),
        "full_resolution_time": seconds("latest_solve"),
        "sla_attainment": sla[sla["total"] > 0],
        "csat": pd.DataFrame(
            {"week": week(rated["rated_at"]), "channel": rated["channel"], "site": rated["site"], "hit": good}
        ),
        "reopen_rate": keys[solved].assign(hit=created["reopened"][solved]),
    }
    return [row for name in METRICS for row in _summarise(name, samples[name])]


def pandas_rows(directory: Path, chunk: int = CHUNK) -> list[dict[str, Any]]:
    """The same definitions in plain pandas, on the wall clock (the policies are 24x7). Every KPI here is
    a function of one ticket's events, so the tickets are taken ``chunk`` ids at a time (to stay well
    inside memory at full size) and only the samples are kept for the summary."""
    ids = pq.read_table(directory / "tickets.parquet", columns=["ticket_id"])["ticket_id"].to_numpy()
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in METRICS}
    for low in range(int(ids.min()), int(ids.max()) + 1, chunk):
        inside = [("ticket_id", ">=", low), ("ticket_id", "<", low + chunk)]
        for name, frame in _pandas_samples(directory, inside).items():
            parts[name].append(frame)
        gc.collect()
    rows: list[dict[str, Any]] = []
    for name in METRICS:
        rows += _summarise(name, pd.concat(parts[name]))
    return rows


def _pandas_samples(directory: Path, inside: list[tuple[str, str, int]]) -> dict[str, pd.DataFrame]:
    """Per metric, its samples for the tickets ``inside``, with their week, channel and site."""
    tickets = pd.read_parquet(directory / "tickets.parquet", filters=inside)
    events = pd.read_parquet(
        directory / "events.parquet",
        columns=["ticket_id", "seq", "at", "type", "status", "from_status", "public", "author_kind",
                 "created_by_agent", "rating", "score", "scale"],
        filters=inside,
    )  # fmt: skip
    # The file is in the log's order (seq), so each ticket's rows are in order already.
    ticket = tickets.set_index("ticket_id")
    week = ticket["created_at"].dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    keys = pd.DataFrame({"week": week, "channel": ticket["channel"], "site": ticket["site"]})
    created_at = ticket["created_at"]

    messages = events[events["type"] == "message_added"]
    first_message = messages.drop_duplicates("ticket_id")
    by_agent = events.loc[(events["type"] == "ticket_created") & events["created_by_agent"], "ticket_id"]
    opening = first_message.loc[
        first_message["public"]
        & (first_message["author_kind"] == "agent")
        & first_message["ticket_id"].isin(by_agent),
        "seq",
    ]
    replies = messages[
        messages["public"] & (messages["author_kind"] == "agent") & ~messages["seq"].isin(opening)
    ]
    first_reply = replies.drop_duplicates("ticket_id").set_index("ticket_id")["at"]
    solves = events[(events["type"] == "status_changed") & (events["status"] == "solved")]
    done = ticket.index[ticket["status"].isin(["solved", "closed"]) & ~ticket["merged"]]
    latest_solve = solves.groupby("ticket_id")["at"].max()
    latest_solve = latest_solve[latest_solve.index.isin(done)]
    solved_once = solves["ticket_id"].unique()
    reopened = events.loc[
        (events["type"] == "status_changed")
        & (events["from_status"] == "solved")
        & events["status"].isin(["new", "open", "pending", "on_hold"]),
        "ticket_id",
    ].unique()
    ratings = events[events["type"] == "csat_received"].drop_duplicates("ticket_id", keep="last")
    five = (ratings["scale"] == "one_to_five") & ratings["score"].notna()
    good = (five & (ratings["score"] >= 4)) | (~five & (ratings["rating"] == "good"))
    sla = _pandas_sla(tickets, events, opening)
    del events, messages, replies, solves
    gc.collect()

    def seconds(until: pd.Series) -> pd.Series:
        return ((until - created_at.reindex(until.index)).dt.total_seconds()).clip(lower=0)

    samples = {
        "tickets_created": pd.DataFrame(index=ticket.index),
        "first_reply_time": seconds(first_reply).rename("seconds").to_frame(),
        "full_resolution_time": seconds(latest_solve).rename("seconds").to_frame(),
        "reopen_rate": pd.DataFrame({"hit": pd.Index(solved_once).isin(reopened)}, index=solved_once),
        "sla_attainment": sla,
    }
    at = ratings["at"].dt.tz_localize(None)
    rated = pd.DataFrame(
        {"week": at.dt.to_period("W-SUN").dt.start_time.to_numpy(), "hit": good.to_numpy()},
        index=ratings["ticket_id"].to_numpy(),
    ).join(keys[["channel", "site"]])
    rated = rated[(at >= "2024-01-01").to_numpy() & (at < "2026-01-01").to_numpy()]
    return {name: rated if name == "csat" else samples[name].join(keys) for name in METRICS}


def _pandas_sla(tickets: pd.DataFrame, events: pd.DataFrame, opening: pd.Series) -> pd.DataFrame:
    """Met and breached targets (ticket id index, target, hit). Running time between two instants is
    R(b) - R(a), where R counts a ticket's seconds in running statuses since it was created."""
    now = pd.Timestamp(NOW)
    targets = pd.DataFrame(
        [(p, prio, t, d.total_seconds()) for p, pol in POLICIES.items() for prio, ts in pol.targets.items()
         for t, d in ts.items()],
        columns=["policy_id", "priority", "target", "target_s"],
    )  # fmt: skip
    wanted = tickets[tickets["policy_id"].notna() & ~tickets["merged"]].astype({"policy_id": "int64"})
    wanted = wanted[["ticket_id", "policy_id", "priority"]].astype({"priority": "object"}).merge(targets)
    log = events[
        events["ticket_id"].isin(wanted["ticket_id"])
        & (events["at"] <= now)
        & events["type"].isin(["ticket_created", "status_changed", "message_added"])
    ]
    log = log.assign(pos=log.groupby("ticket_id").cumcount())
    done = (log["type"] == "status_changed") & log["status"].isin(["solved", "closed"])
    agent = (
        (log["type"] == "message_added")
        & log["public"]
        & (log["author_kind"] == "agent")
        & ~log["seq"].isin(opening)
    )
    log = log.assign(answer=agent | done)
    asks = (log["type"] == "message_added") & log["public"] & (log["author_kind"] == "requester")
    created = log[log["type"] == "ticket_created"].drop_duplicates("ticket_id").set_index("ticket_id")["at"]
    first = log[log["answer"]].drop_duplicates("ticket_id").set_index("ticket_id")
    after = log[(log["answer"] | asks) & (log["pos"] > log["ticket_id"].map(first["pos"]))]
    after = after.assign(run=after.groupby("ticket_id")["answer"].cumsum() - after["answer"])
    asked = after[~after["answer"]].groupby(["ticket_id", "run"])["at"].min().rename("start")
    answered = after[after["answer"]].groupby(["ticket_id", "run"])["at"].first().rename("end")
    nexts = asked.to_frame().join(answered).reset_index(level="run", drop=True)
    timeline = log[log["type"].isin(["ticket_created", "status_changed"])][["ticket_id", "at", "status"]]
    timeline = timeline.assign(status=timeline["status"].astype("object").fillna("new"))
    is_done = timeline["status"].isin(["solved", "closed"])
    run_start = is_done & ~is_done.groupby(timeline["ticket_id"]).shift(1, fill_value=False)
    last = timeline.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")["status"]
    resolved = timeline[run_start].groupby("ticket_id")["at"].last()
    resolved = resolved[resolved.index.isin(last.index[last.isin(["solved", "closed"])])]
    windows = pd.concat(
        [
            pd.DataFrame(
                {"target": "first_reply", "start": created, "end": first["at"].reindex(created.index)}
            ),
            nexts.assign(target="next_reply"),
            pd.DataFrame({"target": "resolution", "start": created, "end": resolved.reindex(created.index)}),
        ]
    ).rename_axis("ticket_id")
    windows = windows.reset_index().merge(wanted[["ticket_id", "target", "target_s", "policy_id"]])
    windows["stop"] = windows["end"].fillna(now)
    pausing = POLICIES[1].pausing_statuses
    running = ~timeline["status"].isin(pausing | {"solved", "closed"})
    until = timeline.groupby("ticket_id")["at"].shift(-1).fillna(now)
    spent = (until - timeline["at"]).dt.total_seconds().where(running, 0.0)
    stretches = timeline.assign(
        running=running, before=spent.groupby(timeline["ticket_id"]).cumsum() - spent, until=until
    ).sort_values("at", kind="stable")

    def counted(instant: str, exact: bool) -> pd.DataFrame:
        probe = windows[["ticket_id", instant]].reset_index().sort_values(instant, kind="stable")
        found = pd.merge_asof(
            probe, stretches, left_on=instant, right_on="at", by="ticket_id", allow_exact_matches=exact
        ).set_index("index")
        into = (found[[instant, "until"]].min(axis=1) - found["at"]).dt.total_seconds()
        running = found["running"].eq(True)
        return pd.DataFrame(
            {"seconds": found["before"] + into.where(running, 0.0), "running": running}
        ).reindex(windows.index)

    elapsed = counted("stop", True)["seconds"] - counted("start", True)["seconds"]
    open_at_stop = counted("stop", False)["running"] & (windows["stop"] > windows["start"])
    breached = (elapsed > windows["target_s"]) | ((elapsed == windows["target_s"]) & ~open_at_stop)
    keep = windows["end"].notna() | breached
    return pd.DataFrame(
        {"target": windows["target"][keep].to_numpy(), "hit": (~breached[keep]).to_numpy()},
        index=windows["ticket_id"][keep].to_numpy(),
    )


def _summarise(name: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    keys = ["week", "channel", "site", *(["target"] if "target" in frame else [])]
    grouped = frame.groupby(keys, observed=True)
    if "seconds" in frame:
        table = grouped["seconds"].agg(["count", "mean", "median"])
        table["p90"] = grouped["seconds"].quantile(0.9)
    elif "met" in frame:  # counted outcomes (SLA targets from the facts)
        table = grouped[["total", "met"]].sum().rename(columns={"total": "count", "met": "sum"})
    elif "hit" in frame:
        table = grouped["hit"].agg(["count", "sum"])
    else:
        table = grouped.size().to_frame("count")
    rows = []
    for index, r in table.iterrows():
        labels = dict(zip(keys, index, strict=True))
        labels["week"] = labels["week"].strftime("%Y-%m-%d")
        n = int(r["count"])
        if "seconds" in frame:
            numbers = {"n": n, "mean_s": round(float(r["mean"]), 3), "median_s": round(float(r["median"]), 3),
                       "p90_s": round(float(r["p90"]), 3)}  # fmt: skip
        elif "hit" in frame or "met" in frame:
            hits = int(r["sum"])
            numbers = {"n": n, "value": round(hits / n, 6), "numerator": hits, "denominator": n}
        else:
            numbers = {"n": n, "value": n}
        rows.append({**labels, "metric": name, **numbers})
    return rows


def _keyed(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {(r["metric"], r["week"], r["channel"], r["site"], r.get("target")): r for r in rows}


def _timed(label: str, run: Any) -> tuple[Any, float]:
    began, cpu = time.perf_counter(), time.process_time()
    result = run()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    size = f"{result:,} tickets" if isinstance(result, int) else f"{len(result):,} rows"
    # CPU seconds (all threads) beside the wall clock: on a shared, loaded machine the wall clock lies
    print(f"{label:<58} {seconds:8.2f} s wall, {cpu:8.2f} s CPU, {size}", flush=True)
    gc.collect()
    return result, seconds


def _check(name: str, ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    mine, reference = _keyed(ours), _keyed(theirs)
    assert mine.keys() == reference.keys(), (name, sorted(set(mine) ^ set(reference))[:5])
    differ = [k for k in reference if mine[k] != reference[k]]
    assert not differ, (name, [(mine[k], reference[k]) for k in differ[:3]])
    assert {r["metric"] for r in ours} == set(METRICS)
    print(f"identical to {name}: {len(ours):,} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = int(os.environ.get("BENCH_KPIS_TICKETS", "10000000"))
    parser.add_argument("--tickets", type=int, default=default, help="tickets (6 events each)")
    parser.add_argument(
        "--no-pandas-events", action="store_true", help="skip pandas over the raw events (slow at full size)"
    )
    parser.add_argument(
        "--reuse-facts", action="store_true", help="skip A when an earlier run's facts file fits the events"
    )
    args = parser.parse_args()
    root = Path(os.environ.get("BENCH_KPIS_DIR", "/tmp"))
    directory = root / f"opsdesk-bench-kpis-{args.tickets}"
    if not (directory / "calls.parquet").is_file():
        began = time.perf_counter()
        generate(directory, args.tickets)
        print(f"generated {args.tickets:,} tickets in {time.perf_counter() - began:.1f} s -> {directory}")
    events = pq.ParquetFile(directory / "events.parquet").metadata.num_rows
    print(f"{args.tickets:,} tickets, {events:,} events; {', '.join(METRICS)} by {' x '.join(BY)}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")

    derive_s: float | None = None
    if args.reuse_facts and duck_facts.find(DuckSource.of_parquet(directory).con, directory):
        print("A. skipped (--reuse-facts): the facts file of an earlier run is read")
    else:
        _, derive_s = _timed(
            "A. OpsDesk derive facts from events (export step)", lambda: derive_facts(directory)
        )
    ours, query_s = _timed("B. OpsDesk KPI query over the facts (DuckDB)", lambda: opsdesk_rows(directory))
    facts_rows, pandas_facts_s = _timed(
        "C. pandas, same KPIs from the same facts file", lambda: pandas_facts_rows(directory)
    )
    _check("pandas over the facts", ours, facts_rows)
    pandas_events_s = None
    if not args.no_pandas_events:
        event_rows, pandas_events_s = _timed(
            "D. pandas, same KPIs from the raw events", lambda: pandas_rows(directory)
        )
        _check("pandas over the events", ours, event_rows)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    print("ratios:")
    print(f"  fair, same input (facts file): pandas C / OpsDesk B = {pandas_facts_s / query_s:.1f}x")
    if pandas_events_s is not None:
        print(
            f"  query vs pandas from events:   pandas D / OpsDesk B = {pandas_events_s / query_s:.1f}x "
            "(OpsDesk reads facts derived beforehand, pandas reads events)"
        )
        if derive_s is not None:
            print(
                f"  end to end from events:        pandas D / OpsDesk (A + B) = "
                f"{pandas_events_s / (derive_s + query_s):.1f}x"
            )
    print(
        "target (applies to the query B, against pandas on the same facts C): "
        f"B < 3 s: {'met' if query_s < 3 else 'NOT met'} ({query_s:.2f} s); "
        f">= 10x: {'met' if pandas_facts_s / query_s >= 10 else 'NOT met'} ({pandas_facts_s / query_s:.1f}x)"
    )


if __name__ == "__main__":
    main()
