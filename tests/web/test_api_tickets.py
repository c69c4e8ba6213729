"""The tickets API over real HTTP: create, read, update, reply, escalate, merge, list, search, and
the access rules as a client sees them (denied reads are 404s)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry, Event, Group, Role, Tier, User
from opsdesk.desk.models import Message
from tests.conftest import LiveServer
from tests.desk.test_access_matrix import NORMAL, OPS, SENSITIVE, build_world
from tests.factories import make_token, make_user


@dataclass
class Desk:
    server: LiveServer
    users: dict[str, User]
    tokens: dict[str, str]
    l2_group: Group

    def as_(self, name: str) -> httpx.Client:
        return self.server.client(self.tokens[name])


@pytest.fixture
def desk(db: Session, clock: FixedClock, live_server: LiveServer) -> Desk:
    acme = core_actions.create_organisation(db, name="Acme", clock=clock, shared_tickets=False)
    l2_group = core_actions.create_group(db, name="L2 Engineers", tier=Tier.L2)
    specs = {
        "agent": (Role.AGENT, Tier.L1),
        "l2": (Role.AGENT, Tier.L2),
        "csm": (Role.CSM, None),
        "pat": (Role.REQUESTER, None),
        "kim": (Role.REQUESTER, None),
    }
    users = {
        name: make_user(
            db, clock, role, tier=tier, email=f"{name}@acme.test", organisation=acme, password=None
        )
        for name, (role, tier) in specs.items()
    }
    core_actions.add_to_group(db, group=l2_group, user=users["l2"], clock=clock)
    tokens = {name: make_token(db, clock, user) for name, user in users.items()}
    db.commit()
    return Desk(live_server, users, tokens, l2_group)


def create(client: httpx.Client, **body: object) -> dict:  # type: ignore[type-arg]
    body.setdefault("subject", "Cannot export report")
    body.setdefault("body_text", "The export button does nothing")
    response = client.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_requester_creates_and_reads_their_ticket_and_nobody_else_can(desk: Desk) -> None:
    ticket = create(desk.as_("pat"), tags=["Export"], priority="high")
    assert ticket["status"] == "new" and ticket["channel"] == "api" and ticket["priority"] == "high"
    assert ticket["requester"]["id"] == desk.users["pat"].id
    number = ticket["number"]
    assert desk.as_("agent").get(f"/api/v1/tickets/{number}").json()["tags"] == ["export"]
    assert desk.as_("pat").get(f"/api/v1/tickets/{number}").json()["subject"] == "Cannot export report"
    denied = desk.as_("kim").get(f"/api/v1/tickets/{number}")
    assert denied.status_code == 404
    assert denied.json()["error"] == {
        "code": "not_found",
        "message": f"no ticket #{number}",
        "field": "number",
    }
    assert "Cannot export" not in denied.text
    assert desk.as_("kim").get(f"/api/v1/tickets/{number}/messages").status_code == 404
    assert desk.as_("agent").get(f"/api/v1/tickets/{number}").status_code == 200
    assert desk.server.client().get(f"/api/v1/tickets/{number}").status_code == 401


def test_ticket_routes_refuse_missing_or_bad_credentials_before_anything_else(desk: Desk) -> None:
    """The single-ticket routes authenticate inside their work (web.deps.run_as_user); a client still
    gets 401, not the validation of a body it had no right to send, and a forged token reads
    and writes nothing."""
    number = create(desk.as_("agent"), requester_id=desk.users["pat"].id)["number"]
    anonymous, forged = desk.server.client(), desk.server.client("od_not-a-token")
    calls = [
        ("POST", "/api/v1/tickets", {"subject": 5}),
        ("POST", "/api/v1/tickets", {"subject": "Hi", "body_text": "Hello"}),
        ("GET", f"/api/v1/tickets/{number}", None),
        ("PATCH", f"/api/v1/tickets/{number}", {"status": "solved"}),
        ("POST", f"/api/v1/tickets/{number}/messages", {"body_text": "Hello"}),
    ]
    for method, path, body in calls:
        assert anonymous.request(method, path, json=body).status_code == 401, (method, path)
    for method, path, body in calls[1:]:
        refused = forged.request(method, path, json=body)
        assert refused.status_code == 401, (method, path)
        assert refused.json()["error"]["code"] == "unauthenticated"
    ticket = desk.as_("agent").get(f"/api/v1/tickets/{number}").json()
    assert ticket["status"] == "new"
    assert len(desk.as_("agent").get(f"/api/v1/tickets/{number}/messages").json()) == 1


def test_requesters_do_not_see_the_teams_own_fields_of_their_ticket(desk: Desk) -> None:
    """Routing, tags, custom fields, external ids and SLA due times are the support team's; a requester
    reading their ticket gets it without them, as a help center shows a request."""
    internal = {
        "group_id": desk.l2_group.id,
        "tags": ["vip", "billing"],
        "custom_fields": {"triage_note": "possible PHI in attachment"},
        "external_id": "crm-4711",
    }
    ticket = create(desk.as_("agent"), requester_id=desk.users["pat"].id, **internal)
    path = f"/api/v1/tickets/{ticket['number']}"
    staff = desk.as_("agent").get(path).json()
    assert staff["group_id"] == desk.l2_group.id and staff["tier"] == "L2"
    assert staff["tags"] == ["billing", "vip"] and staff["custom_fields"] == internal["custom_fields"]
    assert staff["external_id"] == "crm-4711"
    for view in (desk.as_("pat").get(path).json(), desk.as_("pat").get("/api/v1/tickets").json()["items"][0]):
        assert view["subject"] == "Cannot export report" and view["status"] == staff["status"]
        assert view["group_id"] is None and view["tier"] is None and view["assignee_id"] is None
        assert view["tags"] == [] and view["custom_fields"] == {} and view["external_id"] is None
        assert view["sla_next_due_at"] is None


def test_requesters_cannot_create_for_others_or_route_tickets(desk: Desk) -> None:
    pat = desk.as_("pat")
    for field, value in (("requester_id", desk.users["kim"].id), ("assignee_id", desk.users["agent"].id)):
        response = pat.post("/api/v1/tickets", json={"subject": "x", "body_text": "y", field: value})
        assert response.status_code == 403 and response.json()["error"]["field"] == field


def test_an_agent_opens_a_ticket_for_a_new_address_and_notes_stay_internal(
    desk: Desk, db: Session, clock: FixedClock
) -> None:
    agent = desk.as_("agent")
    ticket = create(agent, requester_email="New.Person@Example.com", requester_name="New Person")
    number = ticket["number"]
    requester = db.scalars(select(User).where(User.email == "new.person@example.com")).one()
    assert ticket["requester"] == {"id": requester.id, "name": "New Person"}
    note = agent.post(
        f"/api/v1/tickets/{number}/messages", json={"body_text": "VIP, be quick", "public": False}
    )
    assert note.status_code == 201 and note.json()["public"] is False
    reply = agent.post(f"/api/v1/tickets/{number}/messages", json={"body_html": "<p>On it</p>"})
    assert reply.status_code == 201
    assert agent.get(f"/api/v1/tickets/{number}").json()["status"] == "open"
    staff_view = [m["body_text"] for m in agent.get(f"/api/v1/tickets/{number}/messages").json()]
    assert staff_view == ["The export button does nothing", "VIP, be quick", "On it"]
    token = make_token(db, clock, requester)
    db.commit()
    mine = desk.server.client(token).get(f"/api/v1/tickets/{number}/messages").json()
    assert [m["body_text"] for m in mine] == ["The export button does nothing", "On it"]
    assert (
        desk.server.client(token)
        .post(f"/api/v1/tickets/{number}/messages", json={"body_text": "secret?", "public": False})
        .status_code
        == 403
    )


def test_idempotency_key_replays_and_refuses_a_different_body(desk: Desk) -> None:
    agent = desk.as_("agent")
    body = {"subject": "Refund", "body_text": "please", "requester_id": desk.users["pat"].id}
    first = agent.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "abc-1"})
    again = agent.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    different = agent.post(
        "/api/v1/tickets", json={**body, "body_text": "other"}, headers={"Idempotency-Key": "abc-1"}
    )
    assert different.status_code == 409
    assert different.json()["error"]["field"] == "Idempotency-Key"
    assert "different request body" in different.json()["error"]["message"]
    # Keys belong to their caller: another client's identical key is a new request.
    other = desk.as_("l2").post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "abc-1"})
    assert other.status_code == 201 and other.json()["number"] != first.json()["number"]


def test_an_integration_resending_its_external_id_gets_the_same_ticket(desk: Desk, db: Session) -> None:
    agent = desk.as_("agent")
    body = {
        "subject": "From CRM",
        "body_text": "sync",
        "requester_id": desk.users["pat"].id,
        "external_id": "crm-1",
    }
    first = agent.post("/api/v1/tickets", json=body)
    again = agent.post("/api/v1/tickets", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    as_requester = desk.as_("pat").post(
        "/api/v1/tickets", json={"subject": "x", "body_text": "y", "external_id": "crm-1"}
    )
    assert as_requester.status_code == 403 and as_requester.json()["error"]["field"] == "external_id"


def test_script_tags_are_stored_sanitised_and_rendered_inert(desk: Desk, db: Session) -> None:
    attack = (
        '<p>Hello</p><script>document.location="https://evil.example"</script>'
        '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
    )
    ticket = create(desk.as_("pat"), body_html=attack, body_text=None)
    number = ticket["number"]
    desk.as_("agent").post(f"/api/v1/tickets/{number}/messages", json={"body_html": attack})
    for message in desk.as_("agent").get(f"/api/v1/tickets/{number}/messages").json():
        for needle in ("<script", "onerror", "javascript:", "evil.example"):
            assert needle not in message["body_html"]
        assert "Hello" in message["body_html"]
    stored = db.scalars(select(Message.body_html).where(Message.ticket_id == number)).all()
    assert len(stored) == 2 and all(
        "<script" not in s and "onerror" not in s and "javascript:" not in s for s in stored
    )


def test_patch_changes_fields_and_checks_each_permission(desk: Desk, db: Session) -> None:
    number = create(desk.as_("pat"))["number"]
    agent = desk.as_("agent")
    response = agent.patch(
        f"/api/v1/tickets/{number}",
        json={"status": "pending", "priority": "urgent", "type": "incident", "tags": ["a", "b"],
              "custom_fields": {"plan": "gold"}, "assignee_id": desk.users["l2"].id},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["status"], got["priority"], got["type"], got["tags"]) == (
        "pending",
        "urgent",
        "incident",
        ["a", "b"],
    )
    assert (got["custom_fields"], got["assignee_id"]) == ({"plan": "gold"}, desk.users["l2"].id)
    cleared = agent.patch(
        f"/api/v1/tickets/{number}", json={"assignee_id": None, "custom_fields": {"plan": None}}
    )
    assert (cleared.json()["assignee_id"], cleared.json()["custom_fields"]) == (None, {})
    assert desk.as_("csm").patch(f"/api/v1/tickets/{number}", json={"status": "open"}).status_code == 403
    assert desk.as_("pat").patch(f"/api/v1/tickets/{number}", json={"priority": "low"}).status_code == 403
    assert desk.as_("kim").patch(f"/api/v1/tickets/{number}", json={"priority": "low"}).status_code == 404
    types = db.scalars(
        select(Event.type).where(Event.subject_type == "ticket", Event.subject_id == number)
    ).all()
    assert {"status_changed", "priority_changed", "tags_changed", "fields_changed", "assigned"} <= set(types)


def test_status_rules_through_the_api(desk: Desk) -> None:
    pat, agent = desk.as_("pat"), desk.as_("agent")
    number = create(pat)["number"]
    closing = agent.patch(f"/api/v1/tickets/{number}", json={"status": "closed"})
    assert closing.status_code == 422 and closing.json()["error"]["field"] == "status"
    agent.patch(f"/api/v1/tickets/{number}", json={"status": "solved"})
    pat.post(f"/api/v1/tickets/{number}/messages", json={"body_text": "still broken"})
    assert agent.get(f"/api/v1/tickets/{number}").json()["status"] == "open"
    agent.patch(f"/api/v1/tickets/{number}", json={"status": "solved"})
    agent.patch(f"/api/v1/tickets/{number}", json={"status": "closed"})
    assert agent.patch(f"/api/v1/tickets/{number}", json={"status": "open"}).status_code == 409
    assert agent.post(f"/api/v1/tickets/{number}/messages", json={"body_text": "hm"}).status_code == 409
    follow_up = pat.post(f"/api/v1/tickets/{number}/messages", json={"body_text": "it broke again"})
    assert follow_up.status_code == 201
    new_number = follow_up.json()["ticket_number"]
    assert new_number != number
    assert pat.get(f"/api/v1/tickets/{new_number}").json()["follow_up_of"] == number


def test_escalate_and_merge(desk: Desk) -> None:
    agent = desk.as_("agent")
    first = create(desk.as_("pat"))["number"]
    second = create(desk.as_("pat"), subject="Export still broken")["number"]
    missing = agent.post(f"/api/v1/tickets/{first}/escalate", json={})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
    escalated = agent.post(
        f"/api/v1/tickets/{first}/escalate", json={"reason": "reproducible bug", "group_id": desk.l2_group.id}
    )
    assert escalated.status_code == 200
    assert (escalated.json()["tier"], escalated.json()["group_id"]) == ("L2", desk.l2_group.id)
    assert agent.post(f"/api/v1/tickets/{first}/escalate", json={"reason": "again"}).status_code == 409
    assert desk.as_("csm").post(f"/api/v1/tickets/{second}/merge", json={"into": first}).status_code == 403
    merged = agent.post(f"/api/v1/tickets/{second}/merge", json={"into": first})
    assert merged.status_code == 200 and merged.json()["number"] == first
    source = agent.get(f"/api/v1/tickets/{second}").json()
    assert (source["status"], source["merged_into"]) == ("closed", first)
    notes = [m["body_text"] for m in agent.get(f"/api/v1/tickets/{first}/messages").json() if not m["public"]]
    assert notes == [f"Ticket #{second} was merged into this ticket."]
    assert (
        agent.post(f"/api/v1/tickets/{first}/merge", json={"into": 999999}).json()["error"]["field"] == "into"
    )


def test_list_filters_views_and_stable_cursor_paging(desk: Desk) -> None:
    pat, kim, agent = desk.as_("pat"), desk.as_("kim"), desk.as_("agent")
    numbers = [create(pat, subject=f"Ticket {i}", tags=["bulk"] if i % 2 else [])["number"] for i in range(7)]
    kims = create(kim)["number"]
    agent.patch(f"/api/v1/tickets/{numbers[0]}", json={"assignee_id": desk.users["agent"].id})
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 3, "requester_id": desk.users["pat"].id}
        if cursor:
            params["cursor"] = cursor
        page = agent.get("/api/v1/tickets", params=params).json()
        seen += [t["number"] for t in page["items"]]
        # A change while paging must not move tickets between pages.
        agent.patch(f"/api/v1/tickets/{numbers[3]}", json={"priority": "high"})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(numbers, reverse=True)

    def listed(client: httpx.Client, **params: object) -> list[int]:
        response = client.get("/api/v1/tickets", params=params)
        assert response.status_code == 200, response.text
        return [t["number"] for t in response.json()["items"]]

    assert listed(agent, tag="bulk") == sorted(numbers[1::2], reverse=True)
    assert listed(agent, view="mine") == [numbers[0]]
    assert numbers[0] not in listed(agent, view="unassigned") and kims in listed(agent, view="unassigned")
    assert listed(agent, priority="high") == [numbers[3]]
    assert listed(agent, status=["new", "open"], channel="api", limit=200)[0] == kims
    assert listed(agent, view="my_group") == []
    assert listed(agent, view="breaching_soon") == []
    assert listed(agent, updated_since="2100-01-01T00:00:00Z") == []
    assert listed(kim) == [kims]
    assert set(listed(pat, limit=200)) == set(numbers)


def test_the_breaching_soon_view_follows_the_sla_tracker(desk: Desk, db: Session, clock: FixedClock) -> None:
    from datetime import timedelta

    from opsdesk.desk.sla import actions as sla_actions

    targets = {"normal": {"first_reply": 60}, "urgent": {"first_reply": 240}}
    sla_actions.create_sla_policy(db, name="Default", targets=targets, actor=None, clock=clock)
    db.commit()
    agent = desk.as_("agent")
    soon = create(desk.as_("pat"))["number"]
    later = create(desk.as_("pat"), priority="urgent")["number"]
    assert agent.get(f"/api/v1/tickets/{soon}").json()["sla_next_due_at"] is not None
    clock.advance(timedelta(minutes=30))  # settings.breaching_soon_minutes is 60: only the 60-minute target
    listed = [
        t["number"] for t in agent.get("/api/v1/tickets", params={"view": "breaching_soon"}).json()["items"]
    ]
    assert listed == [soon] and later not in listed
    agent.post(f"/api/v1/tickets/{soon}/messages", json={"body_text": "Answered"})
    assert agent.get("/api/v1/tickets", params={"view": "breaching_soon"}).json()["items"] == []


def test_search_over_http_respects_access(desk: Desk) -> None:
    pat_ticket = create(desk.as_("pat"), subject="Invoice discrepancy", body_text="amount differs")["number"]
    create(desk.as_("kim"), subject="Invoice copy", body_text="send again")
    agent_hits = desk.as_("agent").get("/api/v1/search", params={"q": "invoice"}).json()["items"]
    assert len(agent_hits) == 2
    pat_hits = desk.as_("pat").get("/api/v1/search", params={"q": "invoices"}).json()["items"]
    assert [h["ticket"]["number"] for h in pat_hits] == [pat_ticket]
    bad = desk.as_("agent").get("/api/v1/search", params={"q": "!!!"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "q"


def test_attachments_through_the_api(desk: Desk) -> None:
    data = b"%PDF-1.4 fake"
    page = b"<html><script>alert(1)</script></html>"
    ticket = create(
        desk.as_("pat"),
        attachments=[{"filename": "scan.pdf", "content_type": "application/pdf",
                      "data_base64": base64.b64encode(data).decode()}],
    )  # fmt: skip
    number = ticket["number"]
    [message] = desk.as_("pat").get(f"/api/v1/tickets/{number}/messages").json()
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["size"], attachment["content_type"]) == (
        "scan.pdf",
        len(data),
        "application/pdf",
    )
    download = desk.as_("pat").get(f"/api/v1/tickets/{number}/attachments/{attachment['id']}")
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert desk.as_("kim").get(f"/api/v1/tickets/{number}/attachments/{attachment['id']}").status_code == 404
    note = desk.as_("agent").post(
        f"/api/v1/tickets/{number}/messages",
        json={"body_text": "internal page", "public": False,
              "attachments": [{"filename": "x.html", "content_type": "text/html",
                               "data_base64": base64.b64encode(page).decode()}]},
    )  # fmt: skip
    hidden = note.json()["attachments"][0]["id"]
    assert desk.as_("pat").get(f"/api/v1/tickets/{number}/attachments/{hidden}").status_code == 404
    staff = desk.as_("agent").get(f"/api/v1/tickets/{number}/attachments/{hidden}")
    assert staff.content == page and staff.headers["content-type"] == "application/octet-stream"
    assert staff.headers["x-content-type-options"] == "nosniff"


def test_denied_reads_over_http_follow_the_access_matrix(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    world = build_world(db, clock)
    tokens = {name: make_token(db, clock, user) for name, user in world.people.items()}
    db.commit()
    read, listed = OPS.index("read"), OPS.index("list")
    for expected, ticket in ((NORMAL, world.normal), (SENSITIVE, world.sensitive)):
        for name, row in expected.items():
            client = live_server.client(tokens[name])
            want = 200 if row[read] == "ok" else 404
            got = client.get(f"/api/v1/tickets/{ticket.id}")
            assert got.status_code == want, (name, ticket.sensitive, got.text)
            if want == 404:
                assert ticket.subject not in got.text
            assert client.get(f"/api/v1/tickets/{ticket.id}/messages").status_code == want
            numbers = [
                t["number"] for t in client.get("/api/v1/tickets", params={"limit": 200}).json()["items"]
            ]
            assert (ticket.id in numbers) == (row[listed] == "ok"), (name, ticket.sensitive)
    audited = db.scalars(
        select(AuditEntry.actor_id).where(
            AuditEntry.action == "ticket_read", AuditEntry.subject_id == world.sensitive.id
        )
    ).all()
    # Two reads (ticket, messages) for each of the two people who may see it.
    assert sorted(audited) == sorted([world.people["agent_l2"].id, world.people["requester_own"].id] * 2)
