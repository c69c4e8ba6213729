"""/api/v1/retention: the ARR bridge (GRR, NRR, logo churn), renewal retention or cohorts for a period,
as ``opsdesk retention`` prints them (amounts in cents). A period ending after today is refused: contracts
not renewed yet would count as churn."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter

from opsdesk.core import permissions
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.plain_values import plain
from opsdesk.success import queries
from opsdesk.success.arr import anniversary
from opsdesk.web.api.params import From, To
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["success"])


@router.get("/retention")
def retention(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    start: From = None,
    end: To = None,
    by: Literal["segment", "csm", "cohort", "region", "none"] = "none",
    view: Literal["bridge", "renewals", "cohorts"] = "bridge",
) -> list[dict[str, Any]]:
    """One record per group (bridge, renewals) or per cohort and month (cohorts); default period: the
    twelve months to today."""
    permissions.require(user, permissions.SUCCESS_READ)
    today = clock.now().date()
    last = end or today
    first = start or anniversary(last, -1) + timedelta(days=1)
    if last < first:
        raise ValidationFailed("the period ends before it starts", field="to")
    if view == "bridge":
        frame = queries.retention_report(session, first, last, by, today=today)
    elif view == "renewals":
        frame = queries.renewal_report(session, first, last, by, today=today)
    else:
        frame = queries.cohort_report(session, last, today=today)
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
