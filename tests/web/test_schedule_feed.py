"""The agent's iCalendar feed over real HTTP: opened by the secret in its address, it parses as RFC 5545
and holds the published shifts and approved time off (a shift taken by time off is cancelled); a wrong
or regenerated secret is refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk.routing.admin import publish_shifts
from opsdesk.desk.routing.schemas import ShiftsIn
from opsdesk.web.time_off_flow import decide_and_publish
from opsdesk.workforce.time_off import actions
from opsdesk.workforce.time_off.models import TimeOffKind
from tests.conftest import LiveServer
from tests.factories import make_user


def test_feed_holds_shifts_and_time_off_and_refuses_a_wrong_token(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    bo = make_user(db, clock, Role.AGENT, email="bo@desk.test", tier=Tier.L1)
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    now, day, eight = clock.now(), timedelta(days=1), timedelta(hours=8)
    for agent in (ana, bo):
        week = ShiftsIn.model_validate(
            {
                "from": now,
                "to": now + 3 * day,
                "shifts": [{"starts_at": now + i * day, "ends_at": now + i * day + eight} for i in range(3)],
            }
        )
        publish_shifts(db, agent=agent, body=week, clock=clock, actor=lead)
    request = actions.request_time_off(
        db,
        agent=ana,
        kind=TimeOffKind.TRAINING,
        starts_at=now + day,
        ends_at=now + day + eight,
        note="",
        clock=clock,
    )
    decide_and_publish(db, request=request, approve=True, lead=lead, note="", clock=clock)
    actions.request_time_off(  # still pending: not in the feed
        db,
        agent=ana,
        kind=TimeOffKind.VACATION,
        starts_at=now + 2 * day,
        ends_at=now + 3 * day,
        note="",
        clock=clock,
    )
    token = actions.regenerate_feed_token(db, user=ana, clock=clock)
    db.commit()

    with httpx.Client(base_url=live_server.url) as anonymous:
        response = anonymous.get("/me/schedule.ics", params={"token": token})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/calendar")
        calendar = Calendar.from_ical(response.content)
        events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
        assert set(events) == {
            f"time-off-{request.id}@opsdesk",
            *(f"shift-{i}@opsdesk" for i in _shift_ids(db, ana.id)),
        }, "only Ana's own shifts and only approved time off (not the pending one)"
        time_off = events[f"time-off-{request.id}@opsdesk"]
        assert str(time_off["SUMMARY"]) == "Time off (training)"
        assert time_off.decoded("DTSTART") == now + day and time_off.decoded("DTEND") == now + day + eight
        statuses = sorted(
            (e.decoded("DTSTART"), str(e["STATUS"])) for e in events.values() if "shift" in str(e["UID"])
        )
        assert statuses == [(now, "CONFIRMED"), (now + day, "CANCELLED"), (now + 2 * day, "CONFIRMED")]

        assert anonymous.get("/me/schedule.ics", params={"token": "x" * 43}).status_code == 403
        assert anonymous.get("/me/schedule.ics", params={"token": "short"}).status_code == 400  # a page: 400
        new_token = actions.regenerate_feed_token(db, user=ana, clock=clock)
        db.commit()
        assert anonymous.get("/me/schedule.ics", params={"token": token}).status_code == 403
        assert anonymous.get("/me/schedule.ics", params={"token": new_token}).status_code == 200
    regenerated = select(Event).where(
        Event.type == "schedule_feed_token_regenerated", Event.subject_id == ana.id
    )
    assert len(db.scalars(regenerated).all()) == 2


def _shift_ids(db: Session, user_id: int) -> list[int]:
    from opsdesk.desk.routing.models import AgentShift

    return list(
        db.scalars(select(AgentShift.id).where(AgentShift.user_id == user_id, AgentShift.absence.is_(False)))
    )
