"""The audit log API over real HTTP (issue 9, defect 5): who may read it, the filters, cursor pages, the
CSV export, bad input as 4xx, and the trace every read leaves, committed and read back."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core import audit
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import NotFound
from opsdesk.core.models import AuditEntry, Role, Tier, User
from opsdesk.desk import access
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Ticket
from tests.conftest import LiveServer
from tests.factories import make_token, make_user

SECRET_SUBJECT = "Insulin pump diagnosis for member 4471"


@dataclass
class AuditWorld:
    people: dict[str, User]
    tokens: dict[str, str]
    a: Ticket
    b: Ticket


def arrange_audit_log(db: Session, clock: FixedClock) -> AuditWorld:
    """Day 0 (2 March): people and two sensitive tickets. Day 1: bo (L2, sensitive access) reads A.
    Day 2: ana (L1) is refused A, and bo reads B. Everything committed."""
    org = core_actions.create_organisation(db, name="Acme Health", clock=clock)
    privacy = core_actions.create_group(db, name="Clinical Privacy", sensitive_access=True)
    specs = {
        "admin": (Role.ADMIN, None),
        "carol": (Role.COMPLIANCE, None),
        "lee": (Role.SUPPORT_LEAD, None),
        "ana": (Role.AGENT, Tier.L1),
        "bo": (Role.AGENT, Tier.L2),
        "ari": (Role.ANALYST, None),
        "rita": (Role.REQUESTER, None),
    }
    people = {
        name: make_user(
            db,
            clock,
            role,
            tier=tier,
            email=f"{name}@audit.test",
            organisation=org if name == "rita" else None,
        )
        for name, (role, tier) in specs.items()
    }
    core_actions.add_to_group(db, group=privacy, user=people["bo"], clock=clock)
    tokens = {name: make_token(db, clock, user) for name, user in people.items()}
    a, b = (
        desk_actions.create_ticket(
            db,
            requester=people["rita"],
            subject=SECRET_SUBJECT if n == 1 else "Second private matter",
            body_text="Protected details.",
            channel=Channel.EMAIL,
            sensitive=True,
            clock=clock,
        )
        for n in (1, 2)
    )
    db.commit()
    clock.advance(timedelta(days=1))
    access.ticket_for(db, a.id, people["bo"], clock)
    db.commit()
    clock.advance(timedelta(days=1))
    with pytest.raises(NotFound):
        access.ticket_for(db, a.id, people["ana"], clock)
    access.ticket_for(db, b.id, people["bo"], clock)
    db.commit()
    return AuditWorld(people=people, tokens=tokens, a=a, b=b)


@pytest.fixture
def world(db: Session, clock: FixedClock) -> AuditWorld:
    return arrange_audit_log(db, clock)


def _rows(server: LiveServer, token: str, **params: Any) -> list[tuple[str | None, str, int | None]]:
    answer = server.client(token).get("/api/v1/audit", params=params)
    assert answer.status_code == 200, answer.text
    return [(r["actor_email"], r["action"], r["subject_id"]) for r in answer.json()["items"]]


def test_admins_and_compliance_read_the_log_and_no_one_else(
    live_server: LiveServer, world: AuditWorld
) -> None:
    for name in ("admin", "carol"):
        assert live_server.client(world.tokens[name]).get("/api/v1/audit").status_code == 200
    for name in ("lee", "ana", "bo", "ari", "rita"):
        for path in ("/api/v1/audit", "/api/v1/audit/export.csv"):
            answer = live_server.client(world.tokens[name]).get(path)
            assert answer.status_code == 403, (name, path)
            assert answer.json()["error"]["code"] == "forbidden"
    assert live_server.client().get("/api/v1/audit").status_code == 401


def test_filters_by_ticket_person_action_and_time(live_server: LiveServer, world: AuditWorld) -> None:
    token, a, b = world.tokens["carol"], world.a.id, world.b.id
    assert _rows(live_server, token, ticket=a) == [
        ("ana@audit.test", "ticket_read_denied", a),
        ("bo@audit.test", "ticket_read", a),
    ]
    assert _rows(live_server, token, person="BO@audit.test", ticket=a) == [
        ("bo@audit.test", "ticket_read", a)
    ]
    assert _rows(live_server, token, action="ticket_read_denied") == [
        ("ana@audit.test", "ticket_read_denied", a)
    ]
    day2 = "2026-03-04T00:00:00Z"
    assert _rows(live_server, token, action="ticket_read", since=day2) == [
        ("bo@audit.test", "ticket_read", b)
    ]
    assert _rows(live_server, token, action="ticket_read", until=day2) == [
        ("bo@audit.test", "ticket_read", a)
    ]
    assert _rows(live_server, token, action="ticket_read", since="2026-03-03", until="2026-03-04") == [
        ("bo@audit.test", "ticket_read", a)
    ]
    assert _rows(live_server, token, person="rita@audit.test") == []  # she did nothing audited


def test_cursor_pages_walk_the_whole_log_newest_first(
    live_server: LiveServer, world: AuditWorld, clock: FixedClock
) -> None:
    client = live_server.client(world.tokens["admin"])
    clock.advance(timedelta(days=1))
    params = {"until": "2026-03-05"}  # the rows the arrangement wrote, not this test's own reads
    whole = client.get("/api/v1/audit", params={**params, "limit": 500}).json()
    assert whole["next_cursor"] is None and len(whole["items"]) >= 10
    walked: list[int] = []
    cursor = None
    while True:
        page = client.get(
            "/api/v1/audit", params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200 and len(page.json()["items"]) <= 3
        walked += [r["id"] for r in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert walked == [r["id"] for r in whole["items"]] == sorted(walked, reverse=True)


def test_every_read_of_the_log_is_itself_audited_and_committed(
    live_server: LiveServer, world: AuditWorld, db: Session
) -> None:
    client = live_server.client(world.tokens["carol"])
    assert (
        client.get("/api/v1/audit", params={"ticket": world.a.id, "person": "ana@audit.test"}).status_code
        == 200
    )
    assert client.get("/api/v1/audit/export.csv", params={"action": "ticket_read"}).status_code == 200
    db.rollback()  # read what the server committed
    traces = db.scalars(
        select(AuditEntry).where(AuditEntry.subject_type == "audit_log").order_by(AuditEntry.id)
    ).all()
    assert [(t.actor_id, t.action, t.detail) for t in traces] == [
        (
            world.people["carol"].id,
            "audit_log_read",
            {
                "via": "api",
                "cursor": False,
                "filters": {"ticket": world.a.id, "actor_id": world.people["ana"].id},
            },
        ),
        (
            world.people["carol"].id,
            "audit_log_exported",
            {"via": "api", "format": "csv", "filters": {"action": "ticket_read"}},
        ),
    ]
    # ... and the traces are in the log that compliance reads
    assert _rows(live_server, world.tokens["admin"], action="audit_log_exported") == [
        ("carol@audit.test", "audit_log_exported", None)
    ]


def test_csv_export_streams_the_filtered_rows_and_no_ticket_content(
    live_server: LiveServer, world: AuditWorld
) -> None:
    client = live_server.client(world.tokens["carol"])
    with client.stream("GET", "/api/v1/audit/export.csv", params={"ticket": world.a.id}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        assert "content-length" not in answer.headers  # streamed, not built in memory
        text = "".join(answer.iter_text())
    records = list(csv.DictReader(io.StringIO(text)))
    assert [(r["actor_email"], r["action"], r["subject_type"], r["subject_id"]) for r in records] == [
        ("ana@audit.test", "ticket_read_denied", "ticket", str(world.a.id)),
        ("bo@audit.test", "ticket_read", "ticket", str(world.a.id)),
    ]
    assert records[1]["at"].startswith("2026-03-03T09:00:00")
    whole = live_server.client(world.tokens["admin"]).get("/api/v1/audit/export.csv").text
    listing = live_server.client(world.tokens["admin"]).get("/api/v1/audit", params={"limit": 500}).text
    assert SECRET_SUBJECT not in whole and SECRET_SUBJECT not in listing


def test_csv_cells_that_a_spreadsheet_would_run_stay_text(
    live_server: LiveServer, world: AuditWorld, db: Session, clock: FixedClock
) -> None:
    sly = make_user(db, clock, Role.ADMIN, email="sly@audit.test")
    sly.name = '=HYPERLINK("http://evil.test","x")'
    audit.record(
        db, actor=sly, action="ticket_read", subject_type="ticket", subject_id=world.a.id, at=clock.now()
    )
    db.commit()
    text = (
        live_server.client(world.tokens["admin"])
        .get("/api/v1/audit/export.csv", params={"person": "sly@audit.test"})
        .text
    )
    names = {r["actor_name"] for r in csv.DictReader(io.StringIO(text))}
    assert names == {"'" + sly.name}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ticket": 2147483648}, "ticket"),
        ({"ticket": 0}, "ticket"),
        ({"ticket": "1e28"}, "ticket"),
        ({"since": "0040-10-15"}, "since"),
        ({"until": "2201-01-01T00:00:00"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-04", "until": "2026-03-03"}, "until"),
        ({"action": "x" * 61}, "action"),
        ({"action": "a\x00b"}, "action"),
        ({"person": "a\x00b@audit.test"}, "person"),
        ({"person": "x" * 321}, "person"),
        ({"person": "nobody@audit.test"}, "person"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "x" * 201}, "cursor"),
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_are_a_4xx_naming_the_field(
    live_server: LiveServer, world: AuditWorld, params: dict[str, Any], field: str
) -> None:
    client = live_server.client(world.tokens["carol"])
    paths = ["/api/v1/audit"] + ([] if field in ("cursor", "limit") else ["/api/v1/audit/export.csv"])
    for path in paths:
        answer = client.get(path, params=params)
        assert answer.status_code in (404, 422), (path, params, answer.text)
        assert answer.json()["error"]["field"] == field


def test_the_openapi_document_states_the_bounds(live_server: LiveServer) -> None:
    document = live_server.client().get("/api/v1/openapi.json").json()
    params = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]}
    ticket = next(s for s in params["ticket"]["anyOf"] if s.get("type") == "integer")
    assert (ticket["minimum"], ticket["maximum"]) == (1, 2147483647)
    assert params["limit"]["maximum"] == 500
    assert "text/csv" in document["paths"]["/api/v1/audit/export.csv"]["get"]["responses"]["200"]["content"]
