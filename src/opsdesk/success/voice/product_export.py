"""The voice of the customer as product sees it: each request with the ARR and covered lives of the
accounts asking for it, as a CSV and as events (``voice_request_created`` / ``voice_request_updated``)
that the outbound webhooks deliver to whoever subscribes (the desk's webhooks read the event log, so
nothing here is imported by the desk)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.events import append_event
from opsdesk.core.models import User
from opsdesk.core.spreadsheet import cell_text
from opsdesk.success.arr import arr_on, arr_steps
from opsdesk.success.queries import subscription_terms
from opsdesk.success.voice.models import FeedbackRequest

REQUEST_CREATED = "voice_request_created"
REQUEST_UPDATED = "voice_request_updated"
CSV_COLUMNS = [
    "rank",
    "request_id",
    "title",
    "product_area",
    "status",
    "accounts",
    "arr_cents",
    "covered_lives",
]


def requests_csv(session: Session, *, on: date, include_closed: bool = False) -> str:
    """Requests ranked by the ARR (on ``on``), then covered lives, of the accounts asking; one row each,
    money in integer cents."""
    from opsdesk.success.voice.queries import ranking

    _areas, requests = ranking(session, on=on, include_closed=include_closed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in requests.itertuples(index=False):
        writer.writerow(
            [
                row.rank,
                row.request_id,
                cell_text(row.title),
                cell_text(row.product_area),
                row.status,
                row.accounts,
                row.arr_cents,
                row.covered_lives,
            ]
        )
    return out.getvalue()


def behind(session: Session, request: FeedbackRequest, on: date) -> dict[str, Any]:
    """The accounts asking for ``request`` (each with its own ARR on ``on`` and covered lives) and sums."""
    accounts = sorted({ask.account for ask in request.asks}, key=lambda a: a.id)
    terms = subscription_terms(session, [a.id for a in accounts]) if accounts else []
    arr = arr_on(arr_steps(terms), on) if terms else {}
    return {
        "accounts": len(accounts),
        "arr_cents": sum(arr.get(a.id, 0) for a in accounts),
        "covered_lives": sum(a.covered_lives for a in accounts),
        "asking": [
            {
                "account_id": a.id,
                "name": a.name,
                "arr_cents": arr.get(a.id, 0),
                "covered_lives": a.covered_lives,
            }
            for a in accounts
        ],
    }


def announce(
    session: Session,
    *,
    request: FeedbackRequest,
    created: bool,
    clock: Clock,
    changed: list[str],
    actor: User | None = None,
) -> None:
    """Append the request's event with its state and the weight behind it as of today."""
    session.flush()
    append_event(
        session,
        subject_type="feedback_request",
        subject_id=request.id,
        type=REQUEST_CREATED if created else REQUEST_UPDATED,
        at=clock.now(),
        actor=actor,
        data={
            "request_id": request.id,
            "title": request.title,
            "product_area": request.product_area.name,
            "status": request.status.value,
            "changed": changed,
            **behind(session, request, clock.now().date()),
        },
    )
