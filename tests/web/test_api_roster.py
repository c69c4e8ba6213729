"""Named agents assigned to a plan's week and published, over real HTTP: contracted hours and approved
time off are honoured, the lines nobody may take come back open with the reason, routing then sees the
agent on shift at their shift's time, their schedule page lists the shift, and publishing again changes
nothing. The planner page's form does the same for a lead; agents may do neither."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role, Site, User
from opsdesk.desk.routing.models import AgentShift, PresenceStatus
from opsdesk.desk.routing.presence import set_presence
from opsdesk.desk.routing.state import load_agents, routing_settings
from opsdesk.workforce.default_plan import default_plan
from opsdesk.workforce.models import AgentContract, PlanRun, PlanStatus
from opsdesk.workforce.roster.assign import NO_SKILLS
from opsdesk.workforce.time_off.models import TimeOffKind, TimeOffRequest, TimeOffStatus
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.signin_http import sign_in_http

DAY = timedelta(days=1)
HIRING_ROW = {
    "month": "2026-04",
    "site": "Dublin",
    "skill": "L1",
    "required_fte": 1.0,
    "productive_fte": 1.0,
    "headcount": 2.0,
    "attrition": 0.0,
    "hires_starting": 0,
    "requisitions": 0,
    "requisition_start_month": None,
    "coverage_pct": 100.0,
}


def _line(name: str, start: datetime, skills: list[str]) -> dict[str, Any]:
    return {
        "line": name,
        "site": "Dublin",
        "team": "L2" if "L2" in skills else "L1",
        "skills": skills,
        "languages": ["en"],
        "start": start.isoformat(),
        "end": (start + timedelta(hours=8, minutes=30)).isoformat(),
        "work_minutes": 480,
    }


def _plan(db: Session, now: datetime, *, lines: bool = True) -> PlanRun:
    """A stored plan run whose week (from now) has two L1 lines working Tuesday to Saturday at 08:00 and
    10:00 UTC (Dublin is on UTC in March), and one L2 shift on Tuesday."""
    tuesday = now.replace(hour=0) + DAY
    rows = [_line("Dublin-L1-001", tuesday + d * DAY + timedelta(hours=8), ["L1"]) for d in range(5)]
    rows += [_line("Dublin-L1-002", tuesday + d * DAY + timedelta(hours=10), ["L1"]) for d in range(5)]
    rows.append(_line("Dublin-L2-001", tuesday + timedelta(hours=9), ["L1", "L2"]))
    stamps = [(now + timedelta(hours=h)).isoformat() for h in range(7 * 24)]
    totals = {"required": 0, "scheduled": 0, "under": 0, "over": 0, "unserved": 0, "covered_pct": None}
    schedule: dict[str, Any] = {
        "timestamps": stamps,
        "interval_minutes": 60,
        "sites": {},
        "unserved": [0] * len(stamps),
        "totals": {**totals, "shifts": len(rows)},
    }
    if lines:
        schedule["lines"] = rows
    run = PlanRun(
        created_at=now,
        status=PlanStatus.COMPLETE,
        build_ms=0,
        config=default_plan(now),
        forecast={},
        requirement={"timestamps": stamps, "by_channel": {"chat": [1] * len(stamps)}},
        schedule=schedule,
        hiring={"rows": [HIRING_ROW]},
        summary={"channels": ["chat"], "notes": [], "start": now.isoformat(), "lowest_coverage_pct": None},
    )
    db.add(run)
    db.flush()
    return run


def _agent(db: Session, clock: FixedClock, email: str, site: Site) -> User:
    user = make_user(db, clock, Role.AGENT, email=email)
    user.site, user.skills, user.languages = site, ["billing"], ["en"]  # "L1" comes from the tier
    return user


def _on_shift(db: Session, user_id: int, at: datetime) -> bool:
    db.expire_all()
    agents = load_agents(db, now=at, settings=routing_settings(db, at))
    db.rollback()  # hold no SQLite lock while the server writes
    return next(a.on_shift for a in agents if a.id == user_id)


def test_assign_publish_and_routing_and_the_schedule_page_see_it(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    now = clock.now()  # Monday 2026-03-02 09:00 UTC
    dublin = Site(name="Dublin", timezone="Europe/Dublin")
    db.add(dublin)
    ana = _agent(db, clock, "ana@desk.test", dublin)
    ben = _agent(db, clock, "ben@desk.test", dublin)
    lead_user = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    thursday = now.replace(hour=0) + 3 * DAY
    db.add(
        TimeOffRequest(
            user=ben,
            kind=TimeOffKind.VACATION,
            starts_at=thursday,
            ends_at=thursday + DAY,
            status=TimeOffStatus.APPROVED,
            requested_at=now,
        )
    )
    set_presence(db, agent=ana, status=PresenceStatus.ONLINE, clock=clock, actor=ana)
    run, old = _plan(db, now), _plan(db, now, lines=False)
    lead = live_server.client(make_token(db, clock, lead_user))
    agent = live_server.client(make_token(db, clock, ana))
    db.commit()

    # Contracted hours: a lead sets them, bounded; an agent may not.
    contract = f"/api/v1/workforce/agents/{ana.id}/contract"
    assert lead.put(contract, json={"hours_per_week": 16}).status_code == 200
    assert lead.put(contract, json={"hours_per_week": 100}).status_code == 422
    assert agent.put(contract, json={"hours_per_week": 40}).status_code == 403
    assert db.get(AgentContract, ana.id).minutes_per_week == 16 * 60  # type: ignore[union-attr]
    db.rollback()

    assert agent.post(f"/api/v1/workforce/plans/{run.id}/assignment").status_code == 403
    stale = lead.post(f"/api/v1/workforce/plans/{old.id}/assignment")
    assert stale.status_code == 422 and "build a new plan" in stale.text
    assert lead.post("/api/v1/workforce/plans/999999/assignment").status_code == 404

    answer = lead.post(f"/api/v1/workforce/plans/{run.id}/assignment")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = {row["user_id"]: row for row in body["agents"]}
    # Ana: 16 contracted hours, two 8-hour shifts. Ben: no contract (Dublin's 40-hour week), but off on
    # Thursday: four days. Thursday's second shift finds nobody (Ana works Thursday's first).
    assert (rows[ana.id]["hours"], rows[ana.id]["contracted_hours"], rows[ana.id]["contract_set"]) == (
        16,
        16,
        True,
    )
    assert (rows[ben.id]["hours"], rows[ben.id]["contracted_hours"], rows[ben.id]["contract_set"]) == (
        32,
        40,
        False,
    )
    ben_days = {datetime.fromisoformat(s["starts_at"]).date() for s in rows[ben.id]["shifts"]}
    assert thursday.date() not in ben_days and len(ben_days) == 4
    opened = {(o["line"], o["starts_at"][:10]): o["reason"] for o in body["open"]}
    assert len(opened) == 11 - 6 and opened[("Dublin-L2-001", "2026-03-03")] == NO_SKILLS

    # Stored as each agent's published shifts; routing sees Ana on shift during one and off between.
    stored = db.scalars(select(AgentShift).where(AgentShift.user_id == ana.id)).all()
    first = min(stored, key=lambda s: s.starts_at)
    assert sorted((s.starts_at, s.ends_at) for s in stored) == sorted(
        (datetime.fromisoformat(s["starts_at"]), datetime.fromisoformat(s["ends_at"]))
        for s in rows[ana.id]["shifts"]
    )
    db.rollback()
    assert _on_shift(db, ana.id, first.starts_at + timedelta(hours=1))
    assert not _on_shift(db, ana.id, first.starts_at - timedelta(hours=2))

    # Her schedule page lists the shift.
    sign_in_http(agent, "ana@desk.test")
    mine = agent.get("/me/schedule")
    assert mine.status_code == 200 and f'data-testid="shift-{first.id}"' in mine.text

    # Publishing again changes nothing: same shifts, same rows, no routing event; one more workforce event.
    changes = select(func.count()).select_from(Event).where(Event.type == "routing_config_changed")
    before = db.scalar(changes)
    ids = sorted(db.scalars(select(AgentShift.id)).all())
    db.rollback()
    again = lead.post(f"/api/v1/workforce/plans/{run.id}/assignment")
    assert again.json() == body
    assert db.scalar(changes) == before and sorted(db.scalars(select(AgentShift.id)).all()) == ids
    published = db.scalars(select(Event).where(Event.type == "schedule_published").order_by(Event.id)).all()
    assert [e.data["agents_changed"] for e in published] == [2, 0]
    assert published[0].subject_id == run.id and published[0].data["open"] == 5
    db.rollback()

    # The planner page: a lead's form shows the result table; an agent may not open it, nor post.
    page = live_server.client()
    sign_in_http(page, "lee@desk.test")
    shown = page.get(f"/planner/{run.id}")
    assert 'data-testid="assign"' in shown.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown.text)
    assert token is not None
    result = page.post(f"/planner/{run.id}/assignment", data={"csrf_token": token.group(1)})
    assert result.status_code == 200
    assert re.search(rf'data-testid="agent-{ana.id}".*?data-testid="hours">16 / 16<', result.text, re.S)
    assert "Dublin-L2-001" in result.text
    assert "holds the line&#39;s skills" in result.text
    assert "no-lines" in page.get(f"/planner/{old.id}").text
    assert agent.get(f"/planner/{run.id}").status_code == 403  # agents work to /me/schedule
    token = re.search(r'name="csrf_token" value="([^"]+)"', agent.get("/me/schedule").text)
    assert token is not None
    refused = agent.post(f"/planner/{run.id}/assignment", data={"csrf_token": token.group(1)})
    assert refused.status_code == 403
