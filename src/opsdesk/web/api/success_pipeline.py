"""/api/v1/opportunities (CRUD and stage moves), /api/v1/renewals/generate, /api/v1/pipeline/forecast,
/api/v1/pipeline/accuracy, /api/v1/portfolio (books per CSM with KPIs) and /api/v1/portfolio/rebalance
(GET proposes the moves, POST makes them)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from opsdesk.core import permissions
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import portfolio
from opsdesk.success import queries as success_queries
from opsdesk.success.pipeline import actions, queries, renewals
from opsdesk.success.pipeline.models import OpportunityKind, OpportunityStage
from opsdesk.success.pipeline.schemas import (
    AccuracyMonthOut,
    AccuracyOut,
    BookOut,
    ForecastMonthOut,
    ForecastOut,
    MoveOut,
    OpportunityIn,
    OpportunityOut,
    OpportunityPatch,
    RenewalsIn,
    RenewalsOut,
    StageMoveIn,
    StageProbabilityOut,
)
from opsdesk.web.api.params import MAX_LIMIT, From, Offset, PathId, QueryId, To
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["pipeline"])
OpportunityId = PathId


def _none_if_nan(value: Any) -> Any:
    import pandas as pd

    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def _owner(session: SessionDep, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = session.get(User, owner_id)
    if owner is None:
        raise ValidationFailed(f"no user {owner_id}", field="owner_id")
    return owner


@router.get("/opportunities", response_model=list[OpportunityOut])
def list_opportunities(
    user: CurrentUser,
    session: SessionDep,
    account_id: QueryId = None,
    kind: OpportunityKind | None = None,
    stage: OpportunityStage | None = None,
    owner_id: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
    offset: Offset = 0,
) -> list[OpportunityOut]:
    permissions.require(user, permissions.SUCCESS_READ)
    rows = queries.opportunities(
        session, account_id=account_id, kind=kind, stage=stage, owner_id=owner_id, limit=limit, offset=offset
    )
    return [OpportunityOut.model_validate(r) for r in rows]


@router.post("/opportunities", status_code=201, response_model=OpportunityOut)
def create_opportunity(
    body: OpportunityIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> OpportunityOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    try:
        account = success_queries.account(session, body.account_id)
    except NotFound as exc:
        raise ValidationFailed(f"no account {body.account_id}", field="account_id") from exc
    row = actions.create_opportunity(
        session,
        account=account,
        kind=body.kind,
        amount_cents=body.amount_cents,
        close_date=body.close_date,
        name=body.name,
        stage=body.stage,
        probability_pct=body.probability_pct,
        category=body.category,
        owner=_owner(session, body.owner_id),
        notes=body.notes,
        actor=user,
        clock=clock,
    )
    session.commit()
    return OpportunityOut.model_validate(row)


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityOut)
def get_opportunity(opportunity_id: OpportunityId, user: CurrentUser, session: SessionDep) -> OpportunityOut:
    permissions.require(user, permissions.SUCCESS_READ)
    return OpportunityOut.model_validate(queries.opportunity(session, opportunity_id))


@router.patch("/opportunities/{opportunity_id}", response_model=OpportunityOut)
def update_opportunity(
    opportunity_id: OpportunityId,
    body: OpportunityPatch,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> OpportunityOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    row = queries.opportunity(session, opportunity_id)
    changes: dict[str, Any] = {}
    for field in body.model_fields_set:
        value = getattr(body, field)
        if field == "owner_id":
            changes["owner"] = _owner(session, value)
        elif value is None and field not in ("probability_pct", "category", "notes"):
            raise ValidationFailed(f"{field} cannot be null", field=field)
        else:
            changes[field] = value
    actions.update_opportunity(session, opportunity=row, actor=user, clock=clock, **changes)
    session.commit()
    return OpportunityOut.model_validate(row)


@router.post("/opportunities/{opportunity_id}/stage", response_model=OpportunityOut)
def move_stage(
    opportunity_id: OpportunityId, body: StageMoveIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> OpportunityOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    row = queries.opportunity(session, opportunity_id)
    if body.amount_cents is not None and not body.to.is_closed:
        raise ValidationFailed("a final amount is given only when closing", field="amount_cents")
    actions.move_stage(
        session, opportunity=row, to=body.to, amount_cents=body.amount_cents, actor=user, clock=clock
    )
    session.commit()
    return OpportunityOut.model_validate(row)


@router.delete("/opportunities/{opportunity_id}", status_code=204)
def delete_opportunity(
    opportunity_id: OpportunityId, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> Response:
    permissions.require(user, permissions.SUCCESS_WRITE)
    row = queries.opportunity(session, opportunity_id)
    actions.delete_opportunity(session, opportunity=row, actor=user, clock=clock)
    session.commit()
    return Response(status_code=204)


@router.post("/renewals/generate", response_model=RenewalsOut)
def generate_renewals(
    body: RenewalsIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> RenewalsOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    run = renewals.generate_renewals(
        session, today=clock.now().date(), lead_days=body.lead_days, actor=user, clock=clock
    )
    session.commit()
    return RenewalsOut(
        created=[OpportunityOut.model_validate(o) for o in run.created],
        already_open=run.already_open,
        skipped_renewed=run.skipped_renewed,
        skipped_amended=run.skipped_amended,
    )


def _range(start: date | None, end: date | None, today: date, *, months_ahead: int) -> tuple[date, date]:
    import pandas as pd

    first = start or today.replace(day=1)
    last = end or (pd.Timestamp(first) + pd.DateOffset(months=months_ahead)).date() - timedelta(days=1)
    return first, last


@router.get("/pipeline/forecast", response_model=ForecastOut)
def pipeline_forecast(
    user: CurrentUser, session: SessionDep, clock: ClockDep, start: From = None, end: To = None
) -> ForecastOut:
    """Months from ``from`` to ``to`` (default: this month and the next two)."""
    permissions.require(user, permissions.SUCCESS_READ)
    first, last = _range(start, end, clock.now().date(), months_ahead=3)
    result = queries.forecast(session, first, last)
    return ForecastOut(
        months=[ForecastMonthOut(**r) for r in result.months.to_dict("records")],
        probabilities=[StageProbabilityOut(**vars(r)) for r in result.probabilities.rows],
    )


@router.get("/pipeline/accuracy", response_model=AccuracyOut)
def pipeline_accuracy(
    user: CurrentUser, session: SessionDep, clock: ClockDep, start: From = None, end: To = None
) -> AccuracyOut:
    """Past months from ``from`` to ``to`` (default: the last six whole months)."""
    import pandas as pd

    permissions.require(user, permissions.SUCCESS_READ)
    today = clock.now().date()
    last = end or today.replace(day=1) - timedelta(days=1)
    first = start or (pd.Timestamp(last.replace(day=1)) - pd.DateOffset(months=5)).date()
    result = queries.accuracy(session, first, last, today)
    months = [
        AccuracyMonthOut(**{k: _none_if_nan(v) for k, v in r.items()})
        for r in result.months.to_dict("records")
    ]
    return AccuracyOut(months=months, **{k: result.summary[k] for k in ("mape", "wape", "bias")})


@router.get("/portfolio", response_model=list[BookOut])
def books(
    user: CurrentUser, session: SessionDep, clock: ClockDep, start: From = None, end: To = None
) -> list[BookOut]:
    """Each CSM's book on ``to`` (default today) and KPIs over ``from``..``to`` (default: the 365 days
    ending ``to``)."""
    permissions.require(user, permissions.SUCCESS_READ)
    last = end or clock.now().date()
    first = start or last - timedelta(days=364)
    if last < first:
        raise ValidationFailed("'to' is before 'from'", field="to")
    book = portfolio.portfolio(session, last)
    kpis = portfolio.productivity(session, first, last).drop(columns=["csm", "accounts"])
    merged = book.merge(kpis, on="csm_id", how="left")
    return [BookOut(**{k: _none_if_nan(v) for k, v in r.items()}) for r in merged.to_dict("records")]


@router.get("/portfolio/rebalance", response_model=list[MoveOut])
def rebalance(user: CurrentUser, session: SessionDep, clock: ClockDep) -> list[MoveOut]:
    permissions.require(user, permissions.SUCCESS_READ)
    moves, accounts = portfolio.rebalance_suggestions(session, clock.now().date())
    names = dict(zip(accounts["account_id"], accounts["name"], strict=True))
    return [MoveOut(account_name=names[m.account_id], **vars(m)) for m in moves]


@router.post("/portfolio/rebalance", response_model=list[MoveOut])
def apply_rebalance(user: CurrentUser, session: SessionDep, clock: ClockDep) -> list[MoveOut]:
    """Make the suggested moves (CS leads and admins): each account goes to its receiving CSM, an event
    on its timeline; the answer lists the moves made (none when every book is within capacity)."""
    from opsdesk.success import rebalancing
    from opsdesk.success.access import require_lead

    require_lead(user, "move accounts between books")
    moves, accounts = rebalancing.apply_rebalance(session, clock.now().date(), clock=clock, actor=user)
    session.commit()
    names = dict(zip(accounts["account_id"], accounts["name"], strict=True))
    return [MoveOut(account_name=names[m.account_id], **vars(m)) for m in moves]
