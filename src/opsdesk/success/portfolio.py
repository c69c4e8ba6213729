"""The CSM book of business: accounts, ARR, covered lives and health mix per CSM, load against capacity
targets, suggestions for moving accounts from over- to under-loaded CSMs, and productivity KPIs.

Capacity: each segment has a target number of accounts and of ARR one CSM can carry. An account uses
1/target_accounts of a CSM's account capacity and arr/target_arr of the ARR capacity; a CSM's load is
the larger of the two sums (1.0 = exactly full).

Only active customers count, in the book and its load: not churned, and with a contract in force on
the day or still in implementation. A churned $0 account costs its CSM nothing and is never moved.

Rebalancing is greedy and conservative, because every move costs a customer its relationship. The
level to reach is full capacity (load 1.0), or, when the team as a whole is over capacity, the team's
average load: then no move can bring everyone within capacity, but moves can still share the excess
evenly instead of leaving one CSM at 350% beside another at 110%. Only CSMs above the level give
accounts away, the most loaded first; each gives its smallest accounts first (accounts in the renewal
stage last, since a hand-off then risks the renewal) and stops as soon as it is at the level; an
account goes only to a CSM who stays at or below the level after taking it, preferring one who
already covers its region and segment, then the least loaded. So the suggestion moves few, small
accounts, and a CSM never receives more than the level allows.

A CSM's book is defined once, here (``in_book``), and every place that shows it (the customers page,
``opsdesk portfolio``, the API, the dashboard and the productivity KPIs) counts it through this module:
the accounts the CSM owns that are active customers on the day. Each account counts, a subsidiary
with its own contract too (it is its own relationship to run); a churned or lapsed one does not.

Health mix reads the latest effective band of each account when the health tables exist; accounts
never scored (or no health tables at all) count as "unknown", not as any band. The on-time share of
tasks comes from the playbook tasks table when it exists and is None (unknown) otherwise; touches come
from the event log (``success.touches``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from opsdesk.core.database import Base
from opsdesk.core.models import Role, User
from opsdesk.success import queries as success_queries
from opsdesk.success.arr import arr_on, arr_steps
from opsdesk.success.models import Account, Segment

if TYPE_CHECKING:
    import pandas as pd

UNSEGMENTED = "(none)"
HEALTH_BANDS = ("green", "amber", "red", "unknown")
BOOK_COLUMNS = [
    "csm_id",
    "csm",
    "accounts",
    "arr_cents",
    "covered_lives",
    *HEALTH_BANDS,
    "churned",
    "account_load",
    "arr_load",
    "load",
]


@dataclass(frozen=True)
class Capacity:
    accounts: int
    arr_cents: int


DEFAULT_CAPACITY: dict[str, Capacity] = {
    "Small business": Capacity(60, 150_000_000),
    "Lower mid-market": Capacity(35, 250_000_000),
    "Upper mid-market": Capacity(20, 300_000_000),
    "Large": Capacity(10, 400_000_000),
    "Enterprise": Capacity(5, 500_000_000),
    UNSEGMENTED: Capacity(30, 300_000_000),
}


def _capacity_of(segment: str, capacity: Mapping[str, Capacity]) -> Capacity:
    found = capacity.get(segment) or capacity.get(UNSEGMENTED) or DEFAULT_CAPACITY[UNSEGMENTED]
    if found.accounts <= 0 or found.arr_cents <= 0:
        raise ValueError(f"capacity targets of {segment!r} must be positive")
    return found


def account_weights(accounts: pd.DataFrame, capacity: Mapping[str, Capacity]) -> pd.DataFrame:
    """Each account's share of a CSM's account and ARR capacity."""
    import pandas as pd

    caps = [_capacity_of(s, capacity) for s in accounts["segment"]]
    return pd.DataFrame(
        {
            "account_load": [1 / c.accounts for c in caps],
            "arr_load": [a / c.arr_cents for a, c in zip(accounts["arr_cents"], caps, strict=True)],
        },
        index=accounts.index,
    )


def active(accounts: pd.DataFrame) -> pd.Series:
    """Active customers: not churned, and paying on the day or still being implemented."""
    stage = accounts["stage"].astype(str)
    return (stage != "churned") & ((accounts["arr_cents"] > 0) | (stage == "implementation"))


def in_book(accounts: pd.DataFrame) -> pd.Series:
    """The accounts in a CSM's book: owned by a CSM and active customers on the day."""
    return accounts["csm_id"].notna() & active(accounts)


def books(accounts: pd.DataFrame, csms: pd.DataFrame, capacity: Mapping[str, Capacity]) -> pd.DataFrame:
    """One row per CSM (every CSM in ``csms``, with or without accounts), of their active customers,
    and how many of the accounts they own have churned. ``accounts``: account_id, csm_id, segment,
    region, stage, arr_cents, covered_lives, health_band (None = unknown)."""
    import pandas as pd

    owned = accounts[in_book(accounts)].copy()
    churned = accounts.loc[accounts["stage"].astype(str) == "churned", "csm_id"].value_counts()
    owned = owned.join(account_weights(owned, capacity))
    owned["band"] = owned["health_band"].fillna("unknown")
    rows = []
    for csm in csms.itertuples():
        mine = owned[owned["csm_id"] == csm.csm_id]
        bands = mine["band"].value_counts()
        account_load, arr_load = float(mine["account_load"].sum()), float(mine["arr_load"].sum())
        rows.append(
            {
                "csm_id": int(csm.csm_id),
                "csm": csm.csm,
                "accounts": len(mine),
                "arr_cents": int(mine["arr_cents"].sum()),
                "covered_lives": int(mine["covered_lives"].sum()),
                **{band: int(bands.get(band, 0)) for band in HEALTH_BANDS},
                "churned": int(churned.get(csm.csm_id, 0)),
                "account_load": round(account_load, 4),
                "arr_load": round(arr_load, 4),
                "load": round(max(account_load, arr_load), 4),
            }
        )
    return pd.DataFrame(rows, columns=BOOK_COLUMNS)


@dataclass(frozen=True)
class Move:
    account_id: int
    from_csm_id: int
    to_csm_id: int
    arr_cents: int
    fits_region: bool
    fits_segment: bool


def rebalance(
    accounts: pd.DataFrame,
    csms: pd.DataFrame,
    capacity: Mapping[str, Capacity],
    max_moves: int = 200,
) -> list[Move]:
    """Suggested moves (see the module doc); accounts and csms as for ``books``."""
    owned = accounts[in_book(accounts)].copy()
    owned["csm_id"] = owned["csm_id"].astype("int64")
    owned = owned.join(account_weights(owned, capacity))
    csm_ids = [int(c) for c in csms["csm_id"]]
    load_a = {c: float(owned.loc[owned["csm_id"] == c, "account_load"].sum()) for c in csm_ids}
    load_r = {c: float(owned.loc[owned["csm_id"] == c, "arr_load"].sum()) for c in csm_ids}
    regions = {c: set(owned.loc[owned["csm_id"] == c, "region"].dropna()) for c in csm_ids}
    segments = {c: set(owned.loc[owned["csm_id"] == c, "segment"]) for c in csm_ids}

    def load(c: int) -> float:
        return max(load_a[c], load_r[c])

    moves: list[Move] = []
    tolerance = 1e-9
    level = max(1.0, sum(load(c) for c in csm_ids) / len(csm_ids)) if csm_ids else 1.0
    for donor in sorted((c for c in csm_ids if load(c) > level + tolerance), key=load, reverse=True):
        mine = owned[owned["csm_id"] == donor].assign(renewing=lambda f: f["stage"] == "renewal")
        for row in mine.sort_values(["renewing", "arr_cents", "account_id"]).itertuples():
            if load(donor) <= level + tolerance or len(moves) >= max_moves:
                break
            options = []
            for c in csm_ids:
                if c == donor:
                    continue
                after = max(load_a[c] + row.account_load, load_r[c] + row.arr_load)
                if after > level + tolerance:
                    continue
                fits_region = row.region is None or not regions[c] or row.region in regions[c]
                fits_segment = not segments[c] or row.segment in segments[c]
                options.append((not fits_region, not fits_segment, after, c, fits_region, fits_segment))
            if not options:
                continue
            *_, receiver, fits_region, fits_segment = min(options)
            load_a[donor] -= row.account_load
            load_r[donor] -= row.arr_load
            load_a[receiver] += row.account_load
            load_r[receiver] += row.arr_load
            if row.region is not None:
                regions[receiver].add(row.region)
            segments[receiver].add(row.segment)
            moves.append(
                Move(int(row.account_id), donor, receiver, int(row.arr_cents), fits_region, fits_segment)
            )
    return moves


# --- reads ------------------------------------------------------------------------------------------


def csms_frame(session: Session) -> pd.DataFrame:
    import pandas as pd

    rows = session.execute(
        select(User.id, User.email).where(User.role == Role.CSM, User.active.is_(True)).order_by(User.email)
    ).all()
    return pd.DataFrame(rows, columns=["csm_id", "csm"])


def _table(name: str) -> Table | None:
    """A table another package defines, when that package is installed: its data is optional here."""
    return Base.metadata.tables.get(name)


def latest_health_bands(session: Session, day: date) -> dict[int, str]:
    """Each account's effective band on its latest snapshot up to ``day``: per account one step down the
    (account, day) index, so the cost follows the accounts, not a year of daily snapshots."""
    scores = _table("success_health_scores")
    if scores is None:
        return {}
    newer = scores.alias("newer")
    latest_id = (
        select(newer.c.id)
        .where(newer.c.account_id == Account.id, newer.c.scored_on <= day)
        .order_by(newer.c.scored_on.desc())
        .limit(1)
        .correlate(Account)
        .scalar_subquery()
    )
    rows = session.execute(
        select(scores.c.account_id, scores.c.effective_band).where(
            scores.c.id.in_(select(latest_id).select_from(Account))
        )
    ).all()
    return {int(a): str(getattr(b, "value", b)) for a, b in rows if b is not None}


def accounts_frame(session: Session, day: date) -> pd.DataFrame:
    """Every account with its CSM, segment, region, stage, ARR on ``day`` (its own subscriptions),
    covered lives and latest health band."""
    import pandas as pd

    chosen = Segment.__table__.alias("chosen")
    rows = session.execute(
        select(
            Account.id,
            Account.name,
            Account.owner_id,
            chosen.c.name,
            Account.region,
            Account.stage,
            Account.covered_lives,
        ).outerjoin(chosen, chosen.c.id == func.coalesce(Account.segment_override_id, Account.segment_id))
    ).all()
    frame = pd.DataFrame(
        [(r[0], r[1], r[2], r[3] or UNSEGMENTED, r[4], r[5].value, r[6]) for r in rows],
        columns=["account_id", "name", "csm_id", "segment", "region", "stage", "covered_lives"],
    )
    terms = success_queries.subscription_terms(session, [int(a) for a in frame["account_id"]])
    arr = arr_on(arr_steps(terms), day) if terms else {}
    frame["arr_cents"] = [arr.get(int(a), 0) for a in frame["account_id"]]
    bands = latest_health_bands(session, day)
    frame["health_band"] = [bands.get(int(a)) for a in frame["account_id"]]
    frame["csm_id"] = frame["csm_id"].astype("Int64")
    return frame.astype({"region": "object", "health_band": "object"})


def portfolio(
    session: Session, day: date, capacity: Mapping[str, Capacity] = DEFAULT_CAPACITY
) -> pd.DataFrame:
    return books(accounts_frame(session, day), csms_frame(session), capacity)


def team_books(session: Session, day: date) -> tuple[pd.DataFrame, dict[str, int]]:
    """The books on ``day``, and the active customers nobody owns (accounts, ARR, covered lives)."""
    accounts = accounts_frame(session, day)
    unowned = accounts[accounts["csm_id"].isna() & active(accounts)]
    return books(accounts, csms_frame(session), DEFAULT_CAPACITY), {
        "accounts": len(unowned),
        "arr_cents": int(unowned["arr_cents"].sum()),
        "covered_lives": int(unowned["covered_lives"].sum()),
        "red": int((unowned["health_band"] == "red").sum()),
    }


def rebalance_suggestions(
    session: Session, day: date, capacity: Mapping[str, Capacity] = DEFAULT_CAPACITY
) -> tuple[list[Move], pd.DataFrame]:
    """The suggested moves and the accounts frame they refer to (for names)."""
    accounts = accounts_frame(session, day)
    return rebalance(accounts, csms_frame(session), capacity), accounts


KPI_COLUMNS = ["csm_id", "csm", "accounts", "touches_per_account", "tasks_on_time", "renewal_rate", "nrr"]


def _tasks_on_time(session: Session, start: date, end: date, book: pd.DataFrame) -> dict[int, float | None]:
    """Per CSM: the done-on-time share of the tasks on their book due in the period. Empty when the
    tasks table does not exist."""
    tasks = _table("success_tasks")
    if tasks is None:
        return {}
    rows = session.execute(
        select(tasks.c.account_id, tasks.c.status, tasks.c.due_on, tasks.c.completed_at).where(
            tasks.c.account_id.in_([int(a) for a in book["account_id"]])
        )
    ).all()
    owner = dict(zip(book["account_id"].astype(int), book["csm_id"], strict=True))
    due: dict[int, int] = {}
    on_time: dict[int, int] = {}
    for account_id, status, due_on, completed_at in rows:
        csm = int(owner[int(account_id)])
        status = str(getattr(status, "value", status))
        if status != "skipped" and start <= due_on <= end:
            due[csm] = due.get(csm, 0) + 1
            if status == "done" and completed_at is not None and completed_at.date() <= due_on:
                on_time[csm] = on_time.get(csm, 0) + 1
    return {csm: on_time.get(csm, 0) / n for csm, n in due.items()}


def productivity(session: Session, start: date, end: date) -> pd.DataFrame:
    """Per CSM over [start, end]: the accounts in their book at the end, touches (``success.touches``)
    per account of it, tasks done on time, renewal rate (renewals due in the period that were kept, by
    logo) and the NRR of the customers they own. None where there is nothing to measure."""
    import pandas as pd

    from opsdesk.success import retention
    from opsdesk.success.touches import touches_by_csm

    if end < start:
        raise ValueError("the period ends before it starts")
    csms = csms_frame(session)
    book = accounts_frame(session, end)
    book = book[in_book(book)]
    on_time_share = _tasks_on_time(session, start, end, book)
    touches = touches_by_csm(session, book, start, end)
    movements, customers = success_queries.movements_frame(session), success_queries.customers_frame(session)
    bridge = retention.bridge(movements, customers, [(start, end)], "csm") if not movements.empty else None
    renewals = retention.renewal_retention(movements, customers, start, end, "csm")
    nrr = {} if bridge is None else dict(zip(bridge["group"], bridge["nrr"], strict=True))
    kept = {
        g: (r - lost) / r if r else None
        for g, r, lost in zip(renewals["group"], renewals["renewals"], renewals["renewals_lost"], strict=True)
    }
    rows = []
    for csm in csms.itertuples():
        accounts = int((book["csm_id"] == csm.csm_id).sum())
        value = nrr.get(csm.csm)
        rows.append(
            {
                "csm_id": int(csm.csm_id),
                "csm": csm.csm,
                "accounts": accounts,
                "touches_per_account": touches.get(int(csm.csm_id), 0) / accounts if accounts else None,
                "tasks_on_time": on_time_share.get(int(csm.csm_id)),
                "renewal_rate": kept.get(csm.csm),
                "nrr": None if value is None or pd.isna(value) else float(value),
            }
        )
    return pd.DataFrame(rows, columns=KPI_COLUMNS)
