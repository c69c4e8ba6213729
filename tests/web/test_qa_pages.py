"""The QA loop in a real browser: a reviewer reviews a ticket beside its conversation, the agent
disputes a category, the lead accepts with a corrected rating, and the agent's IQS on their page
changes accordingly."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Role
from opsdesk.quality import actions
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.quality.world import build_team, ratings, worked_ticket
from tests.web.browsing import sign_in

pytestmark = pytest.mark.browser


def test_review_dispute_accept_changes_the_agents_iqs(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    team = build_team(db, clock)
    # Signing in needs passwords: fresh people with them, on the same rubric.
    make_user(db, clock, Role.QA_REVIEWER, email="rev@qa.test")
    agent = make_user(db, clock, Role.AGENT, email="ana@qa.test")
    make_user(db, clock, Role.QA_LEAD, email="lee@qa.test")
    team.agent = agent
    ticket = worked_ticket(db, clock, team, agents=[agent], subject="Claim denied")
    append_event(
        db, subject_type="ticket", subject_id=ticket.id, type="call_completed", at=clock.now(),
        data={"call_id": "c1", "queue": None, "agent_id": agent.id, "wait_s": 40.0, "talk_s": 420.0,
              "hold_s": 60.0, "wrap_s": 90.0, "abandoned": False, "voicemail": False},
    )  # fmt: skip
    db.commit()

    page = browser.new_page()
    sign_in(page, live_server, "rev@qa.test")
    page.goto(f"{live_server.url}/qa/review/{ticket.id}?agent={agent.id}")
    assert "looking into it" in page.get_by_test_id("conversation").inner_text()
    assert "7m" in page.get_by_test_id("calls").inner_text()  # the call's talk time beside the rubric
    form = page.get_by_test_id("rubric")
    form.locator("select[name=rating_empathy]").select_option("2")
    form.locator("select[name=rating_tone]").select_option("3")
    form.locator("select[name=rating_solution]").select_option("2")
    form.locator("select[name=rating_privacy]").select_option("1")
    form.locator("input[name=comment_solution]").fill("Offered a workaround, not the fix")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/qa/queue")
    page.context.clear_cookies()

    sign_in(page, live_server, "ana@qa.test")
    page.goto(f"{live_server.url}/qa")
    page.wait_for_url("**/qa/me")
    # (33.3*20 + 100*10 + 25*50 + 100*5) / 85 = 40.2
    assert page.get_by_test_id("my-iqs").inner_text() == "40.2%"
    assert "Offered a workaround" in page.content()
    section = page.locator("section[data-testid^=review-]")
    section.locator("select[name=category_key]").select_option("solution")
    section.locator("input[name=reason]").fill("The KB article says this is the fix")
    section.locator("button[type=submit]").click()
    page.wait_for_url("**/qa/me")
    assert "Dispute (solution): open" in page.content()
    page.context.clear_cookies()

    sign_in(page, live_server, "lee@qa.test")
    page.goto(f"{live_server.url}/qa")
    page.wait_for_url("**/qa/lead")
    dispute = page.locator("section[data-testid^=dispute-]")
    assert "The KB article" in dispute.inner_text()
    dispute.locator("input[name=corrected]").fill("4")
    dispute.locator("button[value=accept]").click()
    page.wait_for_url("**/qa/lead")
    assert page.locator("section[data-testid^=dispute-]").count() == 0
    assert "69.6%" in page.get_by_test_id("iqs-by-agent").inner_text()
    page.context.clear_cookies()

    sign_in(page, live_server, "ana@qa.test")
    page.goto(f"{live_server.url}/qa/me")
    # solution 4/5 -> 75: (666.7 + 1000 + 3750 + 500) / 85 = 69.6
    assert page.get_by_test_id("my-iqs").inner_text() == "69.6%"
    assert "corrected from 40.2%" in page.content()
    page.close()


def test_review_page_refuses_what_the_reviewer_may_not_read(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    team = build_team(db, clock)
    make_user(db, clock, Role.QA_REVIEWER, email="rev2@qa.test")
    secret = worked_ticket(db, clock, team, agents=[team.agent], sensitive=True)
    reviewed = worked_ticket(db, clock, team, agents=[team.agent])
    actions.submit_review(
        db, reviewer=team.reviewer, ticket=reviewed, agent=team.agent, version=team.version,
        ratings=ratings(empathy=4, tone=3, solution=5, privacy=1), clock=clock,
    )  # fmt: skip
    db.commit()
    page = browser.new_page()
    sign_in(page, live_server, "rev2@qa.test")
    response = page.goto(f"{live_server.url}/qa/review/{secret.id}")
    assert response is not None and response.status == 404
    response = page.goto(f"{live_server.url}/qa/lead")
    assert response is not None and response.status == 403
    page.close()


def test_lead_coaches_and_calibrates_from_the_page_and_the_agent_is_notified(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    team = build_team(db, clock)
    agent = make_user(db, clock, Role.AGENT, email="ana@qa.test")
    make_user(db, clock, Role.QA_LEAD, email="lee@qa.test")
    rev_a = make_user(db, clock, Role.QA_REVIEWER, email="rev-a@qa.test")
    rev_b = make_user(db, clock, Role.QA_REVIEWER, email="rev-b@qa.test")
    ticket = worked_ticket(db, clock, team, agents=[agent], subject="Calibrate me")
    db.commit()

    page = browser.new_page()
    sign_in(page, live_server, "lee@qa.test")
    page.goto(f"{live_server.url}/qa/lead")
    coaching = page.get_by_test_id("coaching-form")
    coaching.locator("select[name=agent_id]").select_option(str(agent.id))
    coaching.locator("select[name=kind]").select_option("goal")
    coaching.locator("input[name=body]").fill("Confirm the fix with the customer")
    coaching.locator("input[name=target_iqs]").fill("80")
    coaching.locator("button[type=submit]").click()
    page.wait_for_url("**/qa/lead")
    goals = page.get_by_test_id("open-goals").inner_text()
    assert "Confirm the fix with the customer" in goals and "80%" in goals and "no reviews yet" in goals

    calibration = page.get_by_test_id("calibration-form")
    calibration.locator("input[name=name]").fill("Week 49")
    calibration.locator("input[name=tickets]").fill(f"#{ticket.id}")
    calibration.locator(f"input[name=reviewer_ids][value='{rev_a.id}']").check()
    calibration.locator(f"input[name=reviewer_ids][value='{rev_b.id}']").check()
    calibration.locator("button[type=submit]").click()
    page.wait_for_url("**/qa/calibrations/*")
    assert page.get_by_test_id("blind").is_visible()
    assert f"Rate ticket #{ticket.id}" in page.content()
    page.context.clear_cookies()

    # The reviewer is asked to calibrate; the agent is told about the coaching goal.
    sign_in(page, live_server, "rev-a@qa.test")
    page.goto(f"{live_server.url}/qa/queue")
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    page.get_by_test_id("notifications").click()
    page.wait_for_url("**/notifications")
    assert "Week 49" in page.get_by_test_id("notification-list").inner_text()
    page.context.clear_cookies()

    sign_in(page, live_server, "ana@qa.test")
    page.goto(f"{live_server.url}/qa/me")
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    assert "so far no reviews" in page.content()
    page.goto(f"{live_server.url}/notifications")
    assert "added a coaching goal for you" in page.get_by_test_id("notification-qa_coaching").inner_text()
    page.goto(f"{live_server.url}/qa/me")
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("unread-count").count() == 0  # read once shown
    page.close()
