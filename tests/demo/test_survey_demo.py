"""The demo's surveys: CSAT and NPS answered at the rates support and CS teams see, reaching the
ticket, the account's health and the account page's figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event
from opsdesk.demo.loader import load_demo
from opsdesk.desk.models import Channel, Ticket
from opsdesk.desk.surveys.models import CsatRating, CsatSurvey
from opsdesk.desk.surveys.scale import Rating, Via
from opsdesk.success.health import queries as health_queries
from opsdesk.success.models import Account
from opsdesk.success.voice.models import NpsInvitation, NpsResponse, NpsSchedule


@pytest.fixture
def loaded(session_factory: sessionmaker[Session], clock: FixedClock) -> dict[str, int]:
    return load_demo(
        session_factory,
        clock=clock,
        organisations=300,
        tickets_per_day=60,
        history_days=45,
        success_accounts=200,
    )


def test_demo_surveys_answer_at_realistic_rates(
    loaded: dict[str, int], db: Session, clock: FixedClock
) -> None:
    ratings = db.scalars(select(CsatRating)).all()
    assert loaded["CSAT ratings"] == len(ratings) > 200
    offered = set(db.scalars(select(CsatSurvey.ticket_id)))  # the last 30 days' surveys
    emailed = [r for r in ratings if r.via is Via.EMAIL and r.ticket_id in offered]
    assert 0.17 < len(emailed) / len(offered) < 0.32  # about a quarter answer the email
    good = sum(r.rating is Rating.GOOD for r in ratings) / len(ratings)
    assert 0.8 < good < 0.93
    chats = {t for (t,) in db.execute(select(Ticket.id).where(Ticket.channel == Channel.CHAT))}
    assert {r.ticket_id for r in ratings if r.via is Via.CHAT} <= chats
    events = db.scalar(select(func.count()).select_from(Event).where(Event.type == "csat_received"))
    assert events == len(ratings)
    assert not offered & {r.ticket_id for r in ratings if r.via is Via.CHAT}

    assert db.scalar(select(func.count()).select_from(NpsSchedule)) == 2
    invitations = db.scalar(select(func.count()).select_from(NpsInvitation))
    responses = db.scalars(select(NpsResponse)).all()
    assert loaded["NPS responses"] == len(responses) and 0.18 < len(responses) / invitations < 0.32
    assert all(clock.now() - timedelta(days=366) < r.responded_at <= clock.now() for r in responses)
    nps_events = db.scalar(
        select(func.count()).select_from(Event).where(Event.type == "nps_response_recorded")
    )
    assert nps_events == len(responses)

    linked = db.scalars(select(Account.id).where(Account.organisation_id.is_not(None))).all()
    latest = [health_queries.latest_score(db, a) for a in linked]
    with_csat = [s for s in latest if s is not None and s.measures["csat"]["raw"] is not None]
    with_nps = [s for s in latest if s is not None and s.measures["nps"]["raw"] is not None]
    assert with_csat and with_nps
