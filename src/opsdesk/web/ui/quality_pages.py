"""/qa pages: an agent's own reviews, IQS, coaching and disputes; a reviewer's weekly queue and the
review page (the conversation beside the rubric); a lead's disputes, IQS by agent and calibration.
Thin: every rule is in ``opsdesk.quality``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import permissions
from opsdesk.core.bounds import MAX_ID
from opsdesk.core.errors import NotFound, ValidationFailed
from opsdesk.core.models import Role, User
from opsdesk.desk import access as desk_access
from opsdesk.desk import queries as desk_queries
from opsdesk.quality import access, actions, calibration, queries
from opsdesk.quality.goals import iqs_since_set, mark_goal_met
from opsdesk.quality.models import CalibrationSession, Coaching, CoachingKind, Dispute
from opsdesk.quality.sampling_queries import queue_rows
from opsdesk.quality.scoring import SCALE_RANGE, Scale
from opsdesk.web.api.params import FormBlankOrId, FormLine, FormText, PathId, QueryId
from opsdesk.web.deps import ClockDep, SessionDep
from opsdesk.web.ui.auth import StaffFormUser, StaffPageUser
from opsdesk.web.ui.form_values import optional_day
from opsdesk.web.ui.render import page

router = APIRouter(include_in_schema=False)
MAX_FIELDS = 200
MAX_FIELD = 10_000


async def rubric_fields(request: Request) -> dict[str, str]:
    """The review form's per-category fields (``rating_<key>``, ``comment_<key>``), bounded."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k.startswith(("rating_", "comment_"))}
    if len(fields) > MAX_FIELDS or any(len(v) > MAX_FIELD or "\x00" in v for v in fields.values()):
        raise ValidationFailed("the review form is too large or holds NUL characters", field="ratings")
    return fields


RubricFields = Annotated[dict[str, str], Depends(rubric_fields)]
FormIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Form(max_length=50)]


@router.get("/qa")
def qa_home(user: StaffPageUser) -> Response:
    if access.can_manage(user):
        return RedirectResponse("/qa/lead", status_code=303)
    if permissions.has(user, permissions.QA_REVIEW):
        return RedirectResponse("/qa/queue", status_code=303)
    return RedirectResponse("/qa/me", status_code=303)


@router.get("/qa/me")
def my_quality(request: Request, user: StaffPageUser, session: SessionDep, clock: ClockDep) -> Response:
    reviews = queries.reviews(session, user, agent_id=user.id, limit=100)
    desk_access.audit_shown(session, user, [r.ticket for r in reviews], clock, via="qa_my_reviews")
    coaching = queries.coaching_for(session, user.id)
    return page(
        request,
        "qa/me.html",
        user,
        iqs=queries.iqs_of(session, user, agent_id=user.id),
        reviews=reviews,
        coaching=coaching,
        progress=_goal_progress(session, coaching),
        trend=queries.agent_trend(session, user, user.id, weeks=8, today=clock.now().date()),
    )


@router.post("/qa/reviews/{review_id}/dispute")
def post_dispute(
    review_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    reason: FormText,
    category_key: FormLine = "",
) -> Response:
    review = queries.review_for(session, review_id, user, clock)
    actions.open_dispute(
        session, review=review, agent=user, category_key=category_key or None, reason=reason, clock=clock
    )
    session.commit()
    return RedirectResponse("/qa/me", status_code=303)


@router.get("/qa/queue")
def review_queue(
    request: Request, user: StaffPageUser, session: SessionDep, clock: ClockDep, seed: int = 0
) -> Response:
    permissions.require(user, permissions.QA_REVIEW)
    rows = queue_rows(session, user, clock, None, max(0, min(seed, 2**31 - 1)))
    names = _names(
        session, {r["agent_id"] for r in rows} | {r["reviewer_id"] for r in rows if r["reviewer_id"]}
    )
    mine = queries.reviews(session, user, reviewer_id=user.id, limit=50)
    desk_access.audit_shown(session, user, [r.ticket for r in mine], clock, via="qa_queue")
    return page(request, "qa/queue.html", user, rows=rows, names=names, mine=mine)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        user_id: name for user_id, name in session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    }


@router.get("/qa/review/{number}")
def review_page(
    number: PathId,
    request: Request,
    user: StaffPageUser,
    session: SessionDep,
    clock: ClockDep,
    agent: QueryId = None,
    calibration_id: QueryId = None,
) -> Response:
    permissions.require(user, permissions.QA_REVIEW)
    ticket = desk_access.ticket_for(session, number, user, clock)
    rubric_versions = queries.rubrics(session)
    if calibration_id is not None:
        rubric_versions = [calibration.calibration_for(session, calibration_id, user).rubric_version]
    if not rubric_versions:
        raise NotFound("no rubric has been published yet")
    worked = sorted(actions.agents_on_ticket(session, ticket) - {user.id})
    session.commit()  # the audit row of a sensitive read
    return page(
        request,
        "qa/review.html",
        user,
        ticket=ticket,
        messages=desk_queries.ticket_messages(session, ticket=ticket, user=user),
        calls=queries.calls_on(session, ticket.id),
        version=rubric_versions[0],
        scales={s.value: list(range(SCALE_RANGE[s][0], SCALE_RANGE[s][1] + 1)) for s in Scale},
        agents=_names(session, set(worked)),
        agent_id=agent if agent in worked else (worked[0] if worked else None),
        calibration_id=calibration_id,
    )


@router.post("/qa/review/{number}")
def post_review(
    number: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    fields: RubricFields,
    agent_id: FormBlankOrId,
    rubric_version_id: FormBlankOrId,
    calibration_id: FormBlankOrId = "",
    comment: FormText = "",
) -> Response:
    ticket = desk_access.ticket_for(session, number, user, clock)
    if not agent_id or not rubric_version_id:
        raise ValidationFailed("choose the agent and the rubric", field="agent_id")
    version = queries.rubric_version(session, int(rubric_version_id))
    ratings: dict[str, tuple[int | None, str]] = {}
    for category in version.categories:
        given = fields.get(f"rating_{category['key']}", "")
        if given == "":
            raise ValidationFailed(f"rate {category['name']}", field=category["key"])
        value = None if given == "na" else _int(given, category["key"])
        ratings[category["key"]] = (value, fields.get(f"comment_{category['key']}", "").strip())
    agent = session.get(User, int(agent_id))
    if agent is None or not agent.is_staff:
        raise NotFound(f"no staff member #{agent_id}", field="agent_id")
    session_row = calibration.calibration_for(session, int(calibration_id), user) if calibration_id else None
    actions.submit_review(
        session,
        reviewer=user,
        ticket=ticket,
        agent=agent,
        version=version,
        ratings=ratings,
        comment=comment.strip(),
        calibration=session_row,
        clock=clock,
    )
    session.commit()
    target = f"/qa/calibrations/{calibration_id}" if calibration_id else "/qa/queue"
    return RedirectResponse(target, status_code=303)


def _int(value: str, field: str) -> int:
    if not (value.isascii() and value.isdecimal()) or len(value) > 2:
        raise ValidationFailed(f"{value[:10]!r} is not a rating", field=field)
    return int(value)


@router.get("/qa/lead")
def lead_page(request: Request, user: StaffPageUser, session: SessionDep) -> Response:
    access.require_manage(user)
    disputes = queries.open_disputes(session, user)
    scores = queries.iqs_by_agent(session, user)
    agents = (
        session.scalars(select(User).where(User.id.in_(scores)).order_by(User.name)).all() if scores else []
    )
    sessions = session.scalars(
        select(CalibrationSession).order_by(CalibrationSession.created_at.desc())
    ).all()
    goals = session.scalars(
        select(Coaching)
        .where(Coaching.kind == CoachingKind.GOAL, Coaching.met_at.is_(None))
        .order_by(Coaching.created_at)
    ).all()
    staff = session.scalars(
        select(User).where(User.active.is_(True), User.role != Role.REQUESTER).order_by(User.name)
    ).all()
    return page(
        request,
        "qa/lead.html",
        user,
        goals=goals,
        progress=_goal_progress(session, goals),
        staff=staff,
        reviewers=[u for u in staff if permissions.has(u, permissions.QA_REVIEW)],
        versions=queries.rubrics(session),
        goal_names=_names(session, {g.agent_id for g in goals}),
        disputes=disputes,
        by_agent=[(a, scores[a.id]) for a in agents],
        overall=queries.iqs_of(session, user),
        stats=queries.dispute_stats(session, user),
        sessions=sessions,
        names=_names(session, {d.opened_by_id for d in disputes}),
    )


@router.post("/qa/disputes/{dispute_id}/resolve")
def post_resolution(
    dispute_id: PathId,
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    outcome: FormLine,
    category_key: FormLine = "",
    corrected: FormLine = "",
    note: FormText = "",
) -> Response:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None or not access.can_read_review(user, dispute.review):
        raise NotFound(f"no dispute #{dispute_id}", field="dispute_id")
    accept = outcome == "accept"
    corrections: dict[str, int | None] = {}
    if accept:
        key = dispute.category_key or category_key
        if not key:
            raise ValidationFailed("choose the category to correct", field="category_key")
        corrections[key] = None if corrected == "na" else _int(corrected, "corrected")
    actions.resolve_dispute(
        session, dispute=dispute, lead=user, accept=accept, corrections=corrections, note=note, clock=clock
    )
    session.commit()
    return RedirectResponse("/qa/lead", status_code=303)


@router.get("/qa/calibrations/{calibration_id}")
def calibration_page(
    calibration_id: PathId, request: Request, user: StaffPageUser, session: SessionDep
) -> Response:
    row = calibration.calibration_for(session, calibration_id, user)
    results = calibration.results(session, row, user)
    names = _names(session, set(results["submitted"]))
    return page(request, "qa/calibration.html", user, session_row=row, results=results, names=names)


def _goal_progress(session: Session, coaching: Sequence[Coaching]) -> dict[int, tuple[float | None, int]]:
    """Per goal: the agent's IQS over the reviews since it was set, and how many."""
    return {c.id: iqs_since_set(session, c) for c in coaching if c.kind is CoachingKind.GOAL}


@router.post("/qa/coaching")
def post_coaching(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    agent_id: FormBlankOrId,
    kind: FormLine,
    body: FormText,
    target_iqs: FormLine = "",
    due_on: FormLine = "",
    review_id: FormBlankOrId = "",
) -> Response:
    if kind not in ("note", "goal"):
        raise ValidationFailed("a note or a goal", field="kind")
    agent = session.get(User, int(agent_id)) if agent_id else None
    if agent is None or not agent.is_staff:
        raise ValidationFailed("choose the agent", field="agent_id")
    review = queries.review_for(session, int(review_id), user, clock) if review_id else None
    actions.add_coaching(
        session,
        author=user,
        agent=agent,
        kind=CoachingKind(kind),
        body=body,
        review=review,
        target_iqs=_percent(target_iqs, "target_iqs"),
        due_on=optional_day(due_on, "due_on"),
        clock=clock,
    )
    session.commit()
    return RedirectResponse("/qa/lead", status_code=303)


@router.post("/qa/coaching/{coaching_id}/met")
def post_goal_met(coaching_id: PathId, user: StaffFormUser, session: SessionDep, clock: ClockDep) -> Response:
    goal = session.get(Coaching, coaching_id)
    if goal is None:
        raise NotFound(f"no coaching #{coaching_id}", field="coaching_id")
    mark_goal_met(session, goal=goal, lead=user, clock=clock)
    session.commit()
    return RedirectResponse("/qa/lead", status_code=303)


@router.post("/qa/calibrations")
def post_calibration(
    user: StaffFormUser,
    session: SessionDep,
    clock: ClockDep,
    name: FormLine,
    rubric_version_id: FormBlankOrId,
    tickets: FormLine,
    reviewer_ids: FormIds,
) -> Response:
    """A blind session from the lead page: the tickets by number; each agent who worked on a ticket is
    one item, so the reviewers rate each agent's part as they would in a review."""
    access.require_manage(user)
    if not rubric_version_id:
        raise ValidationFailed("choose the rubric", field="rubric_version_id")
    numbers = [n for n in tickets.replace(",", " ").replace("#", " ").split() if n]
    if not 0 < len(numbers) <= 50 or not all(n.isascii() and n.isdecimal() and len(n) < 10 for n in numbers):
        raise ValidationFailed("list 1 to 50 ticket numbers, e.g. 1042 1057", field="tickets")
    items = []
    for number in dict.fromkeys(int(n) for n in numbers):
        ticket = desk_access.ticket_for(session, number, user, clock)
        worked = sorted(actions.agents_on_ticket(session, ticket))
        if not worked:
            raise ValidationFailed(f"no agent has answered ticket #{number} yet", field="tickets")
        items += [(ticket, session.get_one(User, agent_id)) for agent_id in worked]
    reviewers = [r for r in (session.get(User, i) for i in reviewer_ids) if r is not None and r.is_staff]
    row = actions.create_calibration(
        session,
        lead=user,
        name=name.strip() or "Calibration",
        version=queries.rubric_version(session, int(rubric_version_id)),
        reviewers=reviewers,
        items=items,
        clock=clock,
    )
    session.commit()
    return RedirectResponse(f"/qa/calibrations/{row.id}", status_code=303)


def _percent(value: str, field: str) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValidationFailed(f"{value[:10]!r} is not a number", field=field) from None
    if not 0 <= number <= 100:
        raise ValidationFailed("a score is from 0 to 100", field=field)
    return number
