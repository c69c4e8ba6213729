"""/api/v1/routing over real HTTP: presence (own and a lead's for others), configuration by who may,
bad input as 4xx naming the field, and the hand-over report."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Tier
from opsdesk.desk.routing.models import AgentPresence, PresenceStatus, RoutingSettings
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def test_presence_and_configuration(live_server: LiveServer, db: Session, clock: FixedClock) -> None:
    agent_user = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    other = make_user(db, clock, Role.AGENT, email="bo@desk.test", tier=Tier.L1)
    agent = live_server.client(make_token(db, clock, agent_user))
    lead = live_server.client(make_token(db, clock, make_user(db, clock, Role.SUPPORT_LEAD)))
    requester = live_server.client(make_token(db, clock, make_user(db, clock, Role.REQUESTER)))
    db.commit()

    assert (
        agent.put(f"/api/v1/routing/presence/{agent_user.id}", json={"status": "online"}).status_code == 204
    )
    assert agent.put(f"/api/v1/routing/presence/{other.id}", json={"status": "online"}).status_code == 403
    assert lead.put(f"/api/v1/routing/presence/{other.id}", json={"status": "away"}).status_code == 204
    bad = agent.put(f"/api/v1/routing/presence/{agent_user.id}", json={"status": "sleeping"})
    assert bad.status_code == 422
    board = {row["name"]: row for row in agent.get("/api/v1/routing/presence").json()}
    assert board[agent_user.name]["status"] == "online" and board[agent_user.name]["capacity"]["chat"] == 3
    assert requester.get("/api/v1/routing/presence").status_code == 403
    db.expire_all()
    assert db.get_one(AgentPresence, other.id).status is PresenceStatus.AWAY
    changes = db.scalars(select(Event).where(Event.type == "presence_changed")).all()
    assert {(e.subject_id, e.data["to"]) for e in changes} == {(agent_user.id, "online"), (other.id, "away")}

    settings = {"choice": "round_robin", "skill_timeout_seconds": 600, "default_capacity": {"ticket": 5}}
    assert agent.put("/api/v1/routing/settings", json=settings).status_code == 403
    saved = lead.put("/api/v1/routing/settings", json=settings)
    assert saved.status_code == 200, saved.text
    assert saved.json()["default_capacity"]["ticket"] == 5
    db.expire_all()
    assert db.get_one(RoutingSettings, 1).skill_timeout_seconds == 600

    out_of_range = lead.put("/api/v1/routing/settings", json={"auto_away_seconds": 5})
    assert out_of_range.status_code == 422
    assert (
        lead.put("/api/v1/routing/skills", json={"name": "billing", "match_tags": ["invoice"]}).status_code
        == 200
    )
    unknown = lead.put("/api/v1/routing/agents", json={"email": "ana@desk.test", "skills": ["karate"]})
    assert unknown.status_code == 422 and "karate" in unknown.text
    profile = lead.put(
        "/api/v1/routing/agents",
        json={"email": "ana@desk.test", "languages": ["en"], "skills": ["billing"], "capacity": {"call": 2}},
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["capacity"] == {"chat": None, "call": 2, "ticket": None}
    group = lead.put(
        "/api/v1/routing/groups", json={"name": "Advocates", "tier": "L1", "members": ["ana@desk.test"]}
    )
    assert group.status_code == 200 and group.json()["members"] == ["ana@desk.test"]
    assert lead.delete("/api/v1/routing/skills/nothing").status_code == 404
    config = agent.get("/api/v1/routing/config").json()
    assert config["settings"]["choice"] == "round_robin" and config["skills"][0]["name"] == "billing"
    window = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z"}
    shifts = [{"starts_at": "2026-03-02T08:00:00Z", "ends_at": "2026-03-02T16:00:00Z"}]
    published = lead.put(f"/api/v1/routing/agents/{agent_user.id}/shifts", json={**window, "shifts": shifts})
    assert published.status_code == 200 and published.json() == {"shifts": 1}
    outside = [{"starts_at": "2026-03-02T20:00:00Z", "ends_at": "2026-03-03T04:00:00Z"}]
    refused = lead.put(f"/api/v1/routing/agents/{agent_user.id}/shifts", json={**window, "shifts": outside})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "shifts[0]"
    report = agent.get("/api/v1/routing/handovers", params={"hours": 48})
    assert report.status_code == 200 and report.json() == []
    assert agent.get("/api/v1/routing/handovers", params={"hours": 0}).status_code == 422
