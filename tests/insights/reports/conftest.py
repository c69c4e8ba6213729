"""Two weeks of desk history written through the desk's own actions, for the weekly report tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Role, Tier, User
from opsdesk.core.settings import get_settings
from opsdesk.desk import actions as desk
from opsdesk.desk.models import AuthorKind, Channel, Group, Status
from opsdesk.desk.sla import actions as sla
from tests.factories import make_user

PREVIOUS = datetime(2026, 3, 2, tzinfo=UTC)  # Monday of ISO week 2026-W10
CURRENT = datetime(2026, 3, 9, tzinfo=UTC)  # Monday of ISO week 2026-W11
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


@dataclass
class Desk:
    db: Session
    clock: FixedClock
    requester: User

    def ticket(
        self,
        created: datetime,
        channel: Channel,
        agent: User,
        group: Group,
        *,
        reply_after: timedelta | None,
        solve_after: timedelta | None,
        rating: str | None = None,
        reopen: tuple[timedelta, timedelta] | None = None,
    ) -> None:
        """``reopen``: after the solve, reopened and solved again at these times after creation."""
        self.clock.set(created)
        ticket = desk.create_ticket(
            self.db,
            requester=self.requester,
            subject="Help",
            body_text="please",
            channel=channel,
            clock=self.clock,
            group=group,
            assignee=agent,
        )
        if reply_after is not None:
            self.clock.set(created + reply_after)
            desk.add_message(
                self.db,
                ticket=ticket,
                author=agent,
                author_kind=AuthorKind.AGENT,
                public=True,
                channel=channel,
                clock=self.clock,
                body_text="answer",
            )
        if solve_after is not None:
            self.clock.set(created + solve_after)
            desk.change_status(self.db, ticket=ticket, to=Status.SOLVED, actor=agent, clock=self.clock)
        if reopen is not None:
            for when, status in zip(reopen, (Status.OPEN, Status.SOLVED), strict=True):
                self.clock.set(created + when)
                desk.change_status(self.db, ticket=ticket, to=status, actor=agent, clock=self.clock)
        if rating is not None:
            append_event(
                self.db,
                subject_type="ticket",
                subject_id=ticket.id,
                type="csat_received",
                at=self.clock.now(),
                data={"rating": rating, "score": None, "scale": "good_bad", "via": "email", "comment": False},
            )


@pytest.fixture
def two_weeks(
    engine: Engine, db: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """Ana (Lisbon, Billing) and Ben (Austin, Tech) answer email and chat over two ISO weeks; a 24x7 SLA
    policy (first reply 60 min, resolution 8 h) applies to every ticket.

    Previous week: email 1 h reply / 3 h solve (good rating); chat 10 min / 1 h.
    Current week: email 4 h / 8.5 h (bad rating); email 2 h / 20 h, reopened at 22 h and solved at 26 h;
    chat 5 min, unsolved; chat 30 min / 2 h (good rating)."""
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPSDESK_SMTP_URL", "")
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    sla.create_sla_policy(
        db,
        name="Standard",
        targets={"normal": {"first_reply": 60, "resolution": 480}},
        actor=None,
        clock=clock,
    )
    lisbon = core.create_site(db, name="Lisbon", timezone="Europe/Lisbon")
    austin = core.create_site(db, name="Austin", timezone="America/Chicago")
    ana = make_user(db, clock, Role.AGENT, email="ana@example.com", tier=Tier.L1)
    ben = make_user(db, clock, Role.AGENT, email="ben@example.com", tier=Tier.L1)
    ana.site_id, ben.site_id = lisbon.id, austin.id
    billing = core.create_group(db, name="Billing")
    tech = core.create_group(db, name="Tech")
    core.add_to_group(db, group=billing, user=ana, clock=clock)
    core.add_to_group(db, group=tech, user=ben, clock=clock)
    alice = make_user(db, clock, Role.REQUESTER, email="alice@acme.test")
    d = Desk(db, clock, alice)
    h = timedelta(hours=1)
    d.ticket(PREVIOUS + 9 * h, Channel.EMAIL, ana, billing, reply_after=h, solve_after=3 * h, rating="good")
    d.ticket(PREVIOUS + 34 * h, Channel.CHAT, ben, tech, reply_after=h / 6, solve_after=h)
    d.ticket(
        CURRENT + 9 * h, Channel.EMAIL, ana, billing, reply_after=4 * h, solve_after=8.5 * h, rating="bad"
    )
    d.ticket(
        CURRENT + 12 * h,
        Channel.EMAIL,
        ana,
        billing,
        reply_after=2 * h,
        solve_after=20 * h,
        reopen=(22 * h, 26 * h),
    )
    d.ticket(CURRENT + 33 * h, Channel.CHAT, ben, tech, reply_after=h / 12, solve_after=None)
    d.ticket(CURRENT + 58 * h, Channel.CHAT, ben, tech, reply_after=h / 2, solve_after=2 * h, rating="good")
    db.commit()
    clock.set(NOW)
    yield db
    get_settings.cache_clear()
