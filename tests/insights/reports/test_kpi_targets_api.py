"""/api/v1/kpi-targets over real HTTP: admins set and delete targets (stored and read back), analysts
read them, agents do neither; bad bodies are 422 naming the field."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.insights.reports.models import KpiTarget
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def test_targets_over_the_api(db: Session, live_server: LiveServer, clock: FixedClock) -> None:
    admin = live_server.client(make_token(db, clock, make_user(db, clock, Role.ADMIN)))
    analyst = live_server.client(make_token(db, clock, make_user(db, clock, Role.ANALYST)))
    agent = live_server.client(make_token(db, clock, make_user(db, clock, Role.AGENT)))
    db.commit()
    body = {
        "kpi": "first_reply_time:p90",
        "scope": "site",
        "scope_name": "Lisbon",
        "high": 3600,
        "notify": "pt@example.com",
    }
    made = admin.put("/api/v1/kpi-targets", json=body)
    assert made.status_code == 200, made.text
    assert made.json()["stat"] == "p90_s" and made.json()["breached_since"] is None
    again = admin.put("/api/v1/kpi-targets", json={**body, "high": 1800})  # the same line: replaced
    assert again.json()["id"] == made.json()["id"]
    stored = db.scalars(select(KpiTarget)).one()
    assert (stored.metric, stored.scope_name, stored.low, stored.high) == (
        "first_reply_time",
        "Lisbon",
        None,
        1800,
    )
    assert [t["high"] for t in analyst.get("/api/v1/kpi-targets").json()] == [1800]
    assert agent.get("/api/v1/kpi-targets").status_code == 403
    assert analyst.put("/api/v1/kpi-targets", json=body).status_code == 403
    for bad, field in (
        ({"kpi": "csat", "low": 0.9, "high": 0.5}, "low"),
        ({"kpi": "csat"}, "low"),
        ({"kpi": "nps_score", "low": 1}, "kpi"),
        ({"kpi": "csat", "low": 0.9, "scope": "site"}, "scope_name"),
        ({"kpi": "csat", "low": 1e300}, "low"),
        ({"kpi": "csat", "low": 0.9, "colour": "red"}, "colour"),
    ):
        answer = admin.put("/api/v1/kpi-targets", json=bad)
        assert answer.status_code == 422, (bad, answer.text)
        assert field in answer.text, (bad, answer.text)
    assert admin.delete(f"/api/v1/kpi-targets/{made.json()['id']}").status_code == 204
    assert admin.delete(f"/api/v1/kpi-targets/{made.json()['id']}").status_code == 404
    db.expire_all()
    assert db.scalars(select(KpiTarget)).all() == []
