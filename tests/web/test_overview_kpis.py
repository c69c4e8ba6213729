"""The overview's KPI tiles (last 7 days) for those who may read insights: the engine's numbers, with
the command that gives the same; agents see the desk tiles only."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, Tier
from opsdesk.desk import actions as desk
from opsdesk.desk.models import AuthorKind, Channel, Status
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.browsing import sign_in
from tests.web.signin_http import sign_in_http


def tile(html: str, key: str) -> str:
    found = re.search(rf'data-testid="kpi-{key}">([^<]*)<', html)
    assert found is not None, key
    return found.group(1)


def a_week_of_tickets(db: Session, clock: FixedClock) -> None:
    now = clock.now()  # Monday 2 March 2026, 09:00 UTC: the tiles cover 24 February to 2 March
    make_user(db, clock, Role.SUPPORT_LEAD, email="lead@example.com")
    ana = make_user(db, clock, Role.AGENT, email="ana@example.com", tier=Tier.L1)
    bob = make_user(db, clock, Role.REQUESTER, email="bob@example.com")
    for created, reply, solve, rating in (
        (now - timedelta(days=3), timedelta(minutes=30), timedelta(hours=2), "good"),
        (now - timedelta(days=2), timedelta(minutes=90), timedelta(days=1), "bad"),
        (now - timedelta(days=9), timedelta(minutes=1), timedelta(minutes=2), "good"),  # before the week
    ):
        clock.set(created)
        ticket = desk.create_ticket(
            db, requester=bob, subject="Help", body_text="hi", channel=Channel.EMAIL, clock=clock
        )
        clock.set(created + reply)
        desk.add_message(
            db, ticket=ticket, author=ana, author_kind=AuthorKind.AGENT, public=True, channel=Channel.EMAIL,
            clock=clock, body_text="on it",
        )  # fmt: skip
        clock.set(created + solve)
        desk.change_status(db, ticket=ticket, to=Status.SOLVED, actor=ana, clock=clock)
        append_event(
            db, subject_type="ticket", subject_id=ticket.id, type="csat_received", at=clock.now(),
            data={"rating": rating, "score": None, "scale": "good_bad", "via": "email", "comment": False},
        )  # fmt: skip
    db.commit()
    clock.set(now)


def test_leads_see_the_weeks_kpis_and_agents_do_not(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    a_week_of_tickets(db, clock)
    with live_server.client() as lead:
        sign_in_http(lead, "lead@example.com")
        html = lead.get("/").text
    assert tile(html, "first_reply_time") == "1.0 h"  # median of 30 and 90 minutes
    assert tile(html, "full_resolution_time") == "13.0 h"  # median of 2 h and 24 h
    assert tile(html, "csat") == "50.0%"  # the week's two ratings; the older one is outside it
    assert tile(html, "sla_first_reply") == "-"  # no SLA policy: nothing measured
    command = "opsdesk kpi first_reply_time full_resolution_time sla_attainment csat"
    assert f"{command} --from 2026-02-24 --to 2026-03-02" in html

    with live_server.client() as agent:
        sign_in_http(agent, "ana@example.com")
        page = agent.get("/")
    assert page.status_code == 200 and 'data-testid="count-new"' in page.text
    assert 'data-testid="kpis"' not in page.text


@pytest.mark.browser
def test_the_tiles_show_in_the_browser(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    a_week_of_tickets(db, clock)
    page = sign_in(browser.new_page(), live_server, "lead@example.com")
    assert page.get_by_test_id("kpis").is_visible()
    assert page.get_by_test_id("kpi-first_reply_time").inner_text() == "1.0 h"
    assert page.get_by_test_id("kpi-csat").inner_text() == "50.0%"
    page.close()
