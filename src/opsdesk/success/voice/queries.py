"""Reads for escalations, NPS responses and feedback, and the asks frame the ranking runs on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from opsdesk.core.queries import get_or_not_found
from opsdesk.success.arr import arr_on, arr_steps
from opsdesk.success.models import Account
from opsdesk.success.queries import customer_arr_today, subscription_terms, ultimate_parents
from opsdesk.success.voice.models import (
    OPEN_REQUEST_STATUSES,
    Escalation,
    EscalationStatus,
    EscalationTicket,
    FeedbackAsk,
    FeedbackRequest,
    NpsResponse,
    ProductArea,
    RequestStatus,
    Severity,
)
from opsdesk.success.voice.nps import NpsSummary, summarise

if TYPE_CHECKING:
    import pandas as pd


def escalation(session: Session, escalation_id: int) -> Escalation:
    return get_or_not_found(session, Escalation, escalation_id, "escalation")


def _escalations_query(
    *,
    account_id: int | None = None,
    status: EscalationStatus | None = None,
    unresolved_only: bool = False,
    severity: Severity | None = None,
    ticket_number: int | None = None,
    owner_id: int | None = None,
) -> Select[Escalation]:
    query = select(Escalation)
    if account_id is not None:
        query = query.where(Escalation.account_id == account_id)
    if status is not None:
        query = query.where(Escalation.status == status)
    if unresolved_only:
        query = query.where(Escalation.status != EscalationStatus.RESOLVED)
    if severity is not None:
        query = query.where(Escalation.severity == severity)
    if ticket_number is not None:
        query = query.where(
            Escalation.id.in_(
                select(EscalationTicket.escalation_id).where(EscalationTicket.ticket_number == ticket_number)
            )
        )
    if owner_id is not None:  # the account owner's (a CSM's book)
        query = query.where(Escalation.account_id.in_(select(Account.id).where(Account.owner_id == owner_id)))
    return query


def escalations(
    session: Session,
    *,
    account_id: int | None = None,
    status: EscalationStatus | None = None,
    severity: Severity | None = None,
    ticket_number: int | None = None,
) -> list[Escalation]:
    """Most severe first, then oldest first."""
    query = _escalations_query(
        account_id=account_id, status=status, severity=severity, ticket_number=ticket_number
    )
    return list(session.scalars(query.order_by(Escalation.severity, Escalation.opened_at, Escalation.id)))


@dataclass(frozen=True)
class RankedEscalation:
    escalation: Escalation
    arr_cents: int  # the customer's ARR today: a subsidiary's escalation puts its parent's at stake
    covered_lives: int  # the escalated account's


SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}


def ranked_escalations(
    session: Session,
    *,
    today: date,
    account_id: int | None = None,
    status: EscalationStatus | None = None,
    unresolved_only: bool = False,
    severity: Severity | None = None,
    ticket_number: int | None = None,
    owner_id: int | None = None,
) -> list[RankedEscalation]:
    """Escalations ranked by what is at stake: the customer's ARR, then covered lives, then severity and
    age, so the largest customers' trouble leads. The page and the API both list these. Accounts, owners,
    tickets and timelines are loaded in one query each, however many escalations there are."""
    query = _escalations_query(
        account_id=account_id, status=status, unresolved_only=unresolved_only, severity=severity,
        ticket_number=ticket_number, owner_id=owner_id,
    ).options(
        selectinload(Escalation.account), selectinload(Escalation.owner),
        selectinload(Escalation.tickets), selectinload(Escalation.entries),
    )  # fmt: skip
    rows = list(session.scalars(query))
    if not rows:
        return []
    roots, arr = ultimate_parents(session), customer_arr_today(session, today)
    ranked = [
        RankedEscalation(e, arr.get(roots.get(e.account_id, e.account_id), 0), e.account.covered_lives)
        for e in rows
    ]
    return sorted(
        ranked,
        key=lambda r: (
            -r.arr_cents,
            -r.covered_lives,
            SEVERITY_ORDER[r.escalation.severity],
            r.escalation.opened_at,
            r.escalation.id,
        ),
    )


def nps_responses(session: Session, account_id: int) -> list[NpsResponse]:
    return list(
        session.scalars(
            select(NpsResponse)
            .where(NpsResponse.account_id == account_id)
            .order_by(NpsResponse.responded_at.desc(), NpsResponse.id.desc())
        )
    )


def request(session: Session, request_id: int) -> FeedbackRequest:
    return get_or_not_found(session, FeedbackRequest, request_id, "feedback request")


def requests(
    session: Session,
    *,
    product_area: str | None = None,
    status: RequestStatus | None = None,
    account_id: int | None = None,
) -> list[FeedbackRequest]:
    query = select(FeedbackRequest).join(ProductArea)
    if product_area is not None:
        query = query.where(ProductArea.name == product_area)
    if status is not None:
        query = query.where(FeedbackRequest.status == status)
    if account_id is not None:
        query = query.where(
            FeedbackRequest.id.in_(select(FeedbackAsk.request_id).where(FeedbackAsk.account_id == account_id))
        )
    return list(session.scalars(query.order_by(FeedbackRequest.id)))


def product_areas(session: Session) -> list[ProductArea]:
    return list(session.scalars(select(ProductArea).order_by(ProductArea.name)))


def asks_frame(session: Session, *, on: date, include_closed: bool = False) -> pd.DataFrame:
    """One row per ask with the asking account's own ARR on ``on`` and its covered lives."""
    import pandas as pd

    from opsdesk.success.voice.ranking import ASK_COLUMNS

    query = (
        select(
            FeedbackRequest.id,
            FeedbackRequest.title,
            ProductArea.name,
            FeedbackRequest.status,
            FeedbackAsk.account_id,
            Account.covered_lives,
        )
        .join(ProductArea, ProductArea.id == FeedbackRequest.product_area_id)
        .join(FeedbackAsk, FeedbackAsk.request_id == FeedbackRequest.id)
        .join(Account, Account.id == FeedbackAsk.account_id)
    )
    if not include_closed:
        query = query.where(FeedbackRequest.status.in_(OPEN_REQUEST_STATUSES))
    rows = session.execute(query).all()
    if not rows:
        return pd.DataFrame(columns=ASK_COLUMNS)
    terms = subscription_terms(session, sorted({int(r[4]) for r in rows}))
    arr = arr_on(arr_steps(terms), on) if terms else {}
    return pd.DataFrame(
        [(r[0], r[1], r[2], r[3].value, r[4], arr.get(int(r[4]), 0), r[5]) for r in rows], columns=ASK_COLUMNS
    )


def ranking(session: Session, *, on: date, include_closed: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(product areas, requests), each ranked by the ARR and covered lives asking."""
    from opsdesk.success.voice.ranking import rank_areas, rank_requests

    asks = asks_frame(session, on=on, include_closed=include_closed)
    return rank_areas(asks), rank_requests(asks)


def nps_summary(session: Session, account_id: int, *, since: datetime, until: datetime) -> NpsSummary:
    """The account's answers in ``[since, until)``, counted as promoters, passives and detractors."""
    scores = session.scalars(
        select(NpsResponse.score).where(
            NpsResponse.account_id == account_id,
            NpsResponse.responded_at >= since,
            NpsResponse.responded_at < until,
        )
    )
    return summarise(int(s) for s in scores)


def response_to(session: Session, invitation_id: int) -> NpsResponse | None:
    return session.scalar(select(NpsResponse).where(NpsResponse.invitation_id == invitation_id))
