"""Saved views and bulk actions over the API: a view's count equals its list; a bulk action changes
every selected ticket the caller may change, commits, and records one event per change."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel, Status, Ticket
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def test_views_and_bulk_over_the_api(db: Session, clock: FixedClock, live_server: LiveServer) -> None:
    clinical = core_actions.create_group(db, name="Clinical", sensitive_access=True)
    ana_user = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    lee_user = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    core_actions.add_to_group(db, group=clinical, user=lee_user, clock=clock)
    rita = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    ids = [
        desk_actions.create_ticket(
            db,
            requester=rita,
            subject=f"T{n}",
            body_text="Hi",
            channel=Channel.EMAIL,
            clock=clock,
            tags=["billing"] if n % 2 else [],
            sensitive=n == 4,
        ).id
        for n in range(6)
    ]
    ana, lee = (
        live_server.client(make_token(db, clock, ana_user)),
        live_server.client(make_token(db, clock, lee_user)),
    )
    requester = live_server.client(make_token(db, clock, rita))
    db.commit()

    saved = ana.post(
        "/api/v1/views", json={"name": "New", "filters": {"status": ["new"]}, "sort": "-sla_due"}
    )
    assert saved.status_code == 201, saved.text
    assert ana.post("/api/v1/views", json={"name": "X", "filters": {"colour": "red"}}).json()["error"][
        "field"
    ] == ("colour")
    assert ana.post("/api/v1/views", json={"name": "X", "shared": True}).status_code == 403
    assert (
        lee.post(
            "/api/v1/views", json={"name": "Team billing", "filters": {"tag": "billing"}, "shared": True}
        ).status_code
        == 201
    )
    counts = {v["name"]: v["count"] for v in ana.get("/api/v1/views").json()}
    assert counts == {"New": 5, "Team billing": 3}  # Ana does not see the sensitive one
    listed = ana.get("/api/v1/tickets", params={"status": "new", "sort": "-sla_due", "limit": 200}).json()
    assert len(listed["items"]) == counts["New"]
    assert ana.get("/api/v1/tickets", params={"sort": "colour"}).status_code == 422
    assert {v["name"]: v["count"] for v in lee.get("/api/v1/views").json()} == {"Team billing": 3}

    actions = [{"type": "status", "status": "open"}, {"type": "tags", "add": ["q3-refund"]}]
    result = ana.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "actions": actions})
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["applied"] == [i for i in ids if i != ids[4]]
    assert body["skipped"] == {str(ids[4]): f"no ticket #{ids[4]}"}
    too_many = ana.post("/api/v1/tickets/bulk", json={"ticket_ids": list(range(1, 1002)), "actions": actions})
    assert too_many.status_code == 422
    unknown = ana.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, "actions": [{"type": "delete"}]})
    assert unknown.status_code == 422
    refused = requester.post("/api/v1/tickets/bulk", json={"ticket_ids": ids[:1], "actions": actions}).json()
    assert refused["applied"] == [] and "may not" in refused["skipped"][str(ids[0])]

    db.expire_all()
    for number in ids:
        ticket = db.get_one(Ticket, number)
        changed = number != ids[4]
        assert (ticket.status is Status.OPEN) == changed and ("q3-refund" in ticket.tags) == changed
    events = db.scalars(
        select(Event).where(Event.type.in_(["status_changed", "tags_changed"]), Event.actor_id == ana_user.id)
    ).all()
    assert len(events) == 10
