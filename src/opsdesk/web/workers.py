"""Several web worker processes behind one port, supervised by `opsdesk serve`'s own process.

uvicorn's own multi-process mode shares one listening socket between its workers and kills any worker
that has not answered its health check within five seconds. On a busy machine a worker can take longer
than that just to import the application, so workers were killed as they started, again and again, and
the port never answered. Here every worker gets its own listening socket on the same port
(``SO_REUSEPORT``): the kernel spreads new connections evenly between the sockets, and a connection that
arrives while its worker is still starting waits in that socket's backlog instead of being refused. The
parent opens the sockets and keeps them, so a worker that dies is replaced on the same socket without
losing what is queued there; nothing is ever killed for starting slowly. Background jobs and the mail
listener run once, in the parent (see :mod:`opsdesk.web.server`), started once the workers are spawned:
the parent never builds the web application, and the workers import it while the jobs start.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn

log = logging.getLogger("uvicorn.error")
multiprocessing.allow_connection_pickling()  # a listening socket travels to its worker by pickling
_spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or engine of the parent's

APP = "opsdesk.web.server:served_app"
RESTART_PAUSE = 1.0  # seconds before replacing a worker that died soon after it started
QUICK_DEATH = 10.0  # a worker that lived less than this many seconds is restarted after RESTART_PAUSE
SHUTDOWN_TIMEOUT = 30.0  # seconds a worker has to finish its requests once asked to stop


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """One socket per worker. A plain bind comes first: sockets that allow sharing would otherwise
    silently share the port with another server already on it (another `opsdesk serve`, say)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(listening_socket(host, port))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def listening_socket(host: str, port: int) -> socket.socket:
    """One worker's socket; every worker's is bound to the same address, which SO_REUSEPORT allows."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _run_worker(config: uvicorn.Config, sock: socket.socket) -> None:
    """The worker process: build the application and serve it on this socket until SIGINT or SIGTERM."""
    config.configure_logging()
    uvicorn.Server(config).run(sockets=[sock])


class _Slot:
    """One socket and the worker process currently serving it."""

    def __init__(self, number: int, sock: socket.socket) -> None:
        self.number = number
        self.sock = sock
        self.process: SpawnProcess | None = None
        self.started_at = 0.0

    def start(self, config: uvicorn.Config) -> None:
        self.process = _spawn.Process(
            target=_run_worker, args=(config, self.sock), name=f"opsdesk-web-{self.number}"
        )
        self.process.start()
        self.started_at = time.monotonic()
        log.info("Started web worker %d [%s]", self.number, self.process.pid)


class Supervisor:
    """Start ``workers`` web processes on ``host:port``, replace those that die, stop them all on
    SIGINT or SIGTERM (each finishes the requests in hand)."""

    def __init__(self, *, host: str, port: int, workers: int, proxy_headers: bool = True) -> None:
        self.config = uvicorn.Config(
            APP, factory=True, host=host, port=port, log_level="info", proxy_headers=proxy_headers
        )
        self.workers = workers
        self.stopping = threading.Event()

    def run(self, *, beside: Callable[[], Callable[[], None]] | None = None) -> None:
        """Serve until SIGINT or SIGTERM. ``beside`` starts what runs in this process next to the
        workers (the background jobs) and returns the function that stops it: it starts once the
        workers are spawned, so they import the application while it starts, and it stops after
        them, so the work they handed it is finished."""
        sockets = listening_sockets(self.config.host, self.config.port, self.workers)
        slots = [_Slot(n, sock) for n, sock in enumerate(sockets)]
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        stop_beside: Callable[[], None] | None = None
        try:
            for slot in slots:
                slot.start(self.config)
            log.info(
                "Serving on http://%s:%d with %d workers", self.config.host, self.config.port, self.workers
            )
            if beside is not None:
                stop_beside = beside()
            self._watch(slots)
        finally:
            self._stop(slots)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for slot in slots:
                slot.sock.close()
            if stop_beside is not None:
                stop_beside()

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def _watch(self, slots: list[_Slot]) -> None:
        """Replace each worker that exits; a short wait so that a signal is noticed promptly."""
        while not self.stopping.is_set():
            running = {slot.process.sentinel: slot for slot in slots if slot.process is not None}
            for sentinel in wait(list(running), timeout=0.5):
                if self.stopping.is_set():
                    return
                slot = running[sentinel]  # type: ignore[index]
                assert slot.process is not None
                slot.process.join()
                lived = time.monotonic() - slot.started_at
                log.warning(
                    "Web worker %d [%s] exited with code %s after %.1f s; starting another",
                    slot.number,
                    slot.process.pid,
                    slot.process.exitcode,
                    lived,
                )
                if lived < QUICK_DEATH and self.stopping.wait(RESTART_PAUSE):
                    return
                slot.start(self.config)

    def _stop(self, slots: list[_Slot]) -> None:
        """Ask every worker to finish (SIGTERM: uvicorn's graceful shutdown), kill those that do not."""
        alive = [slot.process for slot in slots if slot.process is not None and slot.process.is_alive()]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT
        for process in alive:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning(
                    "Web worker [%s] did not stop in %.0f s; killing it", process.pid, SHUTDOWN_TIMEOUT
                )
                process.kill()
                process.join()
