"""Refused time-off forms over HTTP: a request with its days reversed, a day missing or not a date, or a
kind that does not exist answers the schedule page again with the API's status, the message at the top,
the field at fault marked and the typed values kept, and stores nothing; a lead's refused decision (their
own request, or one already decided) stays on the pending page with its message."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.workforce.time_off.models import TimeOffRequest, TimeOffStatus
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.signin_http import page_csrf, sign_in_http


def _client(server: LiveServer, email: str) -> httpx.Client:
    client = server.client()
    sign_in_http(client, email)
    return client


def _refusal(answer: httpx.Response, testid: str, heading: str) -> tuple[str, str]:
    """(field, message) of the page's refusal banner; fails if the answer is not that page."""
    assert f"<h1>{heading}</h1>" in answer.text, answer.text[:500]
    found = re.search(rf'data-testid="{testid}" data-field="([^"]*)">([^<]*)<', answer.text)
    assert found is not None, answer.text[:500]
    return found.group(1), html.unescape(found.group(2))


def _time_off_form(answer: httpx.Response) -> str:
    form = re.search(r'<form method="post" action="/me/time-off".*?</form>', answer.text, re.S)
    assert form is not None
    return form.group(0)


def _stored(db: Session) -> tuple[int, int]:
    """Requests and time-off events in the database, read in a fresh transaction."""
    db.rollback()
    db.expire_all()
    requests = db.scalar(select(func.count()).select_from(TimeOffRequest)) or 0
    events = select(func.count()).select_from(Event).where(Event.type.like("time_off_%"))
    return requests, db.scalar(events) or 0


def test_refused_time_off_request_is_the_schedule_page_and_stores_nothing(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    db.commit()
    web = _client(live_server, ana.email)
    csrf = page_csrf(web, "/me/schedule")
    good = {"csrf_token": csrf, "kind": "vacation", "first_day": "2026-03-10", "last_day": "2026-03-12"}

    reversed_days = web.post("/me/time-off", data={**good, "last_day": "2026-03-08", "note": "Trip & back"})
    assert reversed_days.status_code == 422
    assert _refusal(reversed_days, "time-off-error", "My schedule") == (
        "last_day",
        "time off must end after it starts",
    )
    form = _time_off_form(reversed_days)
    assert re.search(r'name="last_day"[^>]*aria-invalid="true"', form)
    assert not re.search(r'name="first_day"[^>]*aria-invalid', form)
    assert 'value="2026-03-10"' in form and 'value="Trip &amp; back"' in form  # typed values kept
    assert '<option value="vacation" selected>' in form
    assert 'data-testid="time-off-form-error"' in form
    assert 'data-testid="swap-error"' not in reversed_days.text

    too_long = web.post("/me/time-off", data={**good, "last_day": "2027-06-01"})
    assert too_long.status_code == 422
    assert _refusal(too_long, "time-off-error", "My schedule") == (
        "last_day",
        "one request covers at most 366 days",
    )
    missing = web.post(
        "/me/time-off", data={"csrf_token": csrf, "kind": "vacation", "last_day": "2026-03-12"}
    )
    assert missing.status_code == 422
    assert _refusal(missing, "time-off-error", "My schedule") == ("first_day", "first day is required")
    not_a_date = web.post("/me/time-off", data={**good, "last_day": "12/03/2026"})
    assert not_a_date.status_code == 422
    field, message = _refusal(not_a_date, "time-off-error", "My schedule")
    assert field == "last_day" and "is not a date" in message
    bad_kind = web.post("/me/time-off", data={**good, "kind": "holiday"})
    assert bad_kind.status_code == 422
    assert _refusal(bad_kind, "time-off-error", "My schedule") == ("kind", "choose a kind of time off")
    assert re.search(r'name="kind"[^>]*aria-invalid="true"', _time_off_form(bad_kind))
    assert _stored(db) == (0, 0)

    accepted = web.post("/me/time-off", data=good)  # the same form, right, is stored: the check can fail
    assert accepted.status_code == 303, accepted.text[:500]
    assert _stored(db) == (1, 1)


def test_refused_time_off_decision_stays_on_the_pending_page(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    lee = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    max_id = make_user(db, clock, Role.SUPPORT_LEAD, email="max@desk.test").id
    db.commit()
    ana_id, lee_id = ana.id, lee.id
    lee_web, max_web, ana_web = (
        _client(live_server, e) for e in ("lee@desk.test", "max@desk.test", ana.email)
    )
    days = {"kind": "vacation", "first_day": "2026-03-10", "last_day": "2026-03-10"}
    for web in (lee_web, ana_web):
        posted = web.post("/me/time-off", data={"csrf_token": page_csrf(web, "/me/schedule"), **days})
        assert posted.status_code == 303, posted.text[:500]
    db.rollback()
    own = db.scalars(select(TimeOffRequest).where(TimeOffRequest.user_id == lee_id)).one()
    hers = db.scalars(select(TimeOffRequest).where(TimeOffRequest.user_id == ana_id)).one()
    own_id, hers_id = own.id, hers.id
    db.rollback()

    lee_csrf = page_csrf(lee_web, "/workforce/time-off")
    refused = lee_web.post(
        f"/workforce/time-off/{own_id}", data={"csrf_token": lee_csrf, "decision": "approve"}
    )
    assert refused.status_code == 403
    assert _refusal(refused, "decision-error", "Time-off requests") == (
        "",
        "another lead decides your own time off",
    )
    assert f'data-testid="pending-{own_id}" aria-invalid="true"' in refused.text
    max_csrf = page_csrf(max_web, "/workforce/time-off")
    decided = max_web.post(
        f"/workforce/time-off/{hers_id}", data={"csrf_token": max_csrf, "decision": "reject"}
    )
    assert decided.status_code == 303
    again = lee_web.post(
        f"/workforce/time-off/{hers_id}", data={"csrf_token": lee_csrf, "decision": "approve"}
    )
    assert again.status_code == 409
    assert _refusal(again, "decision-error", "Time-off requests") == ("", "this request is already rejected")
    missing = lee_web.post("/workforce/time-off/999999", data={"csrf_token": lee_csrf, "decision": "approve"})
    assert missing.status_code == 404 and "<h1>Time-off requests</h1>" not in missing.text

    db.rollback()
    db.expire_all()
    assert db.get_one(TimeOffRequest, own_id).status is TimeOffStatus.PENDING
    stored = db.get_one(TimeOffRequest, hers_id)
    assert (stored.status, stored.decided_by_id) == (TimeOffStatus.REJECTED, max_id)
