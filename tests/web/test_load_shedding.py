"""Overload is shed with quick 503s once the event loop runs a standing queue, and only then."""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.types import Receive, Scope, Send

from opsdesk.web.load_shedding import LoadShedding, Shedder
from tests.conftest import run_in_own_loop


def test_a_burst_is_served_and_a_standing_queue_is_shed() -> None:
    shedder = Shedder(target=0.5, interval=0.5)
    assert not shedder.should_shed(0.2, now=10.0)
    # Over the target, but not yet for the interval: a burst the loop will drain.
    assert not shedder.should_shed(0.7, now=11.0)
    assert not shedder.should_shed(0.4, now=11.1)
    # Over the target since the late timer was due (11.5 - 0.9 + 0.5 = 11.1), for 0.4 s: still admitted.
    assert not shedder.should_shed(0.9, now=11.5)
    assert shedder.should_shed(1.0, now=11.7)
    assert shedder.should_shed(0.6, now=12.0)
    # One measurement under the target admits again at once.
    assert not shedder.should_shed(0.3, now=12.1)
    assert not shedder.should_shed(0.6, now=12.2)


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
    app = LoadShedding(_blocking_app, target_seconds=0.2)
    answers = await _flood(app, ["/api/v1/tickets"] * 60 + ["/healthz", "/static/app.css", "/tickets"])
    statuses = [a.status_code for a in answers]
    assert statuses[0] == 200
    shed = [a for a in answers if a.status_code == 503]
    # 60 requests of 50 ms make a 3 s queue: most of them wait past the 0.2 s target and are refused.
    assert len(shed) >= 30
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
    assert app.shedder.shed_count == len(shed)
    # Once the queue has drained, requests are served again.
    assert (await _until_served(app)).status_code == 200


def test_target_zero_never_sheds() -> None:
    app = LoadShedding(_blocking_app, target_seconds=0)
    answers = run_in_own_loop(_flood(app, ["/api/v1/tickets"] * 30))
    assert {a.status_code for a in answers} == {200}
