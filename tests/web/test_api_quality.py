"""/api/v1/qa over real HTTP: the review -> dispute -> accept loop, who may do which, the CSV export,
calibration kept blind, the weekly queue and bad input."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.quality.world import RUBRIC, build_team, worked_ticket

RATED = {
    "empathy": {"value": 2},
    "tone": {"value": 3, "comment": "warm"},
    "solution": {"value": 2},
    "privacy": {"value": 1},
}


def test_review_dispute_accept_and_iqs_over_http(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    secret = worked_ticket(db, clock, team, agents=[team.agent], sensitive=True)
    support_lead = make_user(db, clock, Role.SUPPORT_LEAD, email="sl@qa.test", password=None)
    tokens = {
        name: make_token(db, clock, user)
        for name, user in [
            ("agent", team.agent),
            ("other", team.other_agent),
            ("reviewer", team.reviewer),
            ("lead", team.lead),
            ("support_lead", support_lead),
        ]
    }
    db.commit()
    agent, other, reviewer, lead = (
        live_server.client(tokens[n]) for n in ("agent", "other", "reviewer", "lead")
    )

    rubrics = reviewer.get("/api/v1/qa/rubrics")
    assert rubrics.status_code == 200 and rubrics.json()[0]["name"] == RUBRIC["name"]
    assert agent.get("/api/v1/qa/rubrics").status_code == 403
    assert reviewer.post("/api/v1/qa/rubrics", json=RUBRIC).status_code == 403

    body = {
        "ticket_id": ticket.id,
        "agent_id": team.agent.id,
        "rubric_id": team.version.rubric_id,
        "ratings": RATED,
    }
    made = reviewer.post("/api/v1/qa/reviews", json=body)
    assert made.status_code == 201, made.text
    review = made.json()
    assert round(review["score"], 3) == 40.196  # see test_reviews: (666.67 + 1000 + 1250 + 500) / 85
    hidden = reviewer.post("/api/v1/qa/reviews", json={**body, "ticket_id": secret.id})
    assert hidden.status_code == 404 and hidden.json()["error"]["field"] == "ticket_id"

    assert [r["id"] for r in agent.get("/api/v1/qa/reviews").json()] == [review["id"]]
    assert other.get("/api/v1/qa/reviews").json() == []
    assert other.get(f"/api/v1/qa/reviews/{review['id']}").status_code == 404
    assert agent.get("/api/v1/qa/iqs").json()["iqs"] == review["score"]
    assert other.get(f"/api/v1/qa/iqs?agent_id={team.agent.id}").status_code == 404

    short = agent.post(f"/api/v1/qa/reviews/{review['id']}/disputes", json={"reason": "no"})
    assert short.status_code == 422
    not_theirs = other.post(
        f"/api/v1/qa/reviews/{review['id']}/disputes", json={"reason": "This is unfair to me"}
    )
    assert not_theirs.status_code == 404
    dispute = agent.post(
        f"/api/v1/qa/reviews/{review['id']}/disputes",
        json={"category_key": "solution", "reason": "The KB article says exactly this"},
    )
    assert dispute.status_code == 201, dispute.text
    dispute_id = dispute.json()["id"]
    assert [d["id"] for d in lead.get("/api/v1/qa/disputes").json()] == [dispute_id]
    assert [d["id"] for d in agent.get("/api/v1/qa/disputes").json()] == [dispute_id]
    assert other.get("/api/v1/qa/disputes").json() == []

    refused = reviewer.post(
        f"/api/v1/qa/disputes/{dispute_id}/resolution", json={"accept": True, "corrections": {"solution": 4}}
    )
    assert refused.status_code == 403
    off_scale = lead.post(
        f"/api/v1/qa/disputes/{dispute_id}/resolution", json={"accept": True, "corrections": {"solution": 9}}
    )
    assert off_scale.status_code == 422
    accepted = lead.post(
        f"/api/v1/qa/disputes/{dispute_id}/resolution",
        json={"accept": True, "corrections": {"solution": 4}, "note": "Right, the KB changed"},
    )
    assert accepted.status_code == 200, accepted.text
    again = agent.get(f"/api/v1/qa/reviews/{review['id']}").json()
    assert round(again["score"], 3) == 40.196 and round(again["corrected_score"], 3) == 69.608
    assert round(agent.get("/api/v1/qa/iqs").json()["iqs"], 3) == 69.608
    stats = lead.get("/api/v1/qa/disputes/stats").json()
    assert stats["solution"]["accepted"] == 1

    exported = lead.get("/api/v1/qa/reviews.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["review_id"], r["score"], r["corrected_score"]) for r in rows] == [
        (str(review["id"]), "40.20", "69.61")
    ]
    assert rows[0]["ratings"] == "empathy=2; tone=3; solution=2; privacy=1"
    assert list(csv.DictReader(io.StringIO(other.get("/api/v1/qa/reviews.csv").text))) == []

    coached = lead.post(
        "/api/v1/qa/coaching",
        json={
            "agent_id": team.agent.id,
            "kind": "goal",
            "body": "Check the KB first",
            "review_id": review["id"],
            "target_iqs": 80,
        },
    )
    assert coached.status_code == 201, coached.text
    assert [c["body"] for c in agent.get("/api/v1/qa/coaching").json()] == ["Check the KB first"]
    trend = agent.get(f"/api/v1/qa/agents/{team.agent.id}/trend?weeks=2").json()
    assert [round(w["iqs"] or 0, 3) for w in trend] == [0, 69.608]


def test_calibration_is_blind_until_all_submit_over_http(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent])
    tokens = {u.id: make_token(db, clock, u) for u in (team.reviewer, team.clinical_reviewer, team.lead)}
    db.commit()
    lead = live_server.client(tokens[team.lead.id])
    first, second = (
        live_server.client(tokens[team.reviewer.id]),
        live_server.client(tokens[team.clinical_reviewer.id]),
    )
    created = lead.post(
        "/api/v1/qa/calibrations",
        json={
            "name": "Week 10",
            "rubric_version_id": team.version.id,
            "reviewer_ids": [team.reviewer.id, team.clinical_reviewer.id],
            "items": [{"ticket_id": ticket.id, "agent_id": team.agent.id}],
        },
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    body = {
        "ticket_id": ticket.id,
        "agent_id": team.agent.id,
        "rubric_version_id": team.version.id,
        "calibration_session_id": session_id,
        "ratings": RATED,
    }
    assert first.post("/api/v1/qa/reviews", json=body).status_code == 201
    blind = second.get(f"/api/v1/qa/calibrations/{session_id}").json()
    assert blind["revealed"] is False and "items" not in blind
    assert (
        second.post(
            "/api/v1/qa/reviews", json={**body, "ratings": {**RATED, "solution": {"value": 5}}}
        ).status_code
        == 201
    )
    shown = lead.get(f"/api/v1/qa/calibrations/{session_id}").json()
    assert shown["revealed"] is True
    item = shown["items"][0]
    assert len(item["scores"]) == 2 and item["within_10"] == 0.0
    agreed = lead.post(
        f"/api/v1/qa/calibrations/{session_id}/items/{item['item_id']}/agreed", json={"agreed_score": 60}
    )
    assert agreed.status_code == 200 and agreed.json()["items"][0]["agreed_score"] == 60
    assert lead.get(f"/api/v1/qa/iqs?agent_id={team.agent.id}").json()["reviews"] == 0


def test_queue_and_bad_input(live_server: LiveServer, db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    reviewer_token = make_token(db, clock, team.reviewer)
    agent_token = make_token(db, clock, team.agent)
    db.commit()
    reviewer = live_server.client(reviewer_token)
    assert reviewer.get("/api/v1/qa/queue").json() == []
    assert live_server.client(agent_token).get("/api/v1/qa/queue").status_code == 403
    assert reviewer.get("/api/v1/qa/queue?week=2400-01-01").status_code == 422
    assert reviewer.get("/api/v1/qa/reviews/99999999999").status_code == 422
    bad = reviewer.post(
        "/api/v1/qa/reviews", json={"ticket_id": 1, "agent_id": 1, "ratings": {"Bad Key": {"value": 1}}}
    )
    assert bad.status_code == 422
    nul = reviewer.post(
        "/api/v1/qa/reviews",
        json={"ticket_id": 1, "agent_id": 1, "rubric_id": 1, "ratings": {}, "comment": "a\x00"},
    )
    assert nul.status_code == 422


def test_listing_reviews_of_sensitive_tickets_is_audited(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    from sqlalchemy import select

    from opsdesk.core.models import AuditEntry
    from opsdesk.quality import actions
    from tests.quality.world import ratings

    team = build_team(db, clock)
    secret = worked_ticket(db, clock, team, agents=[team.agent], sensitive=True)
    actions.submit_review(
        db, reviewer=team.clinical_reviewer, ticket=secret, agent=team.agent, version=team.version,
        ratings=ratings(empathy=4, tone=3, solution=5, privacy=1), clock=clock,
    )  # fmt: skip
    token = make_token(db, clock, team.agent)
    db.commit()
    assert len(live_server.client(token).get("/api/v1/qa/reviews").json()) == 1
    db.rollback()
    rows = db.scalars(select(AuditEntry).where(AuditEntry.action == "ticket_listed")).all()
    assert [(r.subject_id, r.actor_id, r.detail["via"]) for r in rows] == [
        (secret.id, team.agent.id, "qa_reviews")
    ]
