"""Dashboards shared between processes (SQLite and PostgreSQL), over real HTTP: the snapshot job's
stored views answer a process that never computed them, a new ticket makes them out of date (the page
then computes afresh, and the job's next run stores the new numbers), and what is stored equals what
the dashboard computes from the KPI engine."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, User
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel
from opsdesk.insights.dashboards.boards import DASHBOARDS
from opsdesk.insights.dashboards.data import CACHE
from opsdesk.insights.dashboards.filters import DashboardFilter, default_period
from opsdesk.insights.dashboards.models import DashboardSnapshot
from opsdesk.insights.dashboards.snapshots import decode, refresh
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.signin_http import sign_in_http

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ticket(db: Session, clock: FixedClock, requester: User, at: datetime) -> None:
    clock.set(at)
    desk.create_ticket(
        db, requester=requester, subject="Help", body_text="please", channel=Channel.EMAIL, clock=clock
    )
    db.commit()


def created(client: httpx.Client) -> int:
    """Tickets created over the period, as the support dashboard's volume download gives them."""
    answer = client.get("/dashboards/support/volume.csv")
    assert answer.status_code == 200, answer.text
    return sum(int(row["created"]) for row in csv.DictReader(io.StringIO(answer.text)))


def computed_at(client: httpx.Client, board: str = "support") -> datetime:
    """The 'Computed ...' time the page shows."""
    answer = client.get(f"/dashboards/{board}")
    assert answer.status_code == 200, answer.text
    found = re.search(r'data-testid="dashboard-asof">Computed <time datetime="([^"]+)"', answer.text)
    assert found is not None, answer.text
    return datetime.fromisoformat(found.group(1))


def test_stored_views_answer_until_a_new_ticket_changes_the_numbers(
    db: Session, live_server: LiveServer, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    make_user(db, clock, Role.SUPPORT_LEAD, email="lead@example.com")
    rita = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    db.commit()
    for day in (10, 17):
        ticket(db, clock, rita, datetime(2026, 2, day, 10, tzinfo=UTC))
    clock.set(T0)
    CACHE.clear()
    first = sorted(refresh(session_factory, T0))  # as at start
    assert first == ["productivity_work", "sla", "success", "support", "tags"]
    assert refresh(session_factory, T0 + timedelta(seconds=30)) == []  # nothing changed: nothing computed

    with httpx.Client(base_url=live_server.url, timeout=60) as lead:
        sign_in_http(lead, "lead@example.com")
        CACHE.clear()  # a process that never computed the dashboard
        clock.set(T0 + timedelta(minutes=1))
        assert computed_at(lead) == T0 and created(lead) == 2  # the job's view, read

        ticket(db, clock, rita, T0 + timedelta(minutes=2))
        clock.set(T0 + timedelta(minutes=3))
        assert created(lead) == 2  # a view stays for five minutes after it was computed
        clock.set(T0 + timedelta(minutes=6))
        assert created(lead) == 3 and computed_at(lead) == T0 + timedelta(minutes=6)  # computed afresh
        assert computed_at(lead, "productivity") == T0 + timedelta(minutes=6)  # stored for this reader

        ticket(db, clock, rita, T0 + timedelta(minutes=7))
        later = T0 + timedelta(minutes=12)
        assert sorted(refresh(session_factory, later)) == ["productivity", *first]
        CACHE.clear()
        clock.set(later + timedelta(seconds=20))
        assert created(lead) == 4 and computed_at(lead) == later  # the job's new view, read

    start, end = default_period(T0.date())
    with session_factory() as session:
        stored = session.scalars(
            select(DashboardSnapshot).where(
                DashboardSnapshot.board == "support", DashboardSnapshot.computed_at == later
            )
        ).one()
        fresh = DASHBOARDS["support"].build(
            session, DashboardFilter(start, end), None, later, ZoneInfo("UTC")
        )
        assert decode(stored.body) == fresh  # the KPI engine's numbers, unchanged by storing them
