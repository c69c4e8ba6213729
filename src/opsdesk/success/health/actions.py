"""Writes for health: scorecards, imported signals, scoring runs and overrides. Each runs in the
caller's transaction (flush, never commit). A change of an account's band appends ``health_changed``
(subject ``account``) so playbooks can start on "health turned red"."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.success import published
from opsdesk.success.health import queries, raw_signals
from opsdesk.success.health.measures import DEFAULT_WEIGHTS, default_points, validate_points
from opsdesk.success.health.models import (
    AccountSignal,
    HealthMeasureWeight,
    HealthOverride,
    HealthScore,
    HealthScorecard,
    SignalKind,
)
from opsdesk.success.health.scorecard import Band, Thresholds, validate_thresholds, validate_weights
from opsdesk.success.models import Account, Segment, Stage

DEFAULT_SCORECARD = "Default"
HEALTH_CHANGED = "health_changed"
SIGNAL_RANGES: dict[SignalKind, tuple[Decimal, Decimal]] = {
    SignalKind.NPS: (Decimal(-100), Decimal(100)),
    SignalKind.CSAT: (Decimal(0), Decimal(100)),
    SignalKind.PAYMENT_DAYS_OVERDUE: (Decimal(0), Decimal(3650)),
    SignalKind.EXEC_ENGAGEMENT: (Decimal(0), Decimal(1_000_000)),
}


def _two_places(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- scorecards -------------------------------------------------------------------------------------


def _set_measures(
    card: HealthScorecard, weights: Mapping[str, int], points: Mapping[str, Sequence[Sequence[float]]]
) -> None:
    clean = validate_weights(weights)
    extra = sorted(set(points) - set(clean))
    if extra:
        raise ValidationFailed(
            f"points given for {extra[0]}, which has no weight", field=f"measures.{extra[0]}"
        )
    rules = {
        key: validate_points(key, points[key]) if key in points else default_points(key) for key in clean
    }
    existing = {m.measure: m for m in card.measures}
    for key, weight in clean.items():
        row = existing.pop(key, None) or HealthMeasureWeight(measure=key, weight=0, points=[])
        row.weight, row.points = weight, rules[key]
        if row not in card.measures:
            card.measures.append(row)
    for row in existing.values():
        card.measures.remove(row)


def create_scorecard(
    session: Session,
    *,
    name: str,
    weights: Mapping[str, int],
    clock: Clock,
    points: Mapping[str, Sequence[Sequence[float]]] | None = None,
    segment: Segment | None = None,
    stage: Stage | None = None,
    priority: int = 100,
    red_below: int = 50,
    green_from: int = 75,
    actor: User | None = None,
) -> HealthScorecard:
    """A scorecard for a segment and/or lifecycle stage (neither: a default). Measures without points
    use their default scoring rule."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a scorecard needs a name", field="name")
    if session.scalar(select(HealthScorecard.id).where(HealthScorecard.name == name)) is not None:
        raise Conflict(f"a scorecard named {name!r} already exists", field="name")
    validate_thresholds(red_below, green_from)
    now = clock.now()
    card = HealthScorecard(
        name=name,
        segment=segment,
        stage=stage,
        priority=priority,
        red_below=red_below,
        green_from=green_from,
        active=True,
        created_at=now,
        updated_at=now,
    )
    _set_measures(card, weights, points or {})
    session.add(card)
    session.flush()
    append_event(
        session,
        subject_type="health_scorecard",
        subject_id=card.id,
        type="scorecard_created",
        at=now,
        actor=actor,
        data={"name": name, "weights": dict(weights)},
    )
    return card


def update_scorecard(
    session: Session,
    *,
    scorecard: HealthScorecard,
    clock: Clock,
    weights: Mapping[str, int] | None = None,
    points: Mapping[str, Sequence[Sequence[float]]] | None = None,
    red_below: int | None = None,
    green_from: int | None = None,
    active: bool | None = None,
    actor: User | None = None,
) -> HealthScorecard:
    """Re-weight a scorecard (e.g. to the backtest's suggestion), change its thresholds or retire it.
    Stored snapshots keep the weights they were computed with."""
    thresholds = validate_thresholds(
        red_below if red_below is not None else scorecard.red_below,
        green_from if green_from is not None else scorecard.green_from,
    )
    if weights is not None:
        kept = {m.measure: m.points for m in scorecard.measures}
        _set_measures(
            scorecard, weights, {**{k: v for k, v in kept.items() if k in weights}, **(points or {})}
        )
    elif points:
        _set_measures(scorecard, {m.measure: m.weight for m in scorecard.measures}, points)
    scorecard.red_below, scorecard.green_from = int(thresholds.red_below), int(thresholds.green_from)
    if active is not None:
        scorecard.active = active
    scorecard.updated_at = clock.now()
    session.flush()
    append_event(
        session,
        subject_type="health_scorecard",
        subject_id=scorecard.id,
        type="scorecard_updated",
        at=clock.now(),
        actor=actor,
        data={
            "weights": {m.measure: m.weight for m in scorecard.measures},
            "red_below": scorecard.red_below,
            "green_from": scorecard.green_from,
            "active": scorecard.active,
        },
    )
    return scorecard


def ensure_default_scorecard(session: Session, *, clock: Clock) -> HealthScorecard:
    """Every install scores with at least the default scorecard."""
    existing = session.scalar(select(HealthScorecard).where(HealthScorecard.name == DEFAULT_SCORECARD))
    if existing is not None:
        return existing
    return create_scorecard(
        session, name=DEFAULT_SCORECARD, weights=DEFAULT_WEIGHTS, priority=1000, clock=clock
    )


# --- signals ------------------------------------------------------------------------------------------


def record_signal(
    session: Session,
    *,
    account: Account,
    kind: SignalKind,
    value: Decimal,
    observed_at: datetime,
    clock: Clock,
    source: str | None = None,
) -> AccountSignal:
    """Store one observation (the same account, kind and time replaces the earlier value, so a
    re-import changes nothing)."""
    low, high = SIGNAL_RANGES[kind]
    if not low <= value <= high:
        raise ValidationFailed(f"a {kind.value} signal must be between {low} and {high}", field="value")
    if observed_at > clock.now():
        raise ValidationFailed("a signal cannot be observed in the future", field="observed_at")
    row = session.scalar(
        select(AccountSignal).where(
            AccountSignal.account_id == account.id,
            AccountSignal.kind == kind,
            AccountSignal.observed_at == observed_at,
        )
    )
    if row is None:
        row = AccountSignal(
            account_id=account.id, kind=kind, observed_at=observed_at, value=value, created_at=clock.now()
        )
        session.add(row)
    row.value, row.source = value, source
    session.flush()
    return row


# --- scoring ------------------------------------------------------------------------------------------


@dataclass
class ScoringRun:
    scored_on: date
    scored: int = 0
    unscored: int = 0  # no scorecard applies, or no measure had a value
    band_changes: dict[str, int] = field(default_factory=dict)  # "green->red": count


def _band_changed(
    session: Session,
    *,
    account_id: int,
    before: Band | None,
    after: Band | None,
    score: float | None,
    on: date,
    clock: Clock,
    actor: User | None,
    reason: str,
) -> bool:
    if before == after or after is None:
        return False
    append_event(
        session,
        subject_type="account",
        subject_id=account_id,
        type=HEALTH_CHANGED,
        at=clock.now(),
        actor=actor,
        data={
            "from": before.value if before else None,
            "to": after.value,
            "score": None if score is None else round(score, 2),
            "scored_on": on.isoformat(),
            "reason": reason,
        },
    )
    account = session.get(Account, account_id)
    if account is not None:
        published.publish(session, account, clock=clock, **{published.HEALTH_BAND: after.value})
    return True


def score_accounts(
    session: Session,
    *,
    as_of: date,
    clock: Clock,
    accounts: Sequence[Account] | None = None,
    progress: Callable[[int], None] | None = None,
    actor: User | None = None,
    batch: int = 200,
) -> ScoringRun:
    """Compute and store every account's health on ``as_of`` from what was known by the end of that
    day. One snapshot per account and date: a rerun replaces it (and records a band change only against
    what it replaces, so reruns are idempotent)."""
    if as_of > clock.now().date():
        raise ValidationFailed("cannot score a date in the future", field="as_of")
    ensure_default_scorecard(session, clock=clock)
    cards = queries.scorecards(session, active_only=True)
    targets = (
        list(accounts)
        if accounts is not None
        else list(session.scalars(select(Account).order_by(Account.id)))
    )
    run = ScoringRun(scored_on=as_of)
    now = clock.now()
    for start in range(0, len(targets), batch):
        chunk = targets[start : start + batch]
        ids = [a.id for a in chunk]
        existing = {
            row.account_id: row
            for row in session.scalars(
                select(HealthScore).where(HealthScore.scored_on == as_of, HealthScore.account_id.in_(ids))
            )
        }
        previous = queries.previous_bands(session, ids, as_of)
        overrides = queries.active_overrides(session, ids, raw_signals.end_of(as_of))
        for computed in queries.compute(session, chunk, as_of, cards):
            row = existing.get(computed.account_id)
            if row is not None:
                before = row.effective_band
            else:
                before = previous.get(computed.account_id)
                row = HealthScore(account_id=computed.account_id, scored_on=as_of, computed_at=now)
                session.add(row)
            override = overrides.get(computed.account_id)
            thresholds = queries.thresholds_of(computed.scorecard) if computed.scorecard else None
            score, band = computed.result.score, computed.band
            eff_score, eff_band = (
                queries.effective(score, band, override, thresholds) if thresholds else (None, None)
            )
            row.scorecard_id = computed.scorecard.id if computed.scorecard else None
            row.score, row.band = _two_places(score), band
            row.effective_score, row.effective_band = _two_places(eff_score), eff_band
            row.override_id = override.id if override is not None and thresholds else None
            row.measures = computed.measures_json()
            row.computed_at = now
            if score is None:
                run.unscored += 1
            else:
                run.scored += 1
            if _band_changed(
                session,
                account_id=computed.account_id,
                before=before,
                after=eff_band,
                score=eff_score,
                on=as_of,
                clock=clock,
                actor=actor,
                reason="override" if row.override_id else "scored",
            ):
                key = f"{before.value if before else 'none'}->{eff_band.value if eff_band else 'none'}"
                run.band_changes[key] = run.band_changes.get(key, 0) + 1
            if progress is not None:
                progress(1)
        session.flush()
    return run


# --- overrides ----------------------------------------------------------------------------------------


def override_health(
    session: Session,
    *,
    account: Account,
    reason: str,
    expires_at: datetime,
    clock: Clock,
    actor: User | None,
    score: Decimal | None = None,
    band: Band | None = None,
) -> HealthOverride:
    """Replace the computed health with a CSM's judgement (a score or a band, with a reason) until
    ``expires_at``; a newer override ends the one before."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("an override needs a reason", field="reason")
    if (score is None) == (band is None):
        raise ValidationFailed("give either a score or a band", field="score")
    if score is not None and not Decimal(0) <= score <= Decimal(100):
        raise ValidationFailed("a health score is between 0 and 100", field="score")
    now = clock.now()
    if expires_at <= now:
        raise ValidationFailed("an override must expire in the future", field="expires_at")
    latest = queries.latest_score(session, account.id)
    current = queries.active_override(session, account.id, now)
    card = session.get(HealthScorecard, latest.scorecard_id) if latest and latest.scorecard_id else None
    if card is None:
        card = queries.scorecard_for(queries.scorecards(session, active_only=True), account)
    thresholds = queries.thresholds_of(card) if card is not None else Thresholds()
    computed_score = float(latest.score) if latest is not None and latest.score is not None else None
    computed_band = latest.band if latest is not None else None
    before_band = queries.effective(computed_score, computed_band, current, thresholds)[1]
    if current is not None:
        current.ended_at = now
    row = HealthOverride(
        account_id=account.id,
        score=score.quantize(Decimal("0.01")) if score is not None else None,
        band=band,
        reason=reason[:2000],
        expires_at=expires_at,
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    after_score, after_band = queries.effective(computed_score, computed_band, row, thresholds)
    _band_changed(
        session,
        account_id=account.id,
        before=before_band,
        after=after_band,
        score=after_score,
        on=now.date(),
        clock=clock,
        actor=actor,
        reason="override",
    )
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="health_overridden",
        at=now,
        actor=actor,
        data={
            "override_id": row.id,
            "score": float(row.score) if row.score is not None else None,
            "band": band.value if band else None,
            "expires_at": expires_at.isoformat(),
        },
    )
    return row


def end_override(session: Session, *, account: Account, clock: Clock, actor: User | None) -> HealthOverride:
    """Withdraw the override in force, so the computed health shows again."""
    now = clock.now()
    current = queries.active_override(session, account.id, now)
    if current is None:
        raise NotFound(f"account {account.id} has no health override in force")
    latest = queries.latest_score(session, account.id)
    card = session.get(HealthScorecard, latest.scorecard_id) if latest and latest.scorecard_id else None
    thresholds = queries.thresholds_of(card) if card is not None else Thresholds()
    score = float(latest.score) if latest is not None and latest.score is not None else None
    band = latest.band if latest is not None else None
    before = queries.effective(score, band, current, thresholds)[1]
    current.ended_at = now
    session.flush()
    _band_changed(
        session,
        account_id=account.id,
        before=before,
        after=band,
        score=score,
        on=now.date(),
        clock=clock,
        actor=actor,
        reason="override ended",
    )
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="health_override_ended",
        at=now,
        actor=actor,
        data={"override_id": current.id},
    )
    return current
