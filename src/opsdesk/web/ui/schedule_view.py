"""The agent's schedule page as every form on it renders it: published shifts and time off in the viewer's
zone, the time-off request form, shift swaps, the calendar feed, and a refused form's message beside what
it refused (both ``schedule_pages`` and ``swap_pages`` answer with it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.models import User
from opsdesk.desk.routing.models import AgentShift
from opsdesk.desk.routing.queries import published_shifts
from opsdesk.web.errors import STATUS_BY_ERROR
from opsdesk.web.ui import zones
from opsdesk.web.ui.render import page
from opsdesk.workforce.swaps import actions as swaps
from opsdesk.workforce.swaps.models import ShiftSwap, SwapStatus
from opsdesk.workforce.time_off import queries
from opsdesk.workforce.time_off.models import TimeOffKind, TimeOffRequest, TimeOffStatus

SHOWN_DAYS = 28
OPEN_SWAP = (SwapStatus.OFFERED, SwapStatus.ACCEPTED)


@dataclass(frozen=True)
class ShiftRow:
    shift: AgentShift
    off: TimeOffRequest | None  # the approved time off that takes this shift, if any


@dataclass(frozen=True)
class SwapRow:
    swap: ShiftSwap
    shift: AgentShift | None  # gone if the schedule was re-published since


@dataclass(frozen=True)
class FormError:
    """A refused form: its message, the field at fault, which form (``swap`` or ``time-off``), the shift,
    swap or time-off request whose form it was, and (time off) the values typed, to fill the form again."""

    message: str
    field: str | None
    shift_id: int | None = None
    swap_id: int | None = None
    form: str = "swap"
    request_id: int | None = None
    values: dict[str, str] | None = None


def form_error(
    error: OpsDeskError | None, *, form: str = "swap", values: dict[str, str] | None = None, **ids: int | None
) -> FormError | None:
    return None if error is None else FormError(error.message, error.field, form=form, values=values, **ids)


def error_status(error: OpsDeskError | None) -> int:
    """The status a page answers a refused form with: the API's for that error (200 without one)."""
    return 200 if error is None else STATUS_BY_ERROR.get(type(error), (400, ""))[0]


def overlapping(shift: AgentShift, approved: list[TimeOffRequest]) -> TimeOffRequest | None:
    return next((t for t in approved if t.starts_at < shift.ends_at and shift.starts_at < t.ends_at), None)


def swap_rows(session: Session, rows: list[ShiftSwap]) -> list[SwapRow]:
    return [SwapRow(s, session.get(AgentShift, s.shift_id)) for s in rows]


def _swaps(session: Session, user: User, clock: Clock, shifts: list[AgentShift]) -> dict[str, Any]:
    """Whom to offer to, which of the shown shifts can be offered (future, not already on offer), offers
    to answer and the agent's own offers (withdrawable until a lead approves)."""
    mine = swaps.swaps_offered_by(session, user)
    on_offer = {s.shift_id for s in mine if s.status in OPEN_SWAP}
    now = clock.now()
    return {
        "colleagues": swaps.colleagues_to_offer(session, user),
        "offerable": {s.id for s in shifts if s.starts_at > now and s.id not in on_offer},
        "offers_to_me": swap_rows(session, swaps.swaps_offered_to(session, user)),
        "my_offers": swap_rows(session, mine),
        "withdrawable": OPEN_SWAP,
    }


def schedule_page(
    request: Request,
    user: User,
    session: Session,
    clock: Clock,
    *,
    feed_url: str | None = None,
    error: OpsDeskError | None = None,
    shift_id: int | None = None,
    swap_id: int | None = None,
    form: str = "swap",
    values: dict[str, str] | None = None,
) -> Response:
    """The page; with ``error``, answered with the error's status and its message shown beside the form
    it refused (the offer of ``shift_id``, the row of ``swap_id``, or with ``form="time-off"`` the
    time-off form, filled again with ``values``)."""
    zone = zones.viewer_zone(user, request.cookies.get(zones.ZONE_COOKIE)).zone
    today = clock.now().astimezone(zone).date()
    start = datetime.combine(today, time(), zone)
    requests = list(queries.requests_of(session, user, ends_after=start - timedelta(days=SHOWN_DAYS)))
    approved = [r for r in requests if r.status is TimeOffStatus.APPROVED]
    shifts = published_shifts(session, user.id, start, start + timedelta(days=SHOWN_DAYS))
    return page(
        request,
        "schedule/mine.html",
        user,
        status_code=error_status(error),
        shifts=[ShiftRow(s, overlapping(s, approved)) for s in shifts],
        requests=requests,
        kinds=list(TimeOffKind),
        today=today,
        days=SHOWN_DAYS,
        feed_url=feed_url,
        has_feed=queries.has_feed_token(session, user),
        swap_error=form_error(error, form=form, values=values, shift_id=shift_id, swap_id=swap_id),
        **_swaps(session, user, clock, shifts),
    )
