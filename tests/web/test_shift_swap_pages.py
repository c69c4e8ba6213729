"""Shift swaps in pages: in a real browser Ana offers a shift to Bo from her schedule, Bo accepts on his,
a lead approves on the swaps page and the shift is Bo's, and Ana withdraws another offer; over HTTP, an
agent cannot approve, a swap id that does not exist is the error page, a refused swap form is the schedule
page with its message and field, and an offer can be withdrawn only by its agent and until approved."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier, User
from opsdesk.desk.routing.admin import publish_shifts
from opsdesk.desk.routing.models import AgentShift
from opsdesk.desk.routing.schemas import ShiftsIn
from opsdesk.workforce.swaps.models import ShiftSwap, SwapStatus
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.browsing import sign_in
from tests.web.signin_http import page_csrf, sign_in_http


def _people_and_shifts(db: Session, clock: FixedClock) -> tuple[User, User, User, list[AgentShift]]:
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    bo = make_user(db, clock, Role.AGENT, email="bo@desk.test", tier=Tier.L1)
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    now, day = clock.now(), timedelta(days=1)
    week = ShiftsIn.model_validate(
        {
            "from": now,
            "to": now + 3 * day,
            "shifts": [
                {"starts_at": now + i * day, "ends_at": now + i * day + timedelta(hours=8)} for i in (1, 2)
            ],
        }
    )
    publish_shifts(db, agent=ana, body=week, clock=clock, actor=lead)
    db.commit()
    shifts = list(db.scalars(select(AgentShift).order_by(AgentShift.starts_at)))
    return ana, bo, lead, shifts


@pytest.mark.browser
def test_agent_offers_colleague_accepts_lead_approves(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana, bo, lead, shifts = _people_and_shifts(db, clock)
    tomorrow = shifts[0]

    page = sign_in(browser.new_page(), live_server, ana.email)
    page.goto(live_server.url + "/me/schedule")
    offer = page.get_by_test_id(f"offer-{tomorrow.id}")
    offer.get_by_label("Colleague").select_option(label=bo.name)
    offer.get_by_role("button", name="Offer").click()
    page.wait_for_url("**/me/schedule")
    swap = db.scalars(select(ShiftSwap)).one()
    mine = page.get_by_test_id(f"my-offer-{swap.id}")
    assert bo.name in mine.inner_text() and mine.get_by_test_id("status").inner_text() == "offered"
    assert page.get_by_test_id(f"offer-{tomorrow.id}").count() == 0  # on offer: not offered twice
    assert page.goto(live_server.url + "/workforce/shift-swaps").status == 403
    db.rollback()

    bo_page = sign_in(browser.new_page(), live_server, bo.email)
    bo_page.goto(live_server.url + "/me/schedule")
    offered = bo_page.get_by_test_id(f"offer-to-me-{swap.id}")
    assert ana.name in offered.inner_text()
    offered.get_by_role("button", name="Accept").click()
    bo_page.wait_for_url("**/me/schedule")
    assert "No shift is offered to you" in bo_page.get_by_test_id("offers-to-me").inner_text()

    lead_page = sign_in(browser.new_page(), live_server, lead.email)
    lead_page.goto(live_server.url + "/me/schedule")
    lead_page.get_by_role("link", name="Swaps waiting for approval").click()
    lead_page.wait_for_url("**/workforce/shift-swaps")
    waiting = lead_page.get_by_test_id(f"swap-{swap.id}")
    assert ana.name in waiting.inner_text() and bo.name in waiting.inner_text()
    waiting.get_by_role("button", name="Approve").click()
    lead_page.wait_for_url("**/workforce/shift-swaps")
    assert "No swap waits for approval" in lead_page.get_by_test_id("waiting-swaps").inner_text()
    lead_page.close()

    page.goto(live_server.url + "/me/schedule")
    approved_row = page.get_by_test_id(f"my-offer-{swap.id}")
    assert approved_row.get_by_test_id("status").inner_text() == "approved"
    assert approved_row.get_by_role("button", name="Withdraw").count() == 0
    assert page.get_by_test_id(f"shift-{tomorrow.id}").count() == 0
    # Ana offers her other shift, then thinks better of it
    later = page.get_by_test_id(f"offer-{shifts[1].id}")
    later.get_by_label("Colleague").select_option(label=bo.name)
    later.get_by_role("button", name="Offer").click()
    page.wait_for_url("**/me/schedule")
    second = db.scalars(select(ShiftSwap).where(ShiftSwap.id != swap.id)).one()
    db.rollback()
    page.get_by_test_id(f"my-offer-{second.id}").get_by_role("button", name="Withdraw").click()
    page.wait_for_url("**/me/schedule")
    assert page.get_by_test_id(f"my-offer-{second.id}").get_by_test_id("status").inner_text() == "withdrawn"
    assert page.get_by_test_id(f"offer-{shifts[1].id}").count() == 1  # offerable again
    bo_page.goto(live_server.url + "/me/schedule")
    assert bo_page.get_by_test_id(f"shift-{tomorrow.id}").count() == 1
    page.close()
    bo_page.close()

    db.expire_all()
    assert db.get_one(AgentShift, tomorrow.id).user_id == bo.id
    assert db.get_one(AgentShift, shifts[1].id).user_id == ana.id
    stored = db.get_one(ShiftSwap, swap.id)
    assert (stored.status, stored.decided_by_id) == (SwapStatus.APPROVED, lead.id)
    events = select(Event.type).where(Event.subject_type == "shift_swap").order_by(Event.id)
    assert db.scalars(events.where(Event.subject_id == swap.id)).all() == [
        "shift_swap_offered", "shift_swap_accepted", "shift_swap_approved"
    ]  # fmt: skip
    assert db.get_one(ShiftSwap, second.id).status is SwapStatus.WITHDRAWN


def _refusal(answer: httpx.Response) -> tuple[str, str]:
    """The schedule page's refusal: (field, message); fails if the answer is not the schedule page."""
    assert "<h1>My schedule</h1>" in answer.text, answer.text[:500]
    found = re.search(r'data-testid="swap-error" data-field="([^"]*)">([^<]*)<', answer.text)
    assert found is not None, answer.text[:500]
    return found.group(1), html.unescape(found.group(2))


def _client(server: LiveServer, email: str) -> httpx.Client:
    client = server.client()
    sign_in_http(client, email)
    return client


def test_agent_cannot_approve_and_bad_swaps_are_pages_with_a_message(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana, bo, lead, shifts = _people_and_shifts(db, clock)
    ana_web, bo_web, lead_web = (_client(live_server, u.email) for u in (ana, bo, lead))
    ana_csrf, bo_csrf, lead_csrf = (page_csrf(c, "/me/schedule") for c in (ana_web, bo_web, lead_web))

    offered = ana_web.post(
        "/me/shift-swaps", data={"csrf_token": ana_csrf, "shift_id": shifts[0].id, "to_user_id": bo.id}
    )
    assert offered.status_code == 303, offered.text
    swap = db.scalars(select(ShiftSwap)).one()
    db.rollback()

    # A form without its CSRF token changes nothing; Bo accepts, then cannot approve as a lead would.
    forged = bo_web.post(f"/me/shift-swaps/{swap.id}", data={"answer": "accept"})
    assert forged.status_code == 400 and "reload the page" in forged.text
    db.expire_all()
    assert db.get_one(ShiftSwap, swap.id).status is SwapStatus.OFFERED
    db.rollback()
    assert (
        bo_web.post(
            f"/me/shift-swaps/{swap.id}", data={"csrf_token": bo_csrf, "answer": "accept"}
        ).status_code
        == 303
    )
    refused = bo_web.post(
        f"/workforce/shift-swaps/{swap.id}", data={"csrf_token": bo_csrf, "decision": "approve"}
    )
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert ana_web.get("/workforce/shift-swaps").status_code == 403

    missing = lead_web.post(
        "/workforce/shift-swaps/999999", data={"csrf_token": lead_csrf, "decision": "approve"}
    )
    assert missing.status_code == 404 and "no such shift swap" in missing.text
    out_of_range = lead_web.post(
        "/workforce/shift-swaps/0", data={"csrf_token": lead_csrf, "decision": "approve"}
    )
    assert out_of_range.status_code == 404
    bad_decision = lead_web.post(
        f"/workforce/shift-swaps/{swap.id}", data={"csrf_token": lead_csrf, "decision": "maybe"}
    )
    assert bad_decision.status_code == 400 and "decision" in bad_decision.text
    # A refused swap form is the schedule page again, with the message and the field at fault.
    not_mine = ana_web.post(f"/me/shift-swaps/{swap.id}", data={"csrf_token": ana_csrf, "answer": "decline"})
    assert not_mine.status_code == 403 and _refusal(not_mine) == (
        "",
        "this shift was offered to someone else",
    )
    twice = ana_web.post(
        "/me/shift-swaps", data={"csrf_token": ana_csrf, "shift_id": shifts[0].id, "to_user_id": bo.id}
    )
    assert twice.status_code == 409 and _refusal(twice) == ("", "this shift is already offered")
    to_self = ana_web.post(
        "/me/shift-swaps", data={"csrf_token": ana_csrf, "shift_id": shifts[1].id, "to_user_id": ana.id}
    )
    assert to_self.status_code == 422
    assert _refusal(to_self) == ("to_user_id", "offer the shift to another active agent")
    offer_form = re.search(rf'data-testid="offer-{shifts[1].id}".*?</form>', to_self.text, re.S)
    assert offer_form is not None and 'aria-invalid="true"' in offer_form.group(0)
    assert 'data-testid="offer-error"' in offer_form.group(0)
    not_hers = bo_web.post(f"/me/shift-swaps/{swap.id}/withdraw", data={"csrf_token": bo_csrf})
    assert not_hers.status_code == 403 and "only the agent who offered" in _refusal(not_hers)[1]

    db.expire_all()
    stored = db.get_one(ShiftSwap, swap.id)
    assert (stored.status, db.get_one(AgentShift, shifts[0].id).user_id) == (SwapStatus.ACCEPTED, ana.id)
    assert db.scalars(select(ShiftSwap)).all() == [stored]


def test_withdraw_from_the_schedule_until_approved(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    ana, bo, lead, shifts = _people_and_shifts(db, clock)
    ana_web, bo_web, lead_web = (_client(live_server, u.email) for u in (ana, bo, lead))
    ana_csrf, bo_csrf, lead_csrf = (page_csrf(c, "/me/schedule") for c in (ana_web, bo_web, lead_web))
    for shift in shifts:
        offered = ana_web.post(
            "/me/shift-swaps", data={"csrf_token": ana_csrf, "shift_id": shift.id, "to_user_id": bo.id}
        )
        assert offered.status_code == 303, offered.text
    first, second = db.scalars(select(ShiftSwap).order_by(ShiftSwap.id)).all()
    db.rollback()
    assert f'action="/me/shift-swaps/{first.id}/withdraw"' in ana_web.get("/me/schedule").text

    withdrawn = ana_web.post(f"/me/shift-swaps/{first.id}/withdraw", data={"csrf_token": ana_csrf})
    assert withdrawn.status_code == 303
    schedule = ana_web.get("/me/schedule").text
    assert f'action="/me/shift-swaps/{first.id}/withdraw"' not in schedule
    assert f'data-testid="offer-{shifts[0].id}"' in schedule  # the shift can be offered again
    assert f'data-testid="offer-to-me-{first.id}"' not in bo_web.get("/me/schedule").text

    accepted = bo_web.post(f"/me/shift-swaps/{second.id}", data={"csrf_token": bo_csrf, "answer": "accept"})
    assert accepted.status_code == 303
    approved = lead_web.post(
        f"/workforce/shift-swaps/{second.id}", data={"csrf_token": lead_csrf, "decision": "approve"}
    )
    assert approved.status_code == 303
    late = ana_web.post(f"/me/shift-swaps/{second.id}/withdraw", data={"csrf_token": ana_csrf})
    assert late.status_code == 409 and "already approved" in _refusal(late)[1]
    again = lead_web.post(
        f"/workforce/shift-swaps/{first.id}", data={"csrf_token": lead_csrf, "decision": "approve"}
    )  # a refused decision is the swaps page with the message
    assert again.status_code == 409 and "<h1>Shift swaps</h1>" in again.text
    assert 'data-testid="swap-error"' in again.text and "withdrawn" in again.text

    db.expire_all()
    assert db.get_one(ShiftSwap, first.id).status is SwapStatus.WITHDRAWN
    assert db.get_one(ShiftSwap, second.id).status is SwapStatus.APPROVED
    assert (db.get_one(AgentShift, shifts[0].id).user_id, db.get_one(AgentShift, shifts[1].id).user_id) == (
        ana.id, bo.id,
    )  # fmt: skip
    types = select(Event.type).where(Event.subject_id == first.id, Event.subject_type == "shift_swap")
    assert db.scalars(types.order_by(Event.id)).all() == ["shift_swap_offered", "shift_swap_withdrawn"]
