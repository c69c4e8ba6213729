"""Reads of sensitive tickets in the audit log, through the real API and pages: every refused read stays
recorded although its request rolls back, and a sensitive ticket shown in a list, a search result or
as a downloaded attachment is a read too. Every check reads back in a session of its own."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry, User
from opsdesk.web.deps import SESSION_COOKIE
from tests.conftest import LiveServer
from tests.desk.test_access_matrix import World, build_world
from tests.factories import make_token

OUTSIDERS = ["agent_l1", "requester_org", "analyst", "csm"]


def _rows(session_factory: sessionmaker[Session], subject_id: int) -> list[tuple[int | None, str]]:
    with session_factory() as fresh:
        rows = fresh.execute(
            select(AuditEntry.actor_id, AuditEntry.action)
            .where(AuditEntry.subject_type == "ticket", AuditEntry.subject_id == subject_id)
            .order_by(AuditEntry.id)
        ).all()
    return [(r.actor_id, r.action) for r in rows]


def _page_client(db: Session, clock: FixedClock, server: LiveServer, user: User) -> tuple[httpx.Client, str]:
    """Signed in as a browser is: the session cookie, and the CSRF token its forms carry."""
    row, cookie = core_actions.start_browser_session(db, user=user, clock=clock)
    db.commit()
    client = httpx.Client(base_url=server.url, timeout=10, follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, cookie)
    return client, row.csrf_token


def _with_attachment(world: World, server: LiveServer, token: str) -> int:
    posted = server.client(token).post(
        f"/api/v1/tickets/{world.sensitive.id}/messages",
        json={"body_text": "The lab report", "public": True,
              "attachments": [{"filename": "labs.pdf", "content_type": "application/pdf",
                               "data_base64": base64.b64encode(b"%PDF-1.4 labs").decode()}]},
    )  # fmt: skip
    assert posted.status_code == 201, posted.text
    return int(posted.json()["attachments"][0]["id"])


def test_every_refused_sensitive_read_is_audited_over_the_api_and_the_pages(
    db: Session, clock: FixedClock, live_server: LiveServer, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(db, clock)
    tokens = {name: make_token(db, clock, world.people[name]) for name in [*OUTSIDERS, "agent_l2"]}
    db.commit()
    attachment = _with_attachment(world, live_server, tokens["agent_l2"])
    number = world.sensitive.id
    api_paths = [
        f"/api/v1/tickets/{number}",
        f"/api/v1/tickets/{number}/messages",
        f"/api/v1/tickets/{number}/attachments/{attachment}",
        f"/api/v1/tickets/{number}/sla",
    ]
    expected = []
    for name in OUTSIDERS:
        person = world.people[name]
        client = live_server.client(tokens[name])
        for path in api_paths:
            refused = client.get(path)
            assert refused.status_code == 404, (name, path, refused.text)
            assert world.sensitive.subject not in refused.text
        pages, csrf = _page_client(db, clock, live_server, person)
        page_path = f"/portal/tickets/{number}" if name == "requester_org" else f"/tickets/{number}"
        refused_page = pages.get(page_path)
        assert refused_page.status_code == 404 and world.sensitive.subject not in refused_page.text
        # A refused write is a refused read too: its request holds SQLite's write lock and rolls back.
        posted = pages.post(
            f"/tickets/{number}/messages" if name != "requester_org" else f"/portal/tickets/{number}/reply",
            data={"body": "hello", "csrf_token": csrf},
        )
        assert posted.status_code == 404, (name, posted.text)
        expected += [(person.id, "ticket_read_denied")] * (len(api_paths) + 2)
    refusals = [r for r in _rows(session_factory, number) if r[1] == "ticket_read_denied"]
    assert len(refusals) == 24
    assert sorted(refusals) == sorted(expected)


def test_refusals_in_a_request_that_holds_the_write_lock_are_recorded(
    db: Session, clock: FixedClock, live_server: LiveServer, session_factory: sessionmaker[Session]
) -> None:
    """A POST declares its write up front (SQLite's write lock): the refusal's row still gets written,
    once the request has let go of the lock, instead of waiting for it."""
    world = build_world(db, clock)
    outsider = world.people["agent_l1"]
    token = make_token(db, clock, outsider)
    db.commit()
    refused = live_server.client(token).post(
        f"/api/v1/tickets/{world.sensitive.id}/messages", json={"body_text": "hi", "public": True}
    )
    assert refused.status_code == 404
    patched = live_server.client(token).patch(
        f"/api/v1/tickets/{world.sensitive.id}", json={"priority": "high"}
    )
    assert patched.status_code == 404
    assert _rows(session_factory, world.sensitive.id) == [(outsider.id, "ticket_read_denied")] * 2


def test_sensitive_tickets_shown_in_lists_searches_and_downloads_are_audited(
    db: Session, clock: FixedClock, live_server: LiveServer, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(db, clock)
    reader, owner = world.people["agent_l2"], world.people["requester_own"]
    token, owner_token = make_token(db, clock, reader), make_token(db, clock, owner)
    db.commit()
    attachment = _with_attachment(world, live_server, token)
    api = live_server.client(token)
    listed = api.get("/api/v1/tickets", params={"limit": 200}).json()["items"]
    assert {t["number"] for t in listed} == {
        world.normal.id, world.normal_target.id, world.sensitive.id, world.sensitive_target.id
    }  # fmt: skip
    found = api.get("/api/v1/search", params={"q": "Diagnosis"}).json()["items"]
    assert {h["ticket"]["number"] for h in found} == {world.sensitive.id, world.sensitive_target.id}
    assert api.get(f"/api/v1/tickets/{world.sensitive.id}/attachments/{attachment}").status_code == 200
    pages, _csrf = _page_client(db, clock, live_server, reader)
    assert world.sensitive.subject in pages.get("/tickets", params={"view": "all"}).text
    assert world.sensitive.subject in pages.get("/search", params={"q": "Diagnosis"}).text
    portal, _csrf = _page_client(db, clock, live_server, owner)
    assert world.sensitive.subject in portal.get("/portal").text
    # The requester may not download a file from an internal note: refused, and recorded.
    note = api.post(
        f"/api/v1/tickets/{world.sensitive.id}/messages",
        json={"body_text": "scan", "public": False,
              "attachments": [{"filename": "scan.pdf", "content_type": "application/pdf",
                               "data_base64": base64.b64encode(b"%PDF-1.4 scan").decode()}]},
    )  # fmt: skip
    hidden = note.json()["attachments"][0]["id"]
    owner_api = live_server.client(owner_token)
    assert owner_api.get(f"/api/v1/tickets/{world.sensitive.id}/attachments/{hidden}").status_code == 404

    assert _rows(session_factory, world.sensitive_target.id).count((reader.id, "ticket_listed")) == 4
    rows = _rows(session_factory, world.sensitive.id)
    assert rows.count((reader.id, "ticket_listed")) == 4  # API list and search, page list and search
    assert rows.count((owner.id, "ticket_listed")) == 1  # the portal's list
    assert (reader.id, "attachment_downloaded") in rows
    assert (owner.id, "attachment_download_denied") in rows
    with session_factory() as fresh:
        vias = fresh.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.action == "ticket_listed", AuditEntry.subject_id == world.sensitive.id
            )
        ).all()
    assert sorted(v["via"] for v in vias) == sorted(
        ["api_list", "api_search", "page_list", "page_search", "portal_list"]
    )
    # Non-sensitive tickets in the same lists are not audited.
    assert _rows(session_factory, world.normal.id) == []


def test_hot_paths_write_no_audit_and_a_list_writes_one_insert(
    db: Session, clock: FixedClock, live_server: LiveServer, engine: Engine
) -> None:
    """Creating a ticket and reading a non-sensitive one (what benchmarks/desk_api.py measures) touch no
    audit table; a list that shows two sensitive tickets records both in a single INSERT."""
    world = build_world(db, clock)
    reader = make_token(db, clock, world.people["agent_l2"])
    db.commit()
    api = live_server.client(reader)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        created = api.post(
            "/api/v1/tickets",
            json={"requester_id": world.people["requester_own"].id, "subject": "Hi", "body_text": "Hello"},
        )
        assert created.status_code == 201, created.text
        assert api.get(f"/api/v1/tickets/{world.normal.id}").status_code == 200
        assert not [s for s in statements if "audit_log" in s]
        assert len(api.get("/api/v1/tickets", params={"limit": 200}).json()["items"]) == 5
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s.split("(")[0].strip() for s in statements if "audit_log" in s] == ["INSERT INTO audit_log"]
