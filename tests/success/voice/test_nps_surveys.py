"""Relationship NPS: scoring, schedules per segment and role, invitations mailed by the background job
(real SMTP sink on loopback, injected clock), answers through signed links over real HTTP, and the
answers reaching the account's NPS health measure and the event log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.background import load_job_modules
from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.jobs import DatabaseQueue, Worker, enqueue
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.success import actions as success
from opsdesk.success import segmenting
from opsdesk.success.health import actions as health
from opsdesk.success.health import queries as health_queries
from opsdesk.success.models import ContactRole, Stage
from opsdesk.success.segments import band
from opsdesk.success.voice.jobs import SEND_NPS
from opsdesk.success.voice.models import InvitationStatus, NpsInvitation, NpsResponse
from opsdesk.success.voice.nps import Candidate, Category, Rule, category, due, summarise
from opsdesk.success.voice.nps_surveys import invite_due, save_schedule
from tests.conftest import LiveServer, serving
from tests.desk.channels.sink import Sink, smtp_sink
from tests.factories import make_token, make_user


def test_nps_is_promoters_minus_detractors() -> None:
    assert [category(s) for s in (0, 6, 7, 8, 9, 10)] == [Category.DETRACTOR] * 2 + [Category.PASSIVE] * 2 + [
        Category.PROMOTER
    ] * 2
    summary = summarise([10, 9, 9, 8, 7, 6, 0, 10])
    assert (summary.promoters, summary.passives, summary.detractors) == (4, 2, 2)
    assert summary.nps == pytest.approx(25.0)
    assert summarise([]).nps is None and summarise([0]).nps == -100 and summarise([10]).nps == 100
    with pytest.raises(ValidationFailed):
        category(11)


def test_due_follows_the_segments_schedule_else_the_default() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    rules = {
        7: Rule(frozenset({"executive"}), timedelta(days=90)),
        None: Rule(frozenset({"hr_leader"}), timedelta(days=180)),
    }
    people = [
        Candidate(1, 10, 7, "executive", "a@x.example"),
        Candidate(2, 10, 7, "hr_leader", "b@x.example"),  # the segment's own schedule does not ask HR
        Candidate(3, 11, None, "hr_leader", "c@y.example"),
        Candidate(4, 11, None, "hr_leader", None),  # no address
        Candidate(5, 12, 8, "hr_leader", "e@z.example"),  # segment 8 has none: the default
        Candidate(6, 12, 8, "hr_leader", "f@z.example"),
    ]  # fmt: skip
    last = {1: now - timedelta(days=89), 6: now - timedelta(days=180)}
    assert [c.contact_id for c in due(people, rules, last, now)] == [3, 5, 6]
    assert [c.contact_id for c in due(people, rules, last, now + timedelta(days=1))] == [1, 3, 5, 6]


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def mail_settings(settings: Settings, sink: Sink) -> Settings:
    return settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})


def run_nps_job(session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings) -> None:
    load_job_modules()
    with transaction(session_factory) as session:
        enqueue(session, SEND_NPS, clock=clock, key=f"nps-{clock.now().isoformat()}")
    Worker(DatabaseQueue(session_factory, clock), session_factory=session_factory, clock=clock,
           settings=settings).drain()  # fmt: skip


def score_links(mail: object) -> dict[int, str]:
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]
    return {
        int(n): httpx.URL(url).raw_path.decode() for n, url in re.findall(r"^(\d+): (http\S+)$", text, re.M)
    }


def test_scheduled_invitations_are_mailed_answered_by_link_and_move_the_nps_measure(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    engine: object,
) -> None:
    with transaction(session_factory) as session:
        org = core.create_organisation(session, name="Acme", clock=clock)
        enterprise = segmenting.create_segment(
            session, name="Enterprise", rules=band(500, None), priority=1, clock=clock
        )
        acme = success.create_account(
            session, name="Acme", covered_lives=1000, organisation=org,
            stage=Stage.ADOPTION, clock=clock,
        )  # fmt: skip
        gone = success.create_account(session, name="Gone", stage=Stage.CHURNED, clock=clock)
        for name, role, account in (
            ("Hana", ContactRole.HR_LEADER, acme), ("Eve", ContactRole.EXECUTIVE, acme),
            ("Bill", ContactRole.BILLING, acme), ("Gail", ContactRole.HR_LEADER, gone),
        ):  # fmt: skip
            address = f"{name.lower()}@acme.example"
            success.save_contact(session, account=account, name=name, role=role, email=address, clock=clock)
        hana = make_user(session, clock, Role.REQUESTER, email="hana@acme.example", organisation=org)
        save_schedule(
            session, segment=enterprise, roles=["hr_leader", "executive"], every_days=90, clock=clock
        )
        save_schedule(session, segment=None, roles=["billing"], every_days=365, clock=clock)
        acme_id, hana_id = acme.id, hana.id
    run_nps_job(session_factory, clock, mail_settings)
    assert sorted(m["To"] for m in sink.messages()) == ["eve@acme.example", "hana@acme.example"]
    run_nps_job(session_factory, clock, mail_settings)
    assert len(sink.received) == 2  # nobody twice within the period
    hana_mail = next(m for m in sink.messages() if m["To"] == "hana@acme.example")
    assert hana_mail["Auto-Submitted"] == "auto-generated" and "recommend" in hana_mail["Subject"]
    links = score_links(hana_mail)
    assert sorted(links) == list(range(11))

    from opsdesk.web.app import create_app

    with serving(create_app(mail_settings, engine=engine, clock=clock)) as site, site.client() as http:  # type: ignore[arg-type]
        first = http.get(links[9])
        assert first.status_code == 200 and 'data-testid="saved"' in first.text
        token = re.search(r'name="token" value="([^"]+)"', first.text).group(1)  # type: ignore[union-attr]
        changed = http.post("/surveys/nps", data={"token": token, "score": "3", "comment": "Billing errors"})
        assert changed.status_code == 200
        payload, _, signature = links[10].rsplit("/", 1)[1].partition(".")
        other = next(m for m in sink.messages() if m["To"] == "eve@acme.example")
        spliced = score_links(other)[10].rsplit("/", 1)[1].split(".")[0] + "." + signature
        assert http.get(f"/surveys/nps/{spliced}").status_code == 422
        assert http.get(f"/surveys/nps/{payload}.{signature[:-1]}A").status_code == 422
    db.expire_all()
    responses = db.scalars(select(NpsResponse)).all()
    assert [(r.account_id, r.score, r.comment) for r in responses] == [(acme_id, 3, "Billing errors")]
    received = db.scalars(select(Event).where(Event.type == "nps_received").order_by(Event.id)).all()
    assert [(e.subject_type, e.data) for e in received] == [
        ("organisation", {"score": 9, "contact_user_id": hana_id}),
        ("organisation", {"score": 3, "contact_user_id": hana_id}),
    ]
    assert db.scalars(select(Event.data).where(Event.type == "nps_response_recorded")).all()[-1]["score"] == 3
    health.score_accounts(db, as_of=clock.now().date(), clock=clock)
    row = health_queries.latest_score(db, acme_id)
    assert row is not None and row.measures["nps"]["raw"] == pytest.approx(-100.0)  # one detractor
    db.commit()
    clock.advance(timedelta(days=90))
    run_nps_job(session_factory, clock, mail_settings)
    assert len(sink.received) == 4  # the next round
    assert db.scalars(select(NpsInvitation.status).distinct()).all() == [InvitationStatus.SENT]


def test_schedules_are_validated_and_only_leads_change_them(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    with transaction(session_factory) as session:
        lead = make_user(session, clock, Role.CS_LEAD, email="lead@cs.example")
        csm = make_user(session, clock, Role.CSM, email="csm@cs.example")
        lead_token, csm_token = make_token(session, clock, lead), make_token(session, clock, csm)
    body = {"segment_id": None, "roles": ["hr_leader", "executive"], "every_days": 180}
    with live_server.client(csm_token) as http:
        assert http.put("/api/v1/nps-schedules", json=body).status_code == 403
    with live_server.client(lead_token) as http:
        assert http.put("/api/v1/nps-schedules", json={**body, "every_days": 7}).status_code == 422
        assert http.put("/api/v1/nps-schedules", json={**body, "roles": ["boss"]}).status_code == 422
        assert http.put("/api/v1/nps-schedules", json={**body, "segment_id": 99}).status_code == 422
        assert http.put("/api/v1/nps-schedules", json=body).status_code == 200
        again = http.put("/api/v1/nps-schedules", json={**body, "every_days": 365})
        assert again.status_code == 200 and again.json()["roles"] == ["executive", "hr_leader"]
        assert [s["every_days"] for s in http.get("/api/v1/nps-schedules").json()] == [365]


def test_nothing_is_invited_without_a_schedule(db: Session, clock: FixedClock) -> None:
    account = success.create_account(db, name="Acme", clock=clock)
    success.save_contact(db, account=account, name="Hana", role=ContactRole.HR_LEADER, email="h@a.example",
                         clock=clock)  # fmt: skip
    assert invite_due(db, clock=clock) == 0
    save_schedule(db, segment=None, roles=["hr_leader"], every_days=30, clock=clock, active=False)
    assert invite_due(db, clock=clock) == 0
    assert date(2026, 3, 2) == clock.now().date()
