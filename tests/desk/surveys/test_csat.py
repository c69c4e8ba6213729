"""The CSAT must-hold: scale mappings, one rating per ticket changeable until it closes, the survey
exclusions, and signed links that refuse tampering and other tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.core.signing import BadLink
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Status
from opsdesk.desk.surveys import actions, links
from opsdesk.desk.surveys.models import CsatRating, CsatSurvey, SurveyStatus
from opsdesk.desk.surveys.scale import Rating, Scale, Skip, TicketFacts, Via, answer, csat_pct, skip_reason
from tests.desk.surveys.helpers import person, solved_ticket


@pytest.mark.parametrize(
    ("scale", "choice", "rating", "score"),
    [
        (Scale.GOOD_BAD, "good", Rating.GOOD, None),
        (Scale.GOOD_BAD, "BAD", Rating.BAD, None),
        (Scale.ONE_TO_FIVE, 5, Rating.GOOD, 5),
        (Scale.ONE_TO_FIVE, "4", Rating.GOOD, 4),
        (Scale.ONE_TO_FIVE, 3, Rating.BAD, 3),
        (Scale.ONE_TO_FIVE, 2, Rating.BAD, 2),
        (Scale.ONE_TO_FIVE, 1, Rating.BAD, 1),
    ],
)
def test_scale_mapping(scale: Scale, choice: str | int, rating: Rating, score: int | None) -> None:
    given = answer(scale, choice)
    assert (given.rating, given.score) == (rating, score)


@pytest.mark.parametrize(
    ("scale", "choice"),
    [(Scale.GOOD_BAD, "4"), (Scale.GOOD_BAD, "meh"), (Scale.ONE_TO_FIVE, 0), (Scale.ONE_TO_FIVE, 6),
     (Scale.ONE_TO_FIVE, "good"), (Scale.ONE_TO_FIVE, "-1")],
)  # fmt: skip
def test_answers_off_the_scale_are_refused(scale: Scale, choice: str | int) -> None:
    with pytest.raises(ValidationFailed):
        answer(scale, choice)


def test_csat_is_good_over_rated() -> None:
    assert csat_pct(0, 0) is None
    assert csat_pct(9, 1) == 90.0


def test_a_rating_is_one_per_ticket_and_changes_until_the_ticket_closes(
    db: Session, clock: FixedClock
) -> None:
    ticket = solved_ticket(db, clock)
    actions.record_rating(db, ticket=ticket, choice=2, scale=Scale.ONE_TO_FIVE, via=Via.EMAIL, clock=clock)
    clock.advance(timedelta(minutes=5))
    actions.record_rating(
        db,
        ticket=ticket,
        choice=5,
        scale=Scale.ONE_TO_FIVE,
        via=Via.EMAIL,
        clock=clock,
        comment="Quick and kind",
        reason="Some other reason",
    )
    db.commit()
    rows = db.scalars(select(CsatRating)).all()
    assert [(r.ticket_id, r.rating, r.score, r.comment, r.reason) for r in rows] == [
        (ticket.id, Rating.GOOD, 5, "Quick and kind", "Some other reason")
    ]
    # A later one-click answer keeps the comment; the events keep every answer, the latest counts.
    actions.record_rating(db, ticket=ticket, choice=4, scale=Scale.ONE_TO_FIVE, via=Via.CHAT, clock=clock)
    db.commit()
    events = db.scalars(select(Event).where(Event.type == "csat_received").order_by(Event.id)).all()
    assert [e.data for e in events] == [
        {"rating": "bad", "score": 2, "scale": "one_to_five", "via": "email", "comment": False},
        {"rating": "good", "score": 5, "scale": "one_to_five", "via": "email", "comment": True},
        {"rating": "good", "score": 4, "scale": "one_to_five", "via": "chat", "comment": True},
    ]
    assert {e.subject_id for e in events} == {ticket.id} and {e.actor_id for e in events} == {
        ticket.requester_id
    }
    desk_actions.change_status(db, ticket=ticket, to=Status.CLOSED, actor=None, clock=clock)
    with pytest.raises(Conflict):
        actions.record_rating(
            db, ticket=ticket, choice="1", scale=Scale.ONE_TO_FIVE, via=Via.EMAIL, clock=clock
        )
    db.rollback()
    assert db.scalars(select(CsatRating.score)).all() == [4]


def test_merged_and_unanswered_tickets_cannot_be_rated(db: Session, clock: FixedClock) -> None:
    unanswered = solved_ticket(db, clock, replied=False)
    with pytest.raises(Conflict):
        actions.record_rating(
            db, ticket=unanswered, choice="good", scale=Scale.GOOD_BAD, via=Via.API, clock=clock
        )
    source = solved_ticket(db, clock)
    target = solved_ticket(db, clock)
    desk_actions.change_status(db, ticket=target, to=Status.OPEN, actor=None, clock=clock)
    source.status = Status.OPEN
    desk_actions.merge_tickets(db, source=source, target=target, actor=None, clock=clock)
    with pytest.raises(Conflict):
        actions.record_rating(
            db, ticket=source, choice="good", scale=Scale.GOOD_BAD, via=Via.API, clock=clock
        )


def test_skip_reasons_in_order() -> None:
    ok = TicketFacts(False, 1, False, "a@b.example", False)
    assert skip_reason(ok) is None
    assert skip_reason(TicketFacts(True, 1, False, "a@b.example", False)) is Skip.MERGED
    assert skip_reason(TicketFacts(False, 0, False, "a@b.example", False)) is Skip.NO_AGENT_REPLY
    assert skip_reason(TicketFacts(False, 1, True, "a@b.example", False)) is Skip.OPTED_OUT
    assert skip_reason(TicketFacts(False, 1, False, None, False)) is Skip.NO_ADDRESS
    assert skip_reason(TicketFacts(False, 1, False, "a@b.example", True)) is Skip.STAFF_REQUESTER


def test_surveys_skip_merged_unanswered_and_opted_out_tickets(
    db: Session, clock: FixedClock, settings: Settings
) -> None:
    surveyed = solved_ticket(db, clock)
    unanswered = solved_ticket(db, clock, replied=False)
    quiet = person(db, clock, Role.REQUESTER)
    actions.opt_out(db, user=quiet, clock=clock)
    opted_out = solved_ticket(db, clock, requester=quiet)
    merged = solved_ticket(db, clock)
    target = solved_ticket(db, clock)
    for t in (merged, target):
        desk_actions.change_status(db, ticket=t, to=Status.OPEN, actor=None, clock=clock)
    desk_actions.merge_tickets(db, source=merged, target=target, actor=None, clock=clock)
    clock.advance(timedelta(minutes=1))
    desk_actions.change_status(db, ticket=target, to=Status.SOLVED, actor=None, clock=clock)
    db.commit()
    clock.advance(timedelta(hours=23, minutes=58))
    assert actions.schedule_surveys(db, clock=clock, settings=settings) == 0  # not yet: 24 hours by default
    clock.advance(timedelta(minutes=1))
    assert actions.schedule_surveys(db, clock=clock, settings=settings) == 1  # target was solved a bit later
    db.commit()
    state = {s.ticket_id: (s.status, s.skip_reason) for s in db.scalars(select(CsatSurvey))}
    assert state == {
        surveyed.id: (SurveyStatus.PENDING, None),
        unanswered.id: (SurveyStatus.SKIPPED, "no_public_agent_reply"),
        opted_out.id: (SurveyStatus.SKIPPED, "opted_out"),
    }  # the merged ticket is closed, never surveyed
    assert actions.schedule_surveys(db, clock=clock, settings=settings) == 0  # once per ticket
    clock.advance(timedelta(minutes=1))
    assert actions.schedule_surveys(db, clock=clock, settings=settings) == 1
    assert db.scalars(select(CsatSurvey.ticket_id).where(CsatSurvey.ticket_id == target.id)).all()


def test_a_tampered_link_or_another_tickets_link_is_refused(settings: Settings, clock: FixedClock) -> None:
    token = links.rating_token(settings, ticket_id=7, choice="good", now=clock.now())
    assert links.read_rating_token(settings, token, now=clock.now()) == (7, "good")
    payload, _, signature = token.partition(".")
    other = links.rating_token(settings, ticket_id=8, choice="bad", now=clock.now())
    forged = [
        other.partition(".")[0] + "." + signature,  # another ticket's fields under this signature
        payload + "." + signature[:-2] + ("AA" if not signature.endswith("AA") else "BB"),
        payload,
        links.form_token(settings, ticket_id=7, now=clock.now()),  # signed, but for another purpose
        links.rating_token(settings.model_copy(update={"secret_key": "other"}), ticket_id=7, choice="good",
                           now=clock.now()),
    ]  # fmt: skip
    for bad in forged:
        with pytest.raises(BadLink):
            links.read_rating_token(settings, bad, now=clock.now())
    with pytest.raises(BadLink):
        links.read_rating_token(settings, token, now=clock.now() + links.LINK_LIFETIME + timedelta(seconds=1))
