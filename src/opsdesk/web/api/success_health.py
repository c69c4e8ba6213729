"""Customer health over HTTP: /api/v1/accounts/{id}/health (GET; .../history; .../override POST and
DELETE), /api/v1/health/scorecards (GET, POST, PATCH /{id}), /api/v1/health/measures, /api/v1/health/trend,
/api/v1/health/backtest, and utilisation trends under /api/v1/accounts/{id}/utilisation and
/api/v1/utilisation/segments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from opsdesk.core import permissions
from opsdesk.core.errors import PermissionDenied, ValidationFailed
from opsdesk.core.models import Role, User
from opsdesk.success import queries as success_queries
from opsdesk.success.health import actions, queries
from opsdesk.success.health.measures import DEFAULT_WEIGHTS, MEASURES, default_points
from opsdesk.success.health.models import HealthScorecard
from opsdesk.success.health.schemas import (
    AccountUtilisationOut,
    BacktestIn,
    BacktestOut,
    HealthHistoryOut,
    HealthOut,
    HealthPointOut,
    HealthTrendOut,
    MeasureInfoOut,
    OverrideIn,
    OverrideOut,
    ScorecardIn,
    ScorecardOut,
    ScorecardUpdateIn,
    SegmentUtilisationOut,
    UtilisationMonthOut,
    UtilisationTrendOut,
)
from opsdesk.web.api.params import From, PathId, RequiredFrom, RequiredTo, To
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["health"])
AccountId = PathId
SCORECARD_EDITORS = (Role.ADMIN, Role.CS_LEAD)


def _require_scorecard_editor(user: User) -> None:
    """Scorecards decide every account's health, so only CS leads and admins change them."""
    permissions.require(user, permissions.SUCCESS_WRITE)
    if user.role not in SCORECARD_EDITORS:
        raise PermissionDenied("only a CS lead or an admin may change health scorecards")


@router.get("/accounts/{account_id}/health", response_model=HealthOut)
def account_health(
    account_id: AccountId, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> HealthOut:
    permissions.require(user, permissions.SUCCESS_READ)
    account = success_queries.account(session, account_id)
    return HealthOut.of(queries.account_health(session, account, now=clock.now()))


@router.get("/accounts/{account_id}/health/history", response_model=HealthHistoryOut)
def health_history(
    account_id: AccountId,
    user: CurrentUser,
    session: SessionDep,
    start: From = None,
    end: To = None,
) -> HealthHistoryOut:
    permissions.require(user, permissions.SUCCESS_READ)
    if start is not None and end is not None and end < start:
        raise ValidationFailed("'to' is before 'from'", field="to")
    points = [HealthPointOut.of(r) for r in queries.history(session, account_id, start=start, end=end)]
    scored = [p.effective_score for p in points if p.effective_score is not None]
    change = round(scored[-1] - scored[0], 2) if len(scored) > 1 else None
    return HealthHistoryOut(account_id=account_id, points=points, change=change)


@router.post("/accounts/{account_id}/health/override", status_code=201, response_model=OverrideOut)
def override_health(
    account_id: AccountId, body: OverrideIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> OverrideOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    account = success_queries.account(session, account_id)
    row = actions.override_health(
        session,
        account=account,
        score=body.score,
        band=body.band,
        reason=body.reason,
        expires_at=body.expires_at,
        actor=user,
        clock=clock,
    )
    session.commit()
    return OverrideOut.model_validate(row)


@router.delete("/accounts/{account_id}/health/override", status_code=204)
def end_override(account_id: AccountId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> None:
    permissions.require(user, permissions.SUCCESS_WRITE)
    account = success_queries.account(session, account_id)
    actions.end_override(session, account=account, actor=user, clock=clock)
    session.commit()


@router.get("/health/scorecards", response_model=list[ScorecardOut])
def list_scorecards(user: CurrentUser, session: SessionDep, clock: ClockDep) -> list[ScorecardOut]:
    permissions.require(user, permissions.SUCCESS_READ)
    cards = queries.scorecards(session)
    if not cards:  # show what accounts are scored with even before the first scoring run
        actions.ensure_default_scorecard(session, clock=clock)
        session.commit()
        cards = queries.scorecards(session)
    return [ScorecardOut.of(c) for c in cards]


@router.post("/health/scorecards", status_code=201, response_model=ScorecardOut)
def create_scorecard(
    body: ScorecardIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> ScorecardOut:
    _require_scorecard_editor(user)
    segment = None
    if body.segment_id is not None:
        segment = next((s for s in success_queries.segments(session) if s.id == body.segment_id), None)
        if segment is None:
            raise ValidationFailed(f"no segment {body.segment_id}", field="segment_id")
    card = actions.create_scorecard(
        session,
        name=body.name,
        weights={k: m.weight for k, m in body.measures.items()},
        points={k: m.points for k, m in body.measures.items() if m.points is not None},
        segment=segment,
        stage=body.stage,
        priority=body.priority,
        red_below=body.red_below,
        green_from=body.green_from,
        actor=user,
        clock=clock,
    )
    session.commit()
    return ScorecardOut.of(card)


@router.patch("/health/scorecards/{scorecard_id}", response_model=ScorecardOut)
def update_scorecard(
    scorecard_id: PathId,
    body: ScorecardUpdateIn,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> ScorecardOut:
    _require_scorecard_editor(user)
    card: HealthScorecard = queries.scorecard(session, scorecard_id)
    actions.update_scorecard(
        session,
        scorecard=card,
        weights={k: m.weight for k, m in body.measures.items()} if body.measures is not None else None,
        points={k: m.points for k, m in (body.measures or {}).items() if m.points is not None},
        red_below=body.red_below,
        green_from=body.green_from,
        active=body.active,
        actor=user,
        clock=clock,
    )
    session.commit()
    return ScorecardOut.of(card)


@router.get("/health/measures", response_model=list[MeasureInfoOut])
def list_measures(user: CurrentUser) -> list[MeasureInfoOut]:
    """What a scorecard can weigh, with each measure's default scoring rule."""
    permissions.require(user, permissions.SUCCESS_READ)
    return [
        MeasureInfoOut(
            key=m.key,
            label=m.label,
            unit=m.unit,
            source=m.source,
            default_points=default_points(m.key),
            default_weight=DEFAULT_WEIGHTS.get(m.key, 0),
        )
        for m in MEASURES.values()
    ]


@router.get("/health/trend", response_model=list[HealthTrendOut])
def health_trend(
    user: CurrentUser,
    session: SessionDep,
    start: RequiredFrom,
    end: RequiredTo,
) -> list[HealthTrendOut]:
    """Mean score and band mix per segment and scoring date."""
    permissions.require(user, permissions.SUCCESS_READ)
    if end < start:
        raise ValidationFailed("'to' is before 'from'", field="to")
    frame = queries.health_trend(session, start=start, end=end)
    return [
        HealthTrendOut.model_validate({k: _clean(v) for k, v in r.items()})
        for r in frame.to_dict(orient="records")
    ]


@router.post("/health/backtest", response_model=BacktestOut)
def backtest(body: BacktestIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> BacktestOut:
    permissions.require(user, permissions.SUCCESS_READ)
    result = queries.run_backtest(
        session, horizon_days=body.horizon_days, today=clock.now().date(), suggest=body.suggest_weights
    )
    return BacktestOut.of(body.horizon_days, result)


def _clean(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, float) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value.item() if hasattr(value, "item") else value


@router.get("/accounts/{account_id}/utilisation", response_model=AccountUtilisationOut)
def account_utilisation(
    account_id: AccountId,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    months: Annotated[int, Query(ge=1, le=60)] = 12,
) -> AccountUtilisationOut:
    permissions.require(user, permissions.SUCCESS_READ)
    account = success_queries.account(session, account_id)
    frame, trend = queries.account_utilisation(session, account, as_of=clock.now().date(), months=months)
    rows = [{k: _clean(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]
    latest = {k: _clean(v) for k, v in trend.iloc[0].items()} if not trend.empty else {}
    return AccountUtilisationOut(
        account_id=account_id,
        months=[UtilisationMonthOut.model_validate(r) for r in rows],
        trend=UtilisationTrendOut(
            latest_month=latest.get("latest_month"),
            engaged_rate_pct=latest.get("engaged_rate_pct"),
            change_pp=latest.get("change_pp"),
            slope_pp_per_month=latest.get("slope_pp_per_month"),
            direction=latest.get("direction"),
        ),
    )


@router.get("/utilisation/segments", response_model=list[SegmentUtilisationOut])
def segment_utilisation(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    months: Annotated[int, Query(ge=1, le=60)] = 12,
) -> list[SegmentUtilisationOut]:
    permissions.require(user, permissions.SUCCESS_READ)
    frame = queries.segment_utilisation(session, as_of=clock.now().date(), months=months)
    return [
        SegmentUtilisationOut.model_validate({k: _clean(v) for k, v in r.items()})
        for r in frame.to_dict(orient="records")
    ]
