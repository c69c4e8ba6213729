"""`opsdesk serve --workers 2` on PostgreSQL: the workers share the port, each serves connections, a
killed worker is replaced, and SIGTERM stops everything. A real server in its own process group; which
worker holds a connection is read from /proc, as the kernel sees it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

import opsdesk
from opsdesk.web.workers import listening_sockets
from tests.conftest import PG_URL, free_port

SOURCES = str(Path(opsdesk.__file__).resolve().parents[1])
PATIENCE = 300.0  # seconds: a bound for a machine shared by many test runs, not a performance target


def until(condition_met: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition_met():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.2)


def workers_of(pid: int) -> list[int]:
    """The web workers of `opsdesk serve` (not multiprocessing's resource tracker)."""
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        children = [int(child) for child in fh.read().split()]
    workers = []
    for child in children:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                if b"spawn_main" in fh.read():
                    workers.append(child)
        except FileNotFoundError:
            continue
    return workers


def _server_side_inode(port: int, client_port: int) -> int | None:
    """The inode of the server's end of the connection from ``client_port`` to ``port``."""
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            local_port, remote_port = (int(fields[n].split(":")[1], 16) for n in (1, 2))
            if local_port == port and remote_port == client_port and int(fields[9]):
                return int(fields[9])
    return None


def _holder(inode: int, workers: list[int]) -> int | None:
    for worker in workers:
        for fd in os.listdir(f"/proc/{worker}/fd"):
            try:
                if os.readlink(f"/proc/{worker}/fd/{fd}") == f"socket:[{inode}]":
                    return worker
            except FileNotFoundError:
                continue
    return None


def served_by(port: int, count: int, workers: list[int]) -> dict[int | None, int]:
    """Open ``count`` connections and ask one request on each; how many each worker accepted. Read
    while the connection is open (the server closes an idle keep-alive connection after a few seconds)."""
    held: dict[int | None, int] = dict.fromkeys(workers, 0)
    for _ in range(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
            assert conn.sock is not None
            inode = _server_side_inode(port, conn.sock.getsockname()[1])
            holder = _holder(inode, workers) if inode is not None else None
            held[holder] = held.get(holder, 0) + 1
        finally:
            conn.close()
    return held


def answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers need PostgreSQL")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": SOURCES,
        "OPSDESK_DATABASE_URL": PG_URL,
        "OPSDESK_DATA_DIR": str(tmp_path),
        "OPSDESK_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from opsdesk.cli import main; main()", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 - the child writes it until it exits
        start_new_session=True,
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_two_workers_share_the_port_one_killed_is_replaced_and_sigterm_stops_all(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    until(lambda: answers(port), "the server answers")
    until(lambda: len(workers_of(process.pid)) == 2, "two workers")
    first = workers_of(process.pid)

    held = served_by(port, 24, first)
    assert None not in held, held
    assert all(count > 0 for count in held.values()), held  # the kernel spread them over both sockets

    killed, survivor = first
    os.kill(killed, signal.SIGKILL)
    until(lambda: len(set(workers_of(process.pid)) - {survivor, killed}) == 1, "a replacement worker")
    (replacement,) = set(workers_of(process.pid)) - {survivor}
    held = served_by(port, 24, [survivor, replacement])
    assert None not in held, held
    assert held[replacement] > 0, held  # it serves on the dead worker's socket

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=PATIENCE) == 0
    for worker in (survivor, replacement):
        assert not Path(f"/proc/{worker}").exists() or _state(worker) == "Z"
    assert not answers(port)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_a_port_already_served_is_refused_not_shared() -> None:
    """The workers' sockets allow sharing the port with each other; a second server must not join in."""
    port = free_port()
    first = listening_sockets("127.0.0.1", port, 2)
    try:
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", port, 2)
    finally:
        for sock in first:
            sock.close()
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", port, 1)
