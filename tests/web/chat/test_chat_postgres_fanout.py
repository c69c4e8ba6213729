"""Without Redis, on PostgreSQL, two web processes' worth of apps fan out through NOTIFY: a visitor on
one and an agent on the other talk live; a message too large for a notification arrives through a
sync hint and a read from the database."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.web.app import create_app
from tests.conftest import serving
from tests.factories import make_token, make_user
from tests.web.chat.clients import ChatClient, start_chat


def test_two_apps_on_one_postgresql_talk_through_notify(
    engine: Engine, clock: FixedClock, settings: Settings, db: Session
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("NOTIFY fan-out is PostgreSQL's")
    agent_user = make_user(db, clock, Role.AGENT, email="agent@pg.example")
    bearer = make_token(db, clock, agent_user)
    db.commit()
    with (
        serving(create_app(settings, engine=engine, clock=clock)) as one,
        serving(create_app(settings, engine=engine, clock=clock)) as two,
    ):
        chat = start_chat(one.url)
        visitor = ChatClient.visitor(one.url, chat["token"])
        visitor.until("message", seq=1)
        agent = ChatClient.agent(two.url, chat["conversation_id"], bearer)
        agent.until("message", seq=1)
        visitor.say("c-2", "Is anyone there?")
        assert agent.until("message", seq=2)["text"] == "Is anyone there?"
        long = "x" * 9000
        agent.say("a-1", long)
        assert visitor.until("sync")["seq"] == 3  # too large to notify: the visitor asks again
        visitor.send({"type": "hello", "token": chat["token"], "last_seq": 2})
        assert visitor.until("message", seq=3)["text"] == long
        visitor.close()
        agent.close()
