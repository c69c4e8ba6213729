"""Exactly-once enqueue across a kill -9: a dispatcher process killed before its commit leaves no
delivery and no cursor move; the next run enqueues each event once, and a run after that none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel
from opsdesk.desk.outbound_webhooks import actions
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.models import WebhookCursor, WebhookDelivery
from tests.factories import make_user

SRC = Path(__file__).resolve().parents[3] / "src"

_KILLED_DISPATCHER = """
import os, signal
from datetime import UTC, datetime
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_engine, make_session_factory, declare_write
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
import opsdesk.schema

session = make_session_factory(make_engine({url!r}))()
declare_write(session)
enqueued = dispatch(session, clock=FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
session.flush()
print(enqueued, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # after the rows are written, before the commit
"""


def test_a_dispatcher_killed_before_commit_enqueues_nothing_and_the_next_run_each_event_once(
    engine: Engine, db: Session, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    hook_settings = settings.model_copy(update={"webhook_allow_private_targets": True})
    actions.create_subscription(
        db,
        actor=None,
        clock=clock,
        settings=hook_settings,
        name="crm",
        url="http://127.0.0.1:9/hooks",
        event_types=["ticket_created", "message_added"],
    )
    requester = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    for n in range(5):
        desk_actions.create_ticket(
            db,
            requester=requester,
            subject=f"Ticket {n}",
            body_text="Hello",
            channel=Channel.EMAIL,
            clock=clock,
        )
    db.commit()

    url = engine.url.render_as_string(hide_password=False)
    script = textwrap.dedent(_KILLED_DISPATCHER.format(url=url))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    killed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert killed.stdout.strip() == "10"  # it had enqueued the ten, in a transaction that never committed

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert db.get(WebhookCursor, "events") is None  # made in the same transaction, gone with it

    with session_factory() as session, session.begin():
        assert dispatch(session, clock=clock) == 10
    with session_factory() as session, session.begin():
        assert dispatch(session, clock=clock) == 0
    db.expire_all()
    pairs = db.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.event_id)).all()
    assert len(pairs) == 10 == len(set(pairs))
