"""Overload is refused with 503s at once, before any work starts, and only when the wait is too long."""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.types import Receive, Scope, Send

from opsdesk.web.load_shedding import Admission, LoadShedding
from tests.conftest import run_in_own_loop


def test_admission_runs_a_few_queues_the_next_and_refuses_a_long_wait() -> None:
    run_in_own_loop(_admission_runs_a_few_queues_the_next_and_refuses_a_long_wait())


async def _admission_runs_a_few_queues_the_next_and_refuses_a_long_wait() -> None:
    now = [100.0]
    admission = Admission(active=2, target=0.5, clock=lambda: now[0])
    admission.turn_seconds = 0.05  # as measured: a waiter starts every 50 ms
    first, second = await admission.enter(), await admission.enter()
    assert (first, second) == (100.0, 100.0)
    assert admission.running == 2
    # Full: the next ones wait, in arrival order, while their wait stays within the target: the 10th
    # would wait 10 x 0.05 s = 0.5 s (admitted), the 11th 0.55 s (refused at once, no waiting).
    waiting = [asyncio.ensure_future(admission.enter()) for _ in range(10)]
    await asyncio.sleep(0)
    assert admission.waiting == 10
    assert await admission.enter() is None
    assert admission.refused == 1
    # One finishing starts the first waiter in its place, and its time moves the estimate.
    now[0] = 100.3
    admission.leave(first)
    assert await waiting[0] == 100.3
    assert [w.done() for w in waiting[1:]] == [False] * 9
    assert admission.running == 2
    # A waiter that stops waiting (its client went away) leaves the queue without taking a turn.
    waiting[1].cancel()
    await asyncio.sleep(0)
    assert admission.waiting == 8
    now[0] = 100.32
    admission.leave(second)
    assert await waiting[2] == 100.32
    # Two starts 20 ms apart while the queue stood: the pace moves towards 20 ms.
    assert 0.02 < admission.turn_seconds < 0.05
    # Each one finishing starts the next waiter; when everyone has finished, nothing runs.
    for w in waiting[3:]:
        admission.leave(100.32)
        assert await w == 100.32
    admission.leave(100.32)
    admission.leave(100.32)
    assert (admission.running, admission.waiting) == (0, 0)


def test_a_waiter_whose_turn_never_comes_is_refused_after_the_target() -> None:
    async def scenario() -> None:
        admission = Admission(active=1, target=0.05)
        assert await admission.enter() is not None
        started = time.monotonic()
        assert await admission.enter() is None
        assert 0.04 < time.monotonic() - started < 1
        assert (admission.refused, admission.waiting, admission.running) == (1, 0, 1)

    run_in_own_loop(scenario())


async def _blocking_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands for request work that runs inline on the event loop (PostgreSQL in web.deps)."""
    time.sleep(0.05)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _flood(app: LoadShedding, paths: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await asyncio.gather(*(client.get(path) for path in paths))


async def _until_served(app: LoadShedding) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(50):
            await asyncio.sleep(0.1)
            answer = await client.get("/api/v1/tickets")
            if answer.status_code == 200:
                return answer
    return answer


def test_overload_answers_503_with_retry_after_and_recovers() -> None:
    run_in_own_loop(_overload_answers_503_with_retry_after_and_recovers())


async def _overload_answers_503_with_retry_after_and_recovers() -> None:
    app = LoadShedding(_blocking_app, target_seconds=0.2, active=2)
    answers = await _flood(app, ["/api/v1/tickets"] * 60 + ["/healthz", "/static/app.css", "/tickets"])
    statuses = [a.status_code for a in answers]
    assert statuses[0] == 200
    shed = [a for a in answers if a.status_code == 503]
    # 60 requests of 50 ms, two at a time, make a 1.5 s queue: all but the first few are refused, at
    # once, without waiting for the ones ahead of them.
    assert len(shed) >= 45
    assert set(statuses) == {200, 503}
    for answer in shed:
        assert answer.headers["retry-after"] == "1"
    api_refusal = next(a for a in shed if a.request.url.path.startswith("/api/"))
    assert api_refusal.json()["error"]["code"] == "unavailable"
    # The health check and static assets are never refused; pages are, with a page.
    assert answers[-3].status_code == 200
    assert answers[-2].status_code == 200
    assert answers[-1].status_code == 503
    assert answers[-1].headers["content-type"].startswith("text/html")
    assert app.admission.refused == len(shed)
    assert (app.admission.running, app.admission.waiting) == (0, 0)
    # Once the queue has drained, requests are served again.
    assert (await _until_served(app)).status_code == 200


def test_a_refusal_does_not_wait_for_the_work_ahead_of_it() -> None:
    run_in_own_loop(_a_refusal_does_not_wait_for_the_work_ahead_of_it())


async def _a_refusal_does_not_wait_for_the_work_ahead_of_it() -> None:
    """The point of refusing: the 503 comes before the client would have been served anyway. The two
    admitted requests cannot finish until the test lets them; the twenty after them are all answered
    503 meanwhile, none of them waiting for a turn."""
    release = asyncio.Event()

    async def held_app(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = LoadShedding(held_app, target_seconds=30, active=2)
    app.admission.turn_seconds = 50.0  # as measured: any wait in line would exceed the target
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        admitted = [asyncio.ensure_future(client.get("/api/v1/tickets")) for _ in range(2)]
        await asyncio.sleep(0.05)
        refused = await asyncio.gather(*(client.get("/api/v1/tickets") for _ in range(20)))
        assert {a.status_code for a in refused} == {503}
        assert not any(request.done() for request in admitted)
        assert app.admission.waiting == 0
        release.set()
        assert {a.status_code for a in await asyncio.gather(*admitted)} == {200}
    assert (app.admission.running, app.admission.refused) == (0, 20)


def test_target_zero_never_sheds() -> None:
    app = LoadShedding(_blocking_app, target_seconds=0)
    answers = run_in_own_loop(_flood(app, ["/api/v1/tickets"] * 30))
    assert {a.status_code for a in answers} == {200}
