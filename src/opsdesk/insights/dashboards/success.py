"""The customer-success dashboard: the ARR bridge of the period, the monthly NRR/GRR trend, the health
mix, renewals and the open pipeline, and each CSM's book and productivity. Every number comes from the
success package's own maths (``success.retention``, ``success.portfolio``); a segment filter narrows
the customers before that maths runs. A period ending after today is refused (as the retention page and
API refuse it): contracts not renewed yet would read as churn, and cutting the period at today showed a
shorter period's numbers under the one asked for."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.insights.dashboards.filters import DashboardFilter
from opsdesk.insights.dashboards.panels import Column, Panel
from opsdesk.success.pipeline.models import Opportunity, OpportunityStage

if TYPE_CHECKING:
    import pandas as pd

BRIDGE_STEPS = (
    ("Start", "start_arr", 1),
    ("New", "new", 1),
    ("Reactivated", "reactivation", 1),
    ("Expansion", "expansion", 1),
    ("Escalators", "escalator", 1),
    ("Contraction", "contraction", -1),
    ("Churn", "churn", -1),
    ("End", "end_arr", 1),
)
BANDS = ("green", "amber", "red", "unknown")
TREND_MONTHS = 12


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else round(number, 4)


def _segment_of(frame: pd.DataFrame, segments: tuple[str, ...], column: str = "segment") -> pd.Series:
    if not segments:
        return frame[column].notna() | frame[column].isna()
    return frame[column].fillna("(none)").isin(segments)


def success_dashboard(session: Session, where: DashboardFilter, *, today: date) -> list[Panel]:
    """The panels for the filter's period; one ending after ``today`` is refused (field ``to``)."""
    from opsdesk.success import portfolio, queries, retention

    queries.refuse_unfinished_period(where.end, today)
    first, last = where.start, where.end
    customers = queries.customers_frame(session)
    customers = customers[_segment_of(customers, where.segments)]
    movements = queries.movements_frame(session)
    movements = movements[movements["customer_id"].isin(customers["customer_id"])]
    bridge = retention.bridge(movements, customers, [(first, last)], None)
    row = bridge.iloc[0] if len(bridge) else None
    trend_start = (last.replace(day=1) - timedelta(days=1)).replace(day=1)
    for _ in range(TREND_MONTHS - 2):
        trend_start = (trend_start - timedelta(days=1)).replace(day=1)
    months = retention.monthly_periods(trend_start, last)
    months[-1] = (months[-1][0], last)
    trend = retention.bridge(movements, customers, months, None)
    renewals = retention.renewal_retention(movements, customers, first, last, "segment")
    accounts = portfolio.accounts_frame(session, last)
    accounts = accounts[_segment_of(accounts, where.segments) & portfolio.active(accounts)]
    mix = accounts.assign(band=accounts["health_band"].fillna("unknown")).groupby(["segment", "band"]).size()
    segments_shown = sorted({s for s, _b in mix.index})
    books = portfolio.books(accounts, portfolio.csms_frame(session), portfolio.DEFAULT_CAPACITY)
    csm_nrr = retention.bridge(movements, customers, [(first, last)], "csm")
    csm_renewals = retention.renewal_retention(movements, customers, first, last, "csm")
    work = portfolio.productivity(session, first, last).set_index("csm_id")
    nrr_of = dict(zip(csm_nrr["group"], csm_nrr["nrr"], strict=True)) if len(csm_nrr) else {}
    won_of = {
        g: int(r) - int(lost)
        for g, r, lost in zip(
            csm_renewals["group"], csm_renewals["renewals"], csm_renewals["renewals_lost"], strict=True
        )
    }
    stages = [s for s in OpportunityStage if not s.is_closed]
    pipeline_query = (
        select(Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.amount_cents), 0))
        .where(
            Opportunity.stage.in_(stages),
            Opportunity.account_id.in_([int(a) for a in accounts["account_id"]]),
        )
        .group_by(Opportunity.stage)
    )
    pipeline = {s: (int(n), int(c)) for s, n, c in session.execute(pipeline_query)}
    return [
        Panel(
            "bridge",
            f"ARR bridge, {first} to {last}",
            [Column("step", "Step"), Column("arr_cents", "ARR change", "cents")],
            [[label, None if row is None else int(row[key]) * sign] for label, key, sign in BRIDGE_STEPS]
            if row is not None
            else [],
            chart="waterfall",
            x="step",
            series=["arr_cents"],
        ),
        Panel(
            "retention_trend",
            "NRR and GRR per month",
            [
                Column("month", "Month"),
                Column("start_arr_cents", "Start ARR", "cents"),
                Column("grr", "GRR", "rate"),
                Column("nrr", "NRR", "rate"),
            ],
            [
                [str(r["period_start"])[:7], int(r["start_arr"]), _num(r["grr"]), _num(r["nrr"])]
                for r in trend.to_dict("records")
            ],
            x="month",
            series=["grr", "nrr"],
        ),
        Panel(
            "health_mix",
            "Health mix of active customers by segment",
            [Column("segment", "Segment"), *(Column(b, b.capitalize(), "count") for b in BANDS)],
            [[s, *(int(mix.get((s, b), 0)) for b in BANDS)] for s in segments_shown],
            x="segment",
            series=list(BANDS),
        ),
        Panel(
            "renewals",
            "Renewals due in the period by segment",
            [
                Column("segment", "Segment"),
                Column("renewals", "Due", "count"),
                Column("won", "Renewed", "count"),
                Column("lost", "Lost", "count"),
                Column("base_cents", "ARR due", "cents"),
                Column("grr", "Renewal GRR", "rate"),
                Column("nrr", "Renewal NRR", "rate"),
            ],
            [
                [
                    r["group"],
                    int(r["renewals"]),
                    int(r["renewals"]) - int(r["renewals_lost"]),
                    int(r["renewals_lost"]),
                    int(r["renewal_base"]),
                    _num(r["grr"]),
                    _num(r["nrr"]),
                ]
                for r in renewals.to_dict("records")
            ],
            x="segment",
            series=["won", "lost"],
        ),
        Panel(
            "pipeline",
            "Open pipeline by stage",
            [
                Column("stage", "Stage"),
                Column("opportunities", "Opportunities", "count"),
                Column("amount_cents", "Amount", "cents"),
            ],
            [[s.value, *pipeline.get(s, (0, 0))] for s in stages],
            x="stage",
            series=["opportunities"],
        ),
        Panel(
            "csm_books",
            "CSM books and productivity",
            [
                Column("csm", "CSM"),
                Column("accounts", "Accounts", "count"),
                Column("arr_cents", "ARR", "cents"),
                Column("covered_lives", "Lives", "count"),
                Column("tasks_on_time", "Tasks done on time", "rate"),
                Column("touches_per_account", "Touches per account"),
                Column("renewals_won", "Renewals won", "count"),
                Column("nrr", "NRR of the book", "rate"),
            ],
            [
                [
                    b["csm"],
                    int(b["accounts"]),
                    int(b["arr_cents"]),
                    int(b["covered_lives"]),
                    _num(work["tasks_on_time"].get(b["csm_id"])),
                    _num(work["touches_per_account"].get(b["csm_id"])),
                    won_of.get(b["csm"], 0),
                    _num(nrr_of.get(b["csm"])),
                ]
                for b in books.to_dict("records")
            ],
            x="csm",
            series=["accounts"],
            chart="table",
            note="Tasks and touches count each CSM's whole book; the segment filter narrows the rest.",
        ),
    ]
