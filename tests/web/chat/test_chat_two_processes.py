"""Two `opsdesk serve` processes on one Redis: a visitor on one and an agent on the other talk; the
visitor's process is killed mid-chat (a message in flight), both clients reconnect to the survivor,
resend what was not acknowledged, and catch up from their last seq. Every message arrives, once."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed

from opsdesk.core.clock import SystemClock
from opsdesk.core.models import Role
from opsdesk.desk.models import Message
from tests.conftest import free_port
from tests.core.test_jobs import REDIS_URL, redis_unreachable
from tests.factories import make_token, make_user
from tests.web.chat.clients import ChatClient, start_chat
from tests.web.test_workers import SOURCES


def _until(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def two_servers(engine: Engine, tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    reason = redis_unreachable()
    if reason:
        pytest.skip(reason)
    prefix = f"test-chat-{secrets.token_hex(4)}"
    servers = []
    for n in range(2):
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": SOURCES,
            "OPSDESK_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "OPSDESK_DATA_DIR": str(tmp_path),
            "OPSDESK_SECRET_KEY": "two-process-test",
            "OPSDESK_REDIS_URL": REDIS_URL,
            "OPSDESK_CHAT_REDIS_PREFIX": prefix,
            "OPSDESK_PORT": str(port),
        }
        process = subprocess.Popen(
            [sys.executable, "-c", "from opsdesk.cli import main; main()", "serve", "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"serve-{n}.log", "wb"),  # noqa: SIM115 - the child writes it until it exits
            start_new_session=True,
        )
        servers.append((process, f"http://127.0.0.1:{port}"))
    try:
        for _process, url in servers:
            _until(lambda url=url: _answers(url), f"{url} to answer")  # type: ignore[misc]
        yield servers
    finally:
        for process, _url in servers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Side:
    """A client that resends what was not acknowledged and resumes from its last seq, as the widget
    and the console do."""

    def __init__(self, connect: Callable[[int], ChatClient]) -> None:
        self.connect = connect
        self.seen: dict[int, dict[str, Any]] = {}
        self.unacked: dict[str, str] = {}
        self.client = connect(0)

    def reconnect(self) -> None:
        self.client = self.connect(max(self.seen, default=0))
        for client_id, text in self.unacked.items():
            self.client.say(client_id, text)

    def say(self, client_id: str, text: str) -> None:
        self.unacked[client_id] = text
        self.client.say(client_id, text)

    def pump(self, until: Callable[[], bool], seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; seen {sorted(self.seen)}, unacked {self.unacked}")
            frame = self.client.next(timeout=seconds)
            if frame["type"] == "message":
                assert frame["seq"] not in self.seen or self.seen[frame["seq"]] == frame
                self.seen[frame["seq"]] = frame
            elif frame["type"] == "ack":
                self.unacked.pop(frame["client_id"], None)

    def texts(self) -> list[str]:
        return [self.seen[seq]["text"] for seq in sorted(self.seen)]


def test_a_killed_process_loses_and_doubles_nothing(
    two_servers: list[tuple[subprocess.Popen[bytes], str]], db: Session
) -> None:
    (first, first_url), (_second, second_url) = two_servers
    clock = SystemClock()  # the servers' clock: a token made at the fixture's date would have expired
    agent_user = make_user(db, clock, Role.AGENT, email="agent@two.example")
    bearer = make_token(db, clock, agent_user)
    db.commit()
    chat = start_chat(first_url, text="v0")
    visitor = Side(lambda last: ChatClient.visitor(first_url, chat["token"], last))
    agent = Side(lambda last: ChatClient.agent(second_url, chat["conversation_id"], bearer, last))
    sent = ["v0"]
    for n in range(1, 6):  # across the processes, through Redis
        visitor.say(f"v-{n}", f"v{n}")
        agent.pump(lambda n=n: f"v{n}" in agent.texts())  # type: ignore[misc]
        agent.say(f"a-{n}", f"a{n}")
        visitor.pump(lambda n=n: f"a{n}" in visitor.texts())  # type: ignore[misc]
        sent += [f"v{n}", f"a{n}"]
    visitor.say("v-6", "v6")  # in flight when its process dies
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    with pytest.raises((ConnectionClosed, TimeoutError)):
        visitor.pump(lambda: False, seconds=5)
    agent.say("a-6", "a6")  # while the visitor is away
    agent.pump(lambda: not agent.unacked)
    visitor.connect = lambda last: ChatClient.visitor(second_url, chat["token"], last)
    visitor.reconnect()
    visitor.say("v-7", "v7")
    sent += ["v6", "a6", "v7"]
    visitor.pump(lambda: not visitor.unacked and {"a6", "v6", "v7"} <= set(visitor.texts()))
    agent.pump(lambda: {"v6", "v7"} <= set(agent.texts()))
    visitor.client.close()
    agent.client.close()

    assert sorted(visitor.seen) == list(range(1, len(sent) + 1))  # no gap, none twice
    assert visitor.texts() == agent.texts()
    assert sorted(visitor.texts()) == sorted(sent)
    db.expire_all()
    stored = list(
        db.scalars(
            select(Message.body_text).where(Message.ticket_id == chat["ticket_id"]).order_by(Message.id)
        )
    )
    assert stored == visitor.texts()
