"""/api/v1/qa: rubrics, reviews, disputes, IQS, coaching, calibration, weekly queues and the CSV export.
Routes parse, authorise (``quality/access.py`` through the actions and queries) and render."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound
from opsdesk.core.models import User
from opsdesk.desk import access as desk_access
from opsdesk.desk.models import Ticket
from opsdesk.quality import access, actions, calibration, export, queries
from opsdesk.quality.goals import mark_goal_met
from opsdesk.quality.models import CalibrationItem, Coaching, CoachingKind, Dispute, Review
from opsdesk.quality.sampling_queries import queue_rows
from opsdesk.quality.schemas import (
    AgreedScoreIn,
    CalibrationIn,
    CoachingIn,
    DisputeIn,
    DisputeOut,
    DisputeResolutionIn,
    IqsOut,
    RatingOut,
    ReviewIn,
    ReviewOut,
    RubricIn,
)
from opsdesk.web.api.params import MAX_LIMIT, From, Offset, PathId, QueryDay, QueryId, To
from opsdesk.web.api.tickets import BoundedBodyRoute
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["quality"], route_class=BoundedBodyRoute)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Weeks = Annotated[int, Query(ge=1, le=52)]
Seed = Annotated[int, Query(ge=0, le=2**31 - 1, description="The same seed gives the same sample")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "Reviews as CSV."}
}


def dispute_out(dispute: Dispute) -> DisputeOut:
    return DisputeOut(
        id=dispute.id,
        review_id=dispute.review_id,
        category_key=dispute.category_key,
        opened_by_id=dispute.opened_by_id,
        reason=dispute.reason,
        opened_at=dispute.opened_at,
        status=dispute.status.value,
        resolved_by_id=dispute.resolved_by_id,
        resolved_at=dispute.resolved_at,
        resolution_note=dispute.resolution_note,
        corrections=dispute.corrections,
    )


def review_out(review: Review) -> ReviewOut:
    return ReviewOut(
        id=review.id,
        ticket_id=review.ticket_id,
        agent_id=review.agent_id,
        reviewer_id=review.reviewer_id,
        rubric_version_id=review.rubric_version_id,
        calibration_session_id=review.calibration_session_id,
        score=review.score,
        corrected_score=review.corrected_score if review.corrected else None,
        effective_score=review.effective_score,
        comment=review.comment,
        created_at=review.created_at,
        ratings=[
            RatingOut(category_key=r.category_key, value=r.value, score=r.score, comment=r.comment)
            for r in review.ratings
        ],
        disputes=[dispute_out(d) for d in review.disputes],
    )


def _version_out(version: Any) -> dict[str, Any]:
    return {
        "id": version.id,
        "rubric_id": version.rubric_id,
        "name": version.rubric.name,
        "version": version.version,
        "sections": version.definition["sections"],
        "created_at": version.created_at,
    }


def staff_member(session: Session, user_id: int, field: str) -> User:
    person = session.get(User, user_id)
    if person is None or not person.is_staff:
        raise NotFound(f"no staff member #{user_id}", field=field)
    return person


def ticket_of(session: Session, ticket_id: int, user: User, clock: Clock, field: str = "ticket_id") -> Ticket:
    """The ticket as ``desk_access.ticket_for`` gives it (reads of sensitive ones audited)."""
    try:
        return desk_access.ticket_for(session, ticket_id, user, clock)
    except NotFound as exc:
        raise NotFound(exc.message, field=field) from exc


def may_follow(user: User, agent_id: int) -> None:
    """An agent follows their own quality; reviewers and leads anyone's."""
    if agent_id != user.id and not permissions.has(user, permissions.QA_REVIEW):
        raise NotFound(f"no staff member #{agent_id}", field="agent_id")


@router.get("/qa/rubrics")
def list_rubrics(user: CurrentUser, session: SessionDep) -> list[dict[str, Any]]:
    """The latest version of every rubric."""
    permissions.require(user, permissions.QA_REVIEW)
    return [_version_out(v) for v in queries.rubrics(session)]


@router.post("/qa/rubrics", status_code=201)
def publish_rubric(body: RubricIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """Publishes a rubric; the same name again makes a new version (old reviews keep theirs)."""
    version = actions.publish_rubric(session, rubric=body, actor=user, clock=clock)
    session.commit()
    return _version_out(version)


@router.get("/qa/rubric-versions/{version_id}")
def rubric_version(version_id: PathId, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    if not permissions.has(user, permissions.QA_REVIEW) and not user.is_staff:
        raise NotFound(f"no rubric version #{version_id}", field="version_id")
    return _version_out(queries.rubric_version(session, version_id))


@router.post("/qa/reviews", status_code=201, response_model=ReviewOut)
def submit_review(body: ReviewIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> ReviewOut:
    ticket = ticket_of(session, body.ticket_id, user, clock)
    if body.rubric_version_id is not None:
        version = queries.rubric_version(session, body.rubric_version_id)
    elif body.rubric_id is not None:
        version = queries.latest_version(session, body.rubric_id)
    else:
        raise NotFound("give rubric_version_id or rubric_id", field="rubric_version_id")
    session_row = None
    if body.calibration_session_id is not None:
        session_row = calibration.calibration_for(session, body.calibration_session_id, user)
    review = actions.submit_review(
        session,
        reviewer=user,
        ticket=ticket,
        agent=staff_member(session, body.agent_id, "agent_id"),
        version=version,
        ratings={k: (r.value, r.comment) for k, r in body.ratings.items()},
        comment=body.comment,
        calibration=session_row,
        clock=clock,
    )
    session.commit()
    return review_out(review)


@router.get("/qa/reviews", response_model=list[ReviewOut])
def list_reviews(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    agent_id: QueryId = None,
    reviewer_id: QueryId = None,
    start: From = None,
    end: To = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> list[ReviewOut]:
    """Reviews outside calibration the caller may read, newest first (an agent: their own)."""
    rows = queries.reviews(
        session,
        user,
        agent_id=agent_id,
        reviewer_id=reviewer_id,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )
    desk_access.audit_shown(session, user, [r.ticket for r in rows], clock, via="qa_reviews")
    return [review_out(r) for r in rows]


@router.get("/qa/reviews.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_reviews(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    agent_id: QueryId = None,
    start: From = None,
    end: To = None,
) -> StreamingResponse:
    rows = list(session.scalars(queries.reviews_query(user, agent_id=agent_id, start=start, end=end)))
    desk_access.audit_shown(session, user, [r.ticket for r in rows], clock, via="qa_export")
    text = "".join(export.csv_lines(rows))

    def lines() -> Iterator[str]:
        yield text

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="qa-reviews-{clock.now():%Y%m%d}.csv"'},
    )


@router.get("/qa/reviews/{review_id}", response_model=ReviewOut)
def get_review(review_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> ReviewOut:
    review = queries.review_for(session, review_id, user, clock)
    session.commit()
    return review_out(review)


@router.post("/qa/reviews/{review_id}/disputes", status_code=201, response_model=DisputeOut)
def open_dispute(
    review_id: PathId, body: DisputeIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> DisputeOut:
    review = queries.review_for(session, review_id, user, clock)
    dispute = actions.open_dispute(
        session, review=review, agent=user, category_key=body.category_key, reason=body.reason, clock=clock
    )
    session.commit()
    return dispute_out(dispute)


@router.get("/qa/disputes", response_model=list[DisputeOut])
def list_open_disputes(user: CurrentUser, session: SessionDep) -> list[DisputeOut]:
    """Open disputes: all a lead may read, or the caller's own."""
    return [dispute_out(d) for d in queries.open_disputes(session, user)]


@router.get("/qa/disputes/stats")
def dispute_stats(user: CurrentUser, session: SessionDep) -> dict[str, dict[str, Any]]:
    access.require_manage(user)
    return queries.dispute_stats(session, user)


@router.post("/qa/disputes/{dispute_id}/resolution", response_model=DisputeOut)
def resolve_dispute(
    dispute_id: PathId, body: DisputeResolutionIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> DisputeOut:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None or not access.can_read_review(user, dispute.review):
        raise NotFound(f"no dispute #{dispute_id}", field="dispute_id")
    actions.resolve_dispute(
        session,
        dispute=dispute,
        lead=user,
        accept=body.accept,
        corrections=body.corrections,
        note=body.note,
        clock=clock,
    )
    session.commit()
    return dispute_out(dispute)


@router.get("/qa/iqs", response_model=IqsOut)
def iqs(
    user: CurrentUser,
    session: SessionDep,
    agent_id: QueryId = None,
    group_id: QueryId = None,
    site_id: QueryId = None,
    start: From = None,
    end: To = None,
) -> IqsOut:
    """IQS (mean review score, calibration left out) of an agent, team, site or everyone, over the
    reviews the caller may read."""
    if agent_id is not None:
        may_follow(user, agent_id)
    elif not permissions.has(user, permissions.QA_REVIEW):
        agent_id = user.id
    result = queries.iqs_of(
        session, user, agent_id=agent_id, group_id=group_id, site_id=site_id, start=start, end=end
    )
    return IqsOut(agent_id=agent_id, start=start, end=end, reviews=result.reviews, iqs=result.iqs)


@router.get("/qa/agents/{agent_id}/trend")
def agent_trend(
    agent_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep, weeks: Weeks = 8
) -> list[dict[str, Any]]:
    """Week by week: IQS, CSAT and tickets solved, side by side."""
    may_follow(user, agent_id)
    return queries.agent_trend(session, user, agent_id, weeks=weeks, today=clock.now().date())


@router.post("/qa/coaching", status_code=201)
def add_coaching(body: CoachingIn, user: CurrentUser, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    review = queries.review_for(session, body.review_id, user, clock) if body.review_id else None
    row = actions.add_coaching(
        session,
        author=user,
        agent=staff_member(session, body.agent_id, "agent_id"),
        kind=CoachingKind(body.kind),
        body=body.body,
        review=review,
        target_iqs=body.target_iqs,
        due_on=body.due_on,
        clock=clock,
    )
    session.commit()
    return {"id": row.id, "kind": row.kind.value, "agent_id": row.agent_id, "review_id": row.review_id}


@router.post("/qa/coaching/{coaching_id}/met")
def goal_met(coaching_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """A lead marks a coaching goal met by hand (goals with a target IQS are also met by themselves
    once the agent's reviews since the goal was set reach it)."""
    goal = session.get(Coaching, coaching_id)
    if goal is None:
        raise NotFound(f"no coaching #{coaching_id}", field="coaching_id")
    mark_goal_met(session, goal=goal, lead=user, clock=clock)
    session.commit()
    return {"id": goal.id, "met_at": goal.met_at}


@router.get("/qa/coaching")
def coaching(user: CurrentUser, session: SessionDep, agent_id: QueryId = None) -> list[dict[str, Any]]:
    agent_id = agent_id or user.id
    may_follow(user, agent_id)
    return [
        {
            "id": c.id,
            "kind": c.kind.value,
            "body": c.body,
            "review_id": c.review_id,
            "target_iqs": c.target_iqs,
            "due_on": c.due_on,
            "met_at": c.met_at,
            "author_id": c.author_id,
            "created_at": c.created_at,
        }
        for c in queries.coaching_for(session, agent_id)
    ]


@router.post("/qa/calibrations", status_code=201)
def create_calibration(
    body: CalibrationIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> dict[str, Any]:
    access.require_manage(user)
    row = actions.create_calibration(
        session,
        lead=user,
        name=body.name,
        version=queries.rubric_version(session, body.rubric_version_id),
        reviewers=[staff_member(session, r, "reviewer_ids") for r in body.reviewer_ids],
        items=[
            (
                ticket_of(session, i.ticket_id, user, clock, "items"),
                staff_member(session, i.agent_id, "items"),
            )
            for i in body.items
        ],
        clock=clock,
    )
    session.commit()
    return calibration.results(session, row, user)


@router.get("/qa/calibrations/{calibration_id}")
def calibration_results(calibration_id: PathId, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Blind (who has submitted, and the caller's own reviews) until every participant has rated
    every item; then per item and per category agreement, outliers and agreed scores."""
    row = calibration.calibration_for(session, calibration_id, user)
    return calibration.results(session, row, user)


@router.post("/qa/calibrations/{calibration_id}/items/{item_id}/agreed")
def agree_score(
    calibration_id: PathId,
    item_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: AgreedScoreIn,
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> dict[str, Any]:
    row = calibration.calibration_for(session, calibration_id, user)
    item = session.get(CalibrationItem, item_id)
    if item is None or item.session_id != row.id:
        raise NotFound(f"no item #{item_id} in this session", field="item_id")
    actions.set_agreed_score(
        session,
        item=item,
        lead=user,
        score=body.agreed_score,
        revealed=calibration.revealed(session, row.id),
        clock=clock,
    )
    session.commit()
    return calibration.results(session, row, user)


@router.get("/qa/queue")
def weekly_queue(
    user: CurrentUser, session: SessionDep, clock: ClockDep, week: QueryDay = None, seed: Seed = 0
) -> list[dict[str, Any]]:
    """The week's review queue (the week holding ``week``, default this one), with why each was chosen."""
    return queue_rows(session, user, clock, week, seed)
