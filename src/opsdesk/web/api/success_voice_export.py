"""/api/v1/feedback/export: the voice of the customer for product, as CSV, with the ARR and covered lives
of the accounts behind each request. Registered before the feedback router, whose
``/feedback/{request_id}`` would otherwise take this path."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from opsdesk.core import permissions
from opsdesk.success.voice.product_export import requests_csv
from opsdesk.web.api.params import QueryDay
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["success"])
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "Requests as CSV."}
}


@router.get("/feedback/export", response_class=Response, responses=CSV_RESPONSE)
def export_feedback(
    user: CurrentUser, session: SessionDep, clock: ClockDep, on: QueryDay = None, include_closed: bool = False
) -> Response:
    """Requests ranked by the ARR (on ``on``, default today), then covered lives, of the accounts asking."""
    permissions.require(user, permissions.SUCCESS_READ)
    day = on or clock.now().date()
    return Response(
        requests_csv(session, on=day, include_closed=include_closed),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="voice-of-the-customer-{day}.csv"'},
    )
