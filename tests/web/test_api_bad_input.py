"""Bad input over real HTTP gets a clear 4xx naming the field, never a 500 and never a half-written ticket."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier
from opsdesk.core.settings import Settings
from opsdesk.desk.models import Ticket
from opsdesk.web.api.tickets import body_limit
from tests.conftest import LiveServer
from tests.factories import make_token, make_user

MAX_ATTACHMENT = 1000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Small limits so "too large" is cheap to send."""
    return Settings(data_dir=tmp_path, secret_key="test-secret", max_attachment_bytes=MAX_ATTACHMENT)


@pytest.fixture
def agent(db: Session, clock: FixedClock, live_server: LiveServer) -> Iterator[httpx.Client]:
    user = make_user(db, clock, Role.AGENT, tier=Tier.L1, email="agent@desk.test", password=None)
    requester = make_user(db, clock, Role.REQUESTER, email="pat@acme.test", password=None)
    token = make_token(db, clock, user)
    db.commit()
    with live_server.client(token) as client:
        client.headers["X-Requester"] = str(requester.id)
        yield client


def new_ticket(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    return {
        "subject": "Hi",
        "body_text": "Hello",
        "requester_id": int(client.headers["X-Requester"]),
        **extra,
    }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ANY_FIELD = "*"


def check(response: httpx.Response, status: int, field: str | None, words: str = "") -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert field == ANY_FIELD or error["field"] == field, error
    assert error["message"] and words.lower() in error["message"].lower(), error


CREATE_CASES: list[tuple[str, dict[str, Any], int, str | None, str]] = [
    ("unknown field", {"colour": "red"}, 422, "colour", "unknown field"),
    ("wrong type", {"subject": 123}, 422, "subject", "string"),
    ("wrong type in list", {"tags": "billing"}, 422, "tags", "list"),
    ("unknown enum", {"priority": "whenever"}, 422, "priority", "urgent"),
    ("unknown channel", {"channel": "pigeon"}, 422, "channel", ""),
    ("empty subject", {"subject": ""}, 422, "subject", "at least 1"),
    ("subject too long", {"subject": "x" * 501}, 422, "subject", "at most 500"),
    ("NUL character", {"subject": "a\u0000b"}, 422, "subject", "NUL"),
    ("NUL in a custom field", {"custom_fields": {"k": "a\u0000"}}, 422, "custom_fields", "NUL"),
    ("nested too deep", {"custom_fields": {"k": [[[[[["x"]]]]]]}}, 422, "custom_fields", "nest"),
    ("too many tags", {"tags": [f"t{i}" for i in range(51)]}, 422, "tags", "at most 50"),
    ("bad tag", {"tags": ["no spaces!"]}, 422, "tags", "tag"),
    ("id out of range", {"requester_id": 2**63}, 422, "requester_id", ""),
    ("unknown requester", {"requester_id": 999999}, 404, "requester_id", "no user"),
    ("unknown group", {"group_id": 999999}, 404, "group_id", "no group"),
    ("unknown assignee", {"assignee_id": 999999}, 404, "assignee_id", "no agent"),
    ("bad email", {"requester_id": None, "requester_email": "not-an-address"}, 422, "requester_email", ""),
    ("no requester", {"requester_id": None}, 422, "requester_id", "requester"),
    ("no body", {"body_text": "   "}, 422, None, "body_html or body_text"),
    ("bad base64", {"attachments": [{"filename": "a", "data_base64": "***"}]}, 422,
     "attachments.0.data_base64", "base64"),
    ("attachment over the limit", {"attachments": [{"filename": "a.bin", "data_base64": b64(b"x" * 1001)}]},
     413, "attachments", "at most 1000 bytes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "extra", "status", "field", "words"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES]
)
def test_bad_ticket_bodies(
    agent: httpx.Client,
    db: Session,
    case: str,
    extra: dict[str, Any],
    status: int,
    field: str | None,
    words: str,
) -> None:
    check(agent.post("/api/v1/tickets", json=new_ticket(agent, **extra)), status, field, words)
    assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_missing_field(agent: httpx.Client) -> None:
    body = new_ticket(agent)
    del body["subject"]
    check(agent.post("/api/v1/tickets", json=body), 422, "subject", "subject is required")


def test_invalid_json_and_non_object_bodies(agent: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    check(
        agent.post("/api/v1/tickets", content=b'{"subject": "x",', headers=headers),
        422,
        ANY_FIELD,  # the character offset where parsing stopped
        "not valid JSON",
    )
    check(agent.post("/api/v1/tickets", content=b"[1, 2]", headers=headers), 422, None, "")
    check(agent.post("/api/v1/tickets", content=b"", headers=headers), 422, None, "required")
    lone_surrogate = b'{"subject": "\\ud800", "body_text": "x", "requester_id": 1}'
    response = agent.post("/api/v1/tickets", content=lone_surrogate, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    wrong_type = agent.post("/api/v1/tickets", content=b"subject=x", headers={"Content-Type": "text/plain"})
    assert 400 <= wrong_type.status_code < 500


def test_huge_bodies_are_refused_while_reading(agent: httpx.Client, settings: Settings, db: Session) -> None:
    huge = json.dumps(new_ticket(agent, body_text="x" * (body_limit(settings) + 10))).encode()
    check(
        agent.post("/api/v1/tickets", content=huge, headers={"Content-Type": "application/json"}), 413, "body"
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds on the streamed bytes too
        for i in range(0, len(huge), 65536):
            yield huge[i : i + 65536]

    streamed = agent.post("/api/v1/tickets", content=chunks(), headers={"Content-Type": "application/json"})
    check(streamed, 413, "body", "over")
    long_text = agent.post("/api/v1/tickets", json=new_ticket(agent, body_text="x" * 1_000_001))
    check(long_text, 422, "body_text", "at most")
    assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_idempotency_key_must_not_be_blank(agent: httpx.Client) -> None:
    check(agent.post("/api/v1/tickets", json=new_ticket(agent), headers={"Idempotency-Key": ""}), 422,
          "Idempotency-Key", "empty")  # fmt: skip


def test_bad_paths_queries_and_patches(agent: httpx.Client) -> None:
    number = agent.post("/api/v1/tickets", json=new_ticket(agent)).json()["number"]
    check(agent.get("/api/v1/tickets/abc"), 422, "number", "integer")
    check(agent.get(f"/api/v1/tickets/{2**70}"), 422, "number", "")
    check(agent.get("/api/v1/tickets/0"), 422, "number", "")
    check(agent.get("/api/v1/tickets/424242"), 404, "number", "no ticket")
    check(agent.get("/api/v1/tickets", params={"cursor": "not-a-cursor"}), 422, "cursor", "cursor")
    check(agent.get("/api/v1/tickets", params={"limit": 0}), 422, "limit", "")
    check(agent.get("/api/v1/tickets", params={"limit": "many"}), 422, "limit", "integer")
    check(agent.get("/api/v1/tickets", params={"view": "everything"}), 422, "view", "")
    check(agent.get("/api/v1/tickets", params={"status": "lost"}), 422, "status.0", "")
    check(agent.get("/api/v1/tickets", params={"updated_since": "yesterday"}), 422, "updated_since", "")
    check(agent.get("/api/v1/search"), 422, "q", "required")
    check(agent.patch(f"/api/v1/tickets/{number}", json={}), 422, None, "at least one field")
    check(agent.patch(f"/api/v1/tickets/{number}", json={"status": None}), 422, None, "status cannot be null")
    check(agent.patch(f"/api/v1/tickets/{number}", json={"status": "archived"}), 422, "status", "")
    check(agent.patch(f"/api/v1/tickets/{number}", json={"number": 5}), 422, "number", "unknown field")
    check(agent.post(f"/api/v1/tickets/{number}/messages", json={"body_text": "x", "public": "maybe"}), 422,
          "public", "boolean")  # fmt: skip
    check(agent.post(f"/api/v1/tickets/{number}/merge", json={"into": "five"}), 422, "into", "integer")
    check(agent.post(f"/api/v1/tickets/{number}/merge", json={"into": number}), 422, "into", "itself")
    check(agent.post(f"/api/v1/tickets/{number}/escalate", json={"reason": "x" * 2001}), 422, "reason", "")
    check(agent.get("/api/v1/users/abc"), 422, "user_id", "")
    check(agent.get("/api/v1/users", params={"role": "boss"}), 422, "role", "")
