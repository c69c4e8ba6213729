"""The bad inputs of issue 9 (defect 8) over real HTTP: ids above 2^31-1, huge offsets, NUL in text and
dates outside 1900-2200 are each a 422 naming the parameter, never a 500, and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success import actions as success
from opsdesk.success.playbooks.models import Task
from tests.conftest import LiveServer
from tests.factories import make_token, make_user

BIG = 2**31
IDS = [BIG, 2**53, 2**63]


@pytest.fixture
def admin(db: Session, clock: FixedClock, live_server: LiveServer) -> Iterator[tuple[httpx.Client, int]]:
    user = make_user(db, clock, Role.ADMIN, email="admin@desk.test", password=None)
    account = success.create_account(db, name="Acme", covered_lives=10, owner=None, clock=clock)
    token = make_token(db, clock, user)
    db.commit()
    with live_server.client(token) as client:
        client.timeout = httpx.Timeout(30)
        yield client, account.id


def _refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, (response.request.url, response.text)
    assert response.json()["error"]["field"] == field, response.text


PATHS = [
    ("/api/v1/tickets/{}/sla", "number"),
    ("/api/v1/accounts/{}/health", "account_id"),
    ("/api/v1/accounts/{}/utilisation", "account_id"),
    ("/api/v1/sla/policies/{}", "policy_id"),
    ("/api/v1/business-schedules/{}", "schedule_id"),
    ("/api/v1/playbooks/{}", "playbook_id"),
    ("/api/v1/tasks/{}", "task_id"),
    ("/api/v1/success-plans/{}", "plan_id"),
    ("/api/v1/escalations/{}", "escalation_id"),
    ("/api/v1/feedback/{}", "request_id"),
    ("/api/v1/opportunities/{}", "opportunity_id"),
    ("/api/v1/workforce/plans/{}", "plan_id"),
]


@pytest.mark.parametrize(("path", "field"), PATHS, ids=[p for p, _ in PATHS])
def test_ids_above_the_column_range_are_refused(
    admin: tuple[httpx.Client, int], path: str, field: str
) -> None:
    for big in IDS:
        _refused(admin[0].get(path.format(big)), field)


def test_query_ids_offsets_and_dates_are_bounded(admin: tuple[httpx.Client, int]) -> None:
    api, _ = admin
    _refused(api.get("/api/v1/opportunities", params={"offset": "1e28"}), "offset")
    _refused(api.get("/api/v1/opportunities", params={"offset": 10**12}), "offset")
    _refused(api.get("/api/v1/opportunities", params={"account_id": BIG}), "account_id")
    for path in ("/api/v1/tasks", "/api/v1/escalations", "/api/v1/feedback", "/api/v1/success-plans"):
        _refused(api.get(path, params={"account_id": BIG}), "account_id")
    _refused(api.get("/api/v1/escalations", params={"ticket": BIG}), "ticket")
    _refused(api.get("/api/v1/feedback", params={"product_area": "a\x00b"}), "product_area")
    _refused(api.get("/api/v1/pipeline/forecast", params={"from": "0040-10-01"}), "from")
    _refused(api.get("/api/v1/portfolio", params={"to": "2201-01-01"}), "to")
    _refused(api.get("/api/v1/health/trend", params={"from": "1899-12-31", "to": "2026-01-01"}), "from")
    _refused(api.get("/api/v1/feedback/ranking", params={"on": "0001-01-01"}), "on")
    _refused(api.get("/api/v1/tickets", params={"updated_since": "0040-01-01T00:00:00Z"}), "updated_since")


def _task(account_id: int, **extra: Any) -> dict[str, Any]:
    return {"account_id": account_id, "title": "Call", "due_on": "2026-03-10", **extra}


def test_bodies_refuse_nul_big_ids_and_far_dates(admin: tuple[httpx.Client, int], db: Session) -> None:
    api, account_id = admin
    _refused(api.post("/api/v1/tasks", json=_task(account_id, title="a\u0000b")), "title")
    _refused(api.post("/api/v1/tasks", json=_task(account_id, description="x\u0000")), "description")
    _refused(api.post("/api/v1/tasks", json=_task(BIG)), "account_id")
    _refused(api.post("/api/v1/tasks", json=_task(account_id, owner_id=2**53)), "owner_id")
    _refused(api.post("/api/v1/tasks", json=_task(account_id, due_on="0040-10-15")), "due_on")
    escalation = {"account_id": account_id, "severity": "sev2", "title": "Down", "note": "n\u0000"}
    _refused(api.post("/api/v1/escalations", json=escalation), "note")
    nps = {"account_id": account_id, "score": 9, "responded_at": "0040-01-01T00:00:00Z"}
    _refused(api.post("/api/v1/nps-responses", json=nps), "responded_at")
    playbook = {
        "name": "P",
        "trigger_kind": "stage_changed",
        "trigger_params": {"to": "a\u0000"},
        "templates": [{"title": "T"}],
    }
    response = api.post("/api/v1/playbooks", json=playbook)
    _refused(response, "trigger_params")
    assert "NUL" in response.json()["error"]["message"] and "(at to)" in response.json()["error"]["message"]
    assert db.scalar(select(func.count()).select_from(Task)) == 0
    made = api.post("/api/v1/tasks", json=_task(account_id))
    assert made.status_code == 201, made.text
