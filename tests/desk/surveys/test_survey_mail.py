"""The survey email end to end: sent by the background job once the delay after solving has passed
(injected clock, real SMTP sink on loopback), its links followed over real HTTP to the public page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.background import load_job_modules
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.jobs import DatabaseQueue, Worker, enqueue, registry
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.channels.email.outbound import BACKOFF
from opsdesk.desk.models import Status, Ticket
from opsdesk.desk.surveys.jobs import SEND_SURVEYS
from opsdesk.desk.surveys.models import CsatRating, CsatSurvey, SurveyOptOut, SurveyStatus
from opsdesk.desk.surveys.scale import Rating
from tests.conftest import LiveServer, serving
from tests.desk.channels.sink import Sink, smtp_sink
from tests.desk.surveys.helpers import person, solved_ticket
from tests.factories import make_token
from tests.web.signin_http import sign_in_http


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def mail_settings(settings: Settings, sink: Sink) -> Settings:
    return settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{sink.port}", "csat_scale": "one_to_five"}
    )


@pytest.fixture
def site(engine, clock: FixedClock, mail_settings: Settings) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    from opsdesk.web.app import create_app

    with serving(create_app(mail_settings, engine=engine, clock=clock)) as server:
        yield server


def run_survey_job(session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings) -> None:
    load_job_modules()
    with transaction(session_factory) as session:
        enqueue(session, SEND_SURVEYS, clock=clock, key=f"test-{clock.now().isoformat()}")
    worker = Worker(DatabaseQueue(session_factory, clock), session_factory=session_factory, clock=clock,
                    settings=settings)  # fmt: skip
    worker.drain()  # with the reply mail the agent's answer queued


def survey_mails(sink: Sink) -> list[EmailMessage]:
    """The surveys among what the sink received (the agents' replies go there too)."""
    return [m for m in sink.messages() if m["Subject"].startswith("How did we do?")]


def links_in(sink: Sink, index: int = -1) -> dict[str, str]:
    text = survey_mails(sink)[index].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = dict(re.findall(r"^(.+?): (http\S+)$", text.replace("\r\n", "\n"), flags=re.M))
    return {label.split(" ")[0] if label[0].isdigit() else label: url for label, url in found.items()}


def path_of(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


def test_the_survey_leaves_after_the_delay_once_and_records_one_click(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    site: LiveServer,
) -> None:
    with transaction(session_factory) as session:
        requester = person(session, clock, Role.REQUESTER)
        agent = person(session, clock, Role.AGENT)
        ticket_id = solved_ticket(session, clock, requester=requester, agent=agent).id
        address, agent_email = requester.email, agent.email
    assert SEND_SURVEYS in {p.name for p in registry.enabled_periodics(mail_settings)}
    clock.advance(timedelta(hours=23, minutes=55))
    run_survey_job(session_factory, clock, mail_settings)
    assert survey_mails(sink) == []
    clock.advance(timedelta(minutes=5))
    run_survey_job(session_factory, clock, mail_settings)
    assert len(survey_mails(sink)) == 1
    mail = survey_mails(sink)[0]
    assert mail["To"] == address and mail["Auto-Submitted"] == "auto-generated"
    assert mail["Subject"] == f"How did we do? Re: Card declined [#{ticket_id}]"
    urls = links_in(sink)
    assert set(urls) == {"1", "2", "3", "4", "5", "No more surveys"}
    clock.advance(timedelta(hours=1))
    run_survey_job(session_factory, clock, mail_settings)
    assert len(survey_mails(sink)) == 1  # once per ticket
    survey = db.scalars(select(CsatSurvey)).one()
    assert (survey.status, survey.sent_at) == (SurveyStatus.SENT, clock.now() - timedelta(hours=1))

    with site.client() as http:
        page = http.get(path_of(urls["2"]))
        assert page.status_code == 200 and 'data-testid="saved"' in page.text
        db.expire_all()
        rating = db.scalars(select(CsatRating)).one()
        assert (rating.rating, rating.score, rating.ticket_id) == (Rating.BAD, 2, ticket_id)
        form_token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        changed = http.post(
            "/surveys/csat",
            data={
                "token": form_token,
                "choice": "5",
                "comment": "Sorted in minutes",
                "reason": "Some other reason",
            },
        )
        assert changed.status_code == 200
    db.expire_all()
    rating = db.scalars(select(CsatRating)).one()
    assert (rating.rating, rating.score, rating.comment, rating.reason) == (
        Rating.GOOD, 5, "Sorted in minutes", "Some other reason"
    )  # fmt: skip
    events = db.scalars(select(Event.data).where(Event.type == "csat_received").order_by(Event.id)).all()
    assert [(e["rating"], e["score"], e["via"], e["comment"]) for e in events] == [
        ("bad", 2, "email", False), ("good", 5, "email", True)
    ]  # fmt: skip
    with site.client() as http:  # the agent sees it on the ticket
        sign_in_http(http, agent_email)
        card = (
            http.get(f"/tickets/{ticket_id}")
            .text.split('data-testid="satisfaction"')[1]
            .split("</section>")[0]
        )
    assert "good" in card and "5 / 5" in card and "Sorted in minutes" in card and "Some other reason" in card


def test_tampered_and_foreign_links_are_refused_over_http(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    site: LiveServer,
) -> None:
    with transaction(session_factory) as session:
        first = solved_ticket(session, clock).id
        second = solved_ticket(session, clock).id
    clock.advance(timedelta(days=1))
    run_survey_job(session_factory, clock, mail_settings)
    assert len(survey_mails(sink)) == 2
    five_for_first = path_of(links_in(sink, 0)["5"]).rsplit("/", 1)[1]
    one_for_second = path_of(links_in(sink, 1)["1"]).rsplit("/", 1)[1]
    spliced = one_for_second.split(".")[0] + "." + five_for_first.split(".")[1]
    altered = five_for_first[:-3] + ("xyz" if not five_for_first.endswith("xyz") else "abc")
    with site.client() as http:
        for bad in (spliced, altered, five_for_first.split(".")[0] + ".", "not-a-token-at-all"):
            answer = http.get(f"/surveys/csat/{bad}")
            assert 400 <= answer.status_code < 500, bad
        assert http.post("/surveys/csat", data={"token": spliced, "choice": "1"}).status_code == 422
    db.expire_all()
    assert db.scalars(select(CsatRating)).all() == []
    assert {first, second} == set(db.scalars(select(CsatSurvey.ticket_id)))


def test_opting_out_by_link_stops_later_surveys(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
    site: LiveServer,
) -> None:
    with transaction(session_factory) as session:
        requester = person(session, clock, Role.REQUESTER)
        requester_id = requester.id
        solved_ticket(session, clock, requester=requester)
    clock.advance(timedelta(days=1))
    run_survey_job(session_factory, clock, mail_settings)
    opt_out = path_of(links_in(sink)["No more surveys"])
    with site.client() as http:
        assert "No more surveys" in http.get(opt_out).text
        done = http.post("/surveys/opt-out", data={"token": opt_out.rsplit("/", 1)[1]})
        assert done.status_code == 200 and 'data-testid="opted-out"' in done.text
    assert db.get(SurveyOptOut, requester_id) is not None
    with transaction(session_factory) as session:
        later = solved_ticket(session, clock, requester=session.get_one(type(requester), requester_id)).id
    clock.advance(timedelta(days=1))
    run_survey_job(session_factory, clock, mail_settings)
    assert len(survey_mails(sink)) == 1
    assert (
        db.scalars(select(CsatSurvey.skip_reason).where(CsatSurvey.ticket_id == later)).one() == "opted_out"
    )


def test_a_ticket_reopened_before_its_survey_is_surveyed_after_the_next_solve(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
) -> None:
    with transaction(session_factory) as session:
        ticket_id = solved_ticket(session, clock).id
    clock.advance(timedelta(days=1))
    with transaction(session_factory) as session:
        from opsdesk.desk.surveys.actions import schedule_surveys

        assert schedule_surveys(session, clock=clock, settings=mail_settings) == 1
        ticket = session.get_one(Ticket, ticket_id)
        desk_actions.change_status(session, ticket=ticket, to=Status.OPEN, actor=None, clock=clock)
    run_survey_job(session_factory, clock, mail_settings)
    assert survey_mails(sink) == [] and db.scalars(select(CsatSurvey)).all() == []
    with transaction(session_factory) as session:
        desk_actions.change_status(
            session, ticket=session.get_one(Ticket, ticket_id), to=Status.SOLVED, actor=None, clock=clock
        )
    clock.advance(timedelta(days=1))
    run_survey_job(session_factory, clock, mail_settings)
    assert len(survey_mails(sink)) == 1


def test_the_api_records_a_chat_rating_for_the_requester_and_refuses_agents(
    session_factory: sessionmaker[Session], db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    with transaction(session_factory) as session:
        requester = person(session, clock, Role.REQUESTER)
        agent = person(session, clock, Role.AGENT)
        ticket_id = solved_ticket(session, clock, requester=requester, agent=agent).id
        customer_token, agent_token = make_token(session, clock, requester), make_token(session, clock, agent)
    url = f"/api/v1/tickets/{ticket_id}/satisfaction"
    with live_server.client(agent_token) as http:
        assert http.put(url, json={"rating": "good"}).status_code == 403
        assert http.get(url).status_code == 404
    with live_server.client(customer_token) as http:
        assert http.put(url, json={"rating": "4"}).status_code == 422  # the install's scale is good/bad
        saved = http.put(
            url,
            json={"rating": "bad", "via": "chat", "comment": "Slow", "reason": "The issue was not resolved"},
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["rating"] == "bad" and saved.json()["via"] == "chat"
        assert http.put(url, json={"rating": "good", "reason": "made up"}).status_code == 422
    with live_server.client(agent_token) as http:
        shown = http.get(f"/api/v1/tickets/{ticket_id}").json()["satisfaction"]
        assert (shown["rating"], shown["comment"], shown["reason"]) == (
            "bad",
            "Slow",
            "The issue was not resolved",
        )
    db.expire_all()
    assert db.scalars(select(CsatRating.via)).all() == ["chat"]


def test_a_refused_survey_is_retried_on_the_backoff_then_given_up(
    session_factory: sessionmaker[Session],
    db: Session,
    clock: FixedClock,
    sink: Sink,
    mail_settings: Settings,
) -> None:
    """The server refuses the address: each attempt is recorded with its error and tried again after the
    next delay; once the delays are used up the survey is failed and never tried again."""
    with transaction(session_factory) as session:
        requester = person(session, clock, Role.REQUESTER)
        solved_ticket(session, clock, requester=requester, agent=person(session, clock, Role.AGENT))
    sink.refuse = "550 5.1.1 no such user"
    clock.advance(timedelta(hours=24))
    for attempt, delay in enumerate(BACKOFF, start=1):
        run_survey_job(session_factory, clock, mail_settings)
        db.expire_all()
        survey = db.scalars(select(CsatSurvey)).one()
        assert (survey.status, survey.attempts) == (SurveyStatus.PENDING, attempt)
        assert "SMTPRecipientsRefused" in (survey.last_error or "")
        assert survey.next_attempt_at == clock.now() + delay
        clock.advance(delay - timedelta(seconds=1))
        run_survey_job(session_factory, clock, mail_settings)  # not due yet: no attempt
        db.expire_all()
        assert db.scalars(select(CsatSurvey)).one().attempts == attempt
        clock.advance(timedelta(seconds=1))
    run_survey_job(session_factory, clock, mail_settings)
    db.expire_all()
    survey = db.scalars(select(CsatSurvey)).one()
    assert (survey.status, survey.attempts) == (SurveyStatus.FAILED, len(BACKOFF) + 1)
    clock.advance(timedelta(days=2))
    run_survey_job(session_factory, clock, mail_settings)
    db.expire_all()
    assert db.scalars(select(CsatSurvey)).one().attempts == len(BACKOFF) + 1
    assert sink.received == []
