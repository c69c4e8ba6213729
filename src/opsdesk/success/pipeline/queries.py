"""Reads for the pipeline: opportunities, their history as frames, calibrated probabilities, the
forecast and its accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.queries import get_or_not_found
from opsdesk.success.pipeline.models import (
    Opportunity,
    OpportunityHistory,
    OpportunityKind,
    OpportunityStage,
)

if TYPE_CHECKING:
    import pandas as pd

    from opsdesk.success.pipeline.probabilities import ProbabilityTable

MAX_FORECAST_MONTHS = 36


def opportunity(session: Session, opportunity_id: int) -> Opportunity:
    return get_or_not_found(session, Opportunity, opportunity_id, "opportunity")


def opportunities(
    session: Session,
    *,
    account_id: int | None = None,
    kind: OpportunityKind | None = None,
    stage: OpportunityStage | None = None,
    owner_id: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Opportunity]:
    query = select(Opportunity).order_by(Opportunity.close_date, Opportunity.id)
    if account_id is not None:
        query = query.where(Opportunity.account_id == account_id)
    if kind is not None:
        query = query.where(Opportunity.kind == kind)
    if stage is not None:
        query = query.where(Opportunity.stage == stage)
    if owner_id is not None:
        query = query.where(Opportunity.owner_id == owner_id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def opportunities_frame(session: Session) -> pd.DataFrame:
    import pandas as pd

    from opsdesk.success.pipeline import forecast as forecast_maths

    rows = session.execute(
        select(
            Opportunity.id,
            Opportunity.kind,
            Opportunity.amount_cents,
            Opportunity.stage,
            Opportunity.close_date,
            Opportunity.probability_pct,
            Opportunity.category,
            Opportunity.closed_on,
        )
    ).all()
    frame = pd.DataFrame(
        [
            (r[0], r[1].value, int(r[2]), r[3].value, r[4], r[5], r[6].value if r[6] else None, r[7])
            for r in rows
        ],
        columns=forecast_maths.OPPORTUNITY_COLUMNS,
    )
    return frame.astype({"category": "object", "probability_pct": "object"})


def history_frame(session: Session) -> pd.DataFrame:
    import pandas as pd

    rows = session.execute(
        select(
            OpportunityHistory.opportunity_id,
            Opportunity.kind,
            OpportunityHistory.at,
            OpportunityHistory.stage,
            OpportunityHistory.amount_cents,
            OpportunityHistory.close_date,
            OpportunityHistory.probability_pct,
            OpportunityHistory.category,
        )
        .join(Opportunity, Opportunity.id == OpportunityHistory.opportunity_id)
        .order_by(OpportunityHistory.opportunity_id, OpportunityHistory.at, OpportunityHistory.id)
    ).all()
    frame = pd.DataFrame(
        [
            (r[0], r[1].value, r[2], r[3].value, int(r[4]), r[5], r[6], r[7].value if r[7] else None)
            for r in rows
        ],
        columns=[
            "opportunity_id",
            "kind",
            "at",
            "stage",
            "amount_cents",
            "close_date",
            "probability_pct",
            "category",
        ],
    )
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame.astype({"category": "object", "probability_pct": "object"})


def probability_table(session: Session) -> ProbabilityTable:
    """Stage probabilities from every opportunity closed so far."""
    from opsdesk.success.pipeline.probabilities import calibrate, reached_stages

    return calibrate(reached_stages(history_frame(session)))


def _check_range(first: date, last: date) -> None:
    if last < first:
        raise ValidationFailed("'to' is before 'from'", field="to")
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if months > MAX_FORECAST_MONTHS:
        raise ValidationFailed(f"at most {MAX_FORECAST_MONTHS} months at a time", field="to")


@dataclass(frozen=True)
class Forecast:
    months: pd.DataFrame
    probabilities: ProbabilityTable


def forecast(session: Session, first: date, last: date) -> Forecast:
    from opsdesk.success.pipeline import forecast as forecast_maths

    _check_range(first, last)
    table = probability_table(session)
    return Forecast(forecast_maths.monthly_forecast(opportunities_frame(session), table, first, last), table)


@dataclass(frozen=True)
class Accuracy:
    months: pd.DataFrame
    summary: dict[str, float | None]


def accuracy(session: Session, first: date, last: date, today: date) -> Accuracy:
    """Forecast made at each month's start against what closed won in it; only whole past months."""
    from opsdesk.success.pipeline import forecast as forecast_maths

    _check_range(first, last)
    if last >= today.replace(day=1):
        raise ValidationFailed("accuracy covers past months only: 'to' must be before this month", field="to")
    frame = opportunities_frame(session)
    won = frame[frame["stage"] == "closed_won"][["amount_cents", "closed_on"]]
    months = forecast_maths.past_forecasts(history_frame(session), won, first, last)
    detail, summary = forecast_maths.accuracy(months)
    return Accuracy(detail, summary)
