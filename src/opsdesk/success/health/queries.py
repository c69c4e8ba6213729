"""Reads for health: scorecards, computed and stored scores (from each account's raw signals, read in
``raw_signals``), overrides, history, utilisation, and the snapshot table the backtest runs on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, defer, selectinload

from opsdesk.core.queries import get_or_not_found
from opsdesk.success import queries as success_queries
from opsdesk.success.health.measures import MEASURES, RawSignals, measure_values
from opsdesk.success.health.models import (
    HealthOverride,
    HealthScore,
    HealthScorecard,
)
from opsdesk.success.health.raw_signals import raw_signals, utilisation_frame
from opsdesk.success.health.scorecard import (
    Band,
    ScorecardChoice,
    ScoreResult,
    Thresholds,
    band_of,
    choose_scorecard,
    weighted_score,
)
from opsdesk.success.models import Account, ArrMovement, MovementKind

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.success.health.backtest import BacktestResult

LOSS_KINDS = (MovementKind.CHURN, MovementKind.CONTRACTION)


# --- scorecards -------------------------------------------------------------------------------------


def scorecards(session: Session, *, active_only: bool = False) -> list[HealthScorecard]:
    query = select(HealthScorecard).options(selectinload(HealthScorecard.measures))
    if active_only:
        query = query.where(HealthScorecard.active.is_(True))
    return list(session.scalars(query.order_by(HealthScorecard.priority, HealthScorecard.name)))


def scorecard(session: Session, scorecard_id: int) -> HealthScorecard:
    return get_or_not_found(session, HealthScorecard, scorecard_id, "health scorecard")


def thresholds_of(card: HealthScorecard) -> Thresholds:
    return Thresholds(card.red_below, card.green_from)


def scorecard_for(cards: Sequence[HealthScorecard], account: Account) -> HealthScorecard | None:
    choices = [
        ScorecardChoice(c.id, c.name, c.segment_id, c.stage.value if c.stage else None, c.priority)
        for c in cards
        if c.active
    ]
    segment_id = account.segment_override_id or account.segment_id
    chosen = choose_scorecard(choices, segment_id=segment_id, stage=account.stage.value)
    return next(c for c in cards if c.id == chosen.id) if chosen else None


# --- computing scores ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Computed:
    account_id: int
    scorecard: HealthScorecard | None
    raw: RawSignals
    result: ScoreResult
    band: Band | None

    def measures_json(self) -> dict[str, dict[str, float | int | None]]:
        return {
            c.measure: {
                "raw": c.raw,
                "value": None if c.value is None else round(c.value, 2),
                "weight": c.weight,
                "effective_weight": round(c.effective_weight, 2),
                "contribution": round(c.contribution, 2),
            }
            for c in self.result.contributions
        }


def compute(
    session: Session, accounts: Sequence[Account], as_of: date, cards: Sequence[HealthScorecard]
) -> list[Computed]:
    """Each account's score under the scorecard that applies to it (no scorecard -> no score)."""
    raws = raw_signals(session, accounts, as_of)
    out = []
    for account in accounts:
        card = scorecard_for(cards, account)
        raw = raws[account.id]
        if card is None:
            out.append(Computed(account.id, None, raw, ScoreResult(None, []), None))
            continue
        rules = {m.measure: m.points for m in card.measures}
        weights = {m.measure: m.weight for m in card.measures}
        values = measure_values(raw, rules)
        raw_by_measure = {key: getattr(raw, MEASURES[key].raw_field) for key in rules}
        result = weighted_score(values, weights, raw_by_measure)
        out.append(Computed(account.id, card, raw, result, band_of(result.score, thresholds_of(card))))
    return out


# --- stored scores, overrides, history ------------------------------------------------------------------


def active_override(session: Session, account_id: int, at: datetime) -> HealthOverride | None:
    """The override in force at ``at`` (made before it, not yet expired or replaced)."""
    return session.scalar(
        select(HealthOverride)
        .where(
            HealthOverride.account_id == account_id,
            HealthOverride.created_at <= at,
            or_(HealthOverride.ended_at.is_(None), HealthOverride.ended_at > at),
            HealthOverride.expires_at > at,
        )
        .order_by(HealthOverride.created_at.desc(), HealthOverride.id.desc())
        .limit(1)
    )


def active_overrides(session: Session, account_ids: Sequence[int], at: datetime) -> dict[int, HealthOverride]:
    """``active_override`` for many accounts in one query."""
    rows = session.scalars(
        select(HealthOverride)
        .where(
            HealthOverride.account_id.in_(list(account_ids)),
            HealthOverride.created_at <= at,
            or_(HealthOverride.ended_at.is_(None), HealthOverride.ended_at > at),
            HealthOverride.expires_at > at,
        )
        .order_by(HealthOverride.created_at, HealthOverride.id)
    )
    return {row.account_id: row for row in rows}  # the latest wins


def previous_bands(session: Session, account_ids: Sequence[int], before: date) -> dict[int, Band | None]:
    """The effective band of each account's latest snapshot dated before ``before``."""
    latest = (
        select(HealthScore.account_id, func.max(HealthScore.scored_on).label("on"))
        .where(HealthScore.account_id.in_(list(account_ids)), HealthScore.scored_on < before)
        .group_by(HealthScore.account_id)
        .subquery()
    )
    rows = session.execute(
        select(HealthScore.account_id, HealthScore.effective_band).join(
            latest, (latest.c.account_id == HealthScore.account_id) & (latest.c.on == HealthScore.scored_on)
        )
    )
    return {int(a): b for a, b in rows}


def latest_score(
    session: Session, account_id: int, *, on_or_before: date | None = None
) -> HealthScore | None:
    query = select(HealthScore).where(HealthScore.account_id == account_id)
    if on_or_before is not None:
        query = query.where(HealthScore.scored_on <= on_or_before)
    return session.scalar(query.order_by(HealthScore.scored_on.desc()).limit(1))


def latest_scores(session: Session) -> dict[int, HealthScore]:
    """Each scored account's latest snapshot, in one statement whose cost follows the number of
    accounts, not of snapshots: per account one step down the (account, day) unique index. The
    measures (the bulk of a row) are left unloaded; a list shows the score and band."""
    newer = aliased(HealthScore)
    latest_id = (
        select(newer.id)
        .where(newer.account_id == Account.id)
        .order_by(newer.scored_on.desc())
        .limit(1)
        .correlate(Account)
        .scalar_subquery()
    )
    rows = session.scalars(
        select(HealthScore)
        .where(HealthScore.id.in_(select(latest_id).select_from(Account)))
        .options(defer(HealthScore.measures))
    )
    return {row.account_id: row for row in rows}


def history(
    session: Session, account_id: int, *, start: date | None = None, end: date | None = None
) -> list[HealthScore]:
    success_queries.account(session, account_id)
    query = select(HealthScore).where(HealthScore.account_id == account_id)
    if start is not None:
        query = query.where(HealthScore.scored_on >= start)
    if end is not None:
        query = query.where(HealthScore.scored_on <= end)
    return list(session.scalars(query.order_by(HealthScore.scored_on)))


def effective(
    score: float | None, band: Band | None, override: HealthOverride | None, thresholds: Thresholds
) -> tuple[float | None, Band | None]:
    """An override's score re-bands by the scorecard's thresholds; an override's band keeps the score."""
    if override is None:
        return score, band
    if override.score is not None:
        overridden = float(override.score)
        return overridden, band_of(overridden, thresholds)
    return score, override.band


# --- the backtest's table -------------------------------------------------------------------------------


def backtest_frame(session: Session, *, horizon_days: int, today: date) -> pd.DataFrame:
    """One row per stored snapshot whose whole horizon has passed by ``today``, for customers with ARR
    on the snapshot date and a renewal due within the horizon: the computed score, each measure's value
    and ``label`` = the customer (ultimate parent) churned or contracted in (scored_on, scored_on +
    horizon].

    Only customers facing a renewal decision in the horizon are compared. A customer can only leave at
    a term's end, so among all customers the ones that left are simply the ones whose renewal fell in
    the window: the backtest then measured the calendar (its suggested weights put 69% on renewal
    proximity), not health. Among customers who all decide, it measures whether health told the ones
    who left from the ones who stayed.

    Only each account's first snapshot of a calendar month is used: daily snapshots of one account are
    nearly copies of each other, and counting them all would weigh long-lived accounts by the day."""
    import numpy as np
    import pandas as pd

    last = today - timedelta(days=horizon_days)
    first_of_month: dict[tuple[int, int, int], tuple[date, int]] = {}
    dated = select(HealthScore.id, HealthScore.account_id, HealthScore.scored_on)
    for row_id, account_id, on in session.execute(dated.where(HealthScore.scored_on <= last)):
        key = (account_id, on.year, on.month)
        if key not in first_of_month or on < first_of_month[key][0]:
            first_of_month[key] = (on, row_id)
    chosen = sorted(row_id for _on, row_id in first_of_month.values())
    wanted = select(HealthScore.account_id, HealthScore.scored_on, HealthScore.score, HealthScore.measures)
    snapshots: list[Any] = []
    for start in range(0, len(chosen), 1000):
        snapshots += session.execute(wanted.where(HealthScore.id.in_(chosen[start : start + 1000]))).all()
    columns = ["account_id", "scored_on", "score", "label", *MEASURES]
    if not snapshots:
        return pd.DataFrame(columns=columns)
    roots = success_queries.ultimate_parents(session)
    renewals_due: dict[int, list[date]] = {}  # per customer: the days a term of the family comes up
    for term in success_queries.subscription_terms(session, list(roots)):
        if not term.amended:
            root = roots.get(term.account_id, term.account_id)
            renewals_due.setdefault(root, []).append(term.end + timedelta(days=1))
    moves: dict[int, list[tuple[date, MovementKind, int]]] = {}
    for customer, on, kind, after in session.execute(
        select(
            ArrMovement.customer_id, ArrMovement.effective_on, ArrMovement.kind, ArrMovement.arr_after_cents
        ).order_by(ArrMovement.effective_on, ArrMovement.id)
    ):
        moves.setdefault(customer, []).append((on, kind, after))
    rows = []
    for account_id, scored_on, score, measures in snapshots:
        history_ = moves.get(roots.get(account_id, account_id), [])
        arr_then = next((after for on, _k, after in reversed(history_) if on <= scored_on), 0)
        if arr_then <= 0:
            continue  # not a customer that day: nothing to lose
        end = scored_on + timedelta(days=horizon_days)
        customer = roots.get(account_id, account_id)
        if not any(scored_on < due <= end for due in renewals_due.get(customer, ())):
            continue  # no decision to make in the window: staying says nothing about health
        label = any(scored_on < on <= end and kind in LOSS_KINDS for on, kind, _a in history_)
        values = {
            key: (measures.get(key) or {}).get("value") if isinstance(measures, dict) else None
            for key in MEASURES
        }
        rows.append(
            {
                "account_id": account_id,
                "scored_on": scored_on,
                "score": float(score) if score is not None else np.nan,
                "label": label,
                **{k: np.nan if v is None else float(v) for k, v in values.items()},
            }
        )
    return pd.DataFrame(rows, columns=columns)


# --- one account's health, as the API shows it ---------------------------------------------------------


@dataclass(frozen=True)
class HealthView:
    account_id: int
    scored_on: date
    stored: bool  # False: no scoring run yet, computed on the fly for today
    scorecard_id: int | None
    scorecard_name: str | None
    thresholds: Thresholds | None
    score: float | None
    band: Band | None
    effective_score: float | None
    effective_band: Band | None
    measures: dict[str, dict[str, float | int | None]]
    override: HealthOverride | None
    change_30d: float | None  # effective score now minus the snapshot 30+ days earlier


def account_health(session: Session, account: Account, *, now: datetime) -> HealthView:
    """The latest stored snapshot with any override in force now, or today's computed score when the
    account has never been scored."""
    today = now.date()
    override = active_override(session, account.id, now)
    latest = latest_score(session, account.id)
    if latest is not None:
        card = session.get(HealthScorecard, latest.scorecard_id) if latest.scorecard_id else None
        score = float(latest.score) if latest.score is not None else None
        scored_on, measures, band = latest.scored_on, latest.measures, latest.band
    else:
        computed = compute(session, [account], today, scorecards(session, active_only=True))[0]
        card, score, band = computed.scorecard, computed.result.score, computed.band
        scored_on, measures = today, computed.measures_json()
    thresholds = thresholds_of(card) if card is not None else None
    eff_score, eff_band = effective(score, band, override, thresholds or Thresholds())
    before = latest_score(session, account.id, on_or_before=scored_on - timedelta(days=30))
    change = (
        eff_score - float(before.effective_score)
        if before is not None and before.effective_score is not None and eff_score is not None
        else None
    )
    return HealthView(
        account_id=account.id,
        scored_on=scored_on,
        stored=latest is not None,
        scorecard_id=card.id if card is not None else None,
        scorecard_name=card.name if card is not None else None,
        thresholds=thresholds,
        score=score,
        band=band,
        effective_score=eff_score,
        effective_band=eff_band,
        measures=measures,
        override=override,
        change_30d=change,
    )


# --- backtest and utilisation views -----------------------------------------------------------------------


def run_backtest(session: Session, *, horizon_days: int, today: date, suggest: bool) -> BacktestResult:
    """How well stored health predicted churn or contraction within ``horizon_days``."""
    from opsdesk.success.health.backtest import backtest

    frame = backtest_frame(session, horizon_days=horizon_days, today=today)
    keys = list(MEASURES)
    return backtest(
        scores=frame["score"].to_numpy(dtype="float64"),
        values=frame[keys].to_numpy(dtype="float64"),
        labels=frame["label"].to_numpy(dtype=bool),
        measures=keys,
        dates=list(frame["scored_on"]),
        suggest=suggest,
    )


def account_utilisation(
    session: Session, account: Account, *, as_of: date, months: int = 12, trend_months: int = 6
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The account's completed months with their rates, and its trend over the last ``trend_months``."""
    from opsdesk.success.utilisation import account_trends, completed_months, with_rates

    frame = utilisation_frame(session, [account.id])
    shown = with_rates(completed_months(frame, as_of, months)).sort_values("month").reset_index(drop=True)
    return shown, account_trends(frame, as_of=as_of, months=trend_months)


def segment_utilisation(session: Session, *, as_of: date, months: int = 12) -> pd.DataFrame:
    """Lives-weighted engagement per segment and completed month."""
    from opsdesk.success.utilisation import completed_months, segment_trend

    segments = {s.id: s.name for s in success_queries.segments(session)}
    rows = session.execute(select(Account.id, Account.segment_id, Account.segment_override_id))
    segment_of: dict[int, str | None] = {}
    for account_id, by_rules, by_hand in rows:
        chosen = by_hand or by_rules
        segment_of[int(account_id)] = segments.get(chosen) if chosen is not None else None
    return segment_trend(completed_months(utilisation_frame(session), as_of, months), segment_of)


def health_trend(session: Session, *, start: date, end: date) -> pd.DataFrame:
    """Per scoring date and segment: accounts scored, mean effective score and the band mix, so a
    leader sees whether a segment's health is moving (accounts without a score are left out)."""
    import pandas as pd

    columns = ["scored_on", "segment", "accounts", "mean_score", "red", "amber", "green"]
    segments = {s.id: s.name for s in success_queries.segments(session)}
    rows = session.execute(
        select(
            HealthScore.scored_on,
            func.coalesce(Account.segment_override_id, Account.segment_id),
            HealthScore.effective_score,
            HealthScore.effective_band,
        )
        .join(Account, Account.id == HealthScore.account_id)
        .where(
            HealthScore.scored_on >= start,
            HealthScore.scored_on <= end,
            HealthScore.effective_score.is_not(None),
        )
    ).all()
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(
        [
            (on, segments.get(seg, "(none)") if seg is not None else "(none)", float(score or 0), str(band))
            for on, seg, score, band in rows
        ],
        columns=["scored_on", "segment", "score", "band"],
    )
    mix = pd.crosstab([frame["scored_on"], frame["segment"]], frame["band"])
    mix = mix.reindex(columns=[b.value for b in Band], fill_value=0)
    stats = frame.groupby(["scored_on", "segment"])["score"].agg(accounts="count", mean_score="mean")
    return stats.join(mix).reset_index()[columns].sort_values(["scored_on", "segment"], ignore_index=True)
