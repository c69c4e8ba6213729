"""Every quality-assurance write: each one change plus its events, in the caller's transaction.

Events (subject ``qa_review`` unless said): ``qa_rubric_published`` (subject ``qa_rubric``),
``qa_review_submitted``, ``qa_dispute_opened``, ``qa_dispute_resolved``, ``qa_coaching_added``
(subject ``user``: the agent), ``qa_calibration_created`` and ``qa_calibration_agreed`` (subject
``qa_calibration``); ``qa_goal_met`` in quality.goals.

The agent is notified (core.notifications) of a review of their work, a decision on their dispute and
coaching given to them; reviewers of the sessions they are asked to calibrate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Event, Role, User
from opsdesk.core.notifications import notify
from opsdesk.desk.models import AuthorKind, Message, Ticket
from opsdesk.quality import access
from opsdesk.quality.goals import check_goals
from opsdesk.quality.models import (
    CalibrationItem,
    CalibrationParticipant,
    CalibrationSession,
    Coaching,
    CoachingKind,
    Dispute,
    DisputeStatus,
    Rating,
    Review,
    Rubric,
    RubricVersion,
)
from opsdesk.quality.schemas import RubricIn
from opsdesk.quality.scoring import CategoryRule, Scale, category_scores, review_score

RatingsIn = Mapping[str, tuple[int | None, str]]


def rules_of(version: RubricVersion) -> list[CategoryRule]:
    return [
        CategoryRule(
            key=c["key"],
            scale=Scale(c["scale"]),
            weight=c["weight"],
            critical=c["critical"],
            allow_na=c["allow_na"],
        )
        for c in version.categories
    ]


def publish_rubric(session: Session, *, rubric: RubricIn, actor: User, clock: Clock) -> RubricVersion:
    """A new version of the rubric named ``rubric.name`` (its first, if the name is new)."""
    access.require_manage(actor)
    now = clock.now()
    row = session.scalar(select(Rubric).where(Rubric.name == rubric.name))
    if row is None:
        row = Rubric(name=rubric.name, created_at=now)
        session.add(row)
        session.flush()
    latest = session.scalar(select(func.max(RubricVersion.version)).where(RubricVersion.rubric_id == row.id))
    version = RubricVersion(
        rubric_id=row.id,
        version=(latest or 0) + 1,
        definition={"sections": [s.model_dump(mode="json") for s in rubric.sections]},
        created_at=now,
        created_by_id=actor.id,
    )
    session.add(version)
    session.flush()
    append_event(
        session,
        subject_type="qa_rubric",
        subject_id=row.id,
        type="qa_rubric_published",
        at=now,
        actor=actor,
        data={"version_id": version.id, "version": version.version},
    )
    return version


def agents_on_ticket(session: Session, ticket: Ticket) -> set[int]:
    """Staff who worked the ticket: its assignee, authors of agent messages, actors of its events."""
    ids = {ticket.assignee_id} if ticket.assignee_id is not None else set()
    ids |= set(
        session.scalars(
            select(Message.author_id).where(
                Message.ticket_id == ticket.id,
                Message.author_kind == AuthorKind.AGENT,
                Message.author_id.is_not(None),
            )
        )
    )
    ids |= set(
        session.scalars(
            select(Event.actor_id).where(
                Event.subject_type == "ticket", Event.subject_id == ticket.id, Event.actor_id.is_not(None)
            )
        )
    )
    staff = session.scalars(select(User.id).where(User.id.in_(ids), User.role != Role.REQUESTER))
    return {i for i in staff if i is not None}


def submit_review(
    session: Session,
    *,
    reviewer: User,
    ticket: Ticket,
    agent: User,
    version: RubricVersion,
    ratings: RatingsIn,
    comment: str = "",
    calibration: CalibrationSession | None = None,
    clock: Clock,
) -> Review:
    """Score ``agent``'s part of ``ticket`` against ``version`` of a rubric."""
    access.require_review(reviewer, ticket)
    if agent.id == reviewer.id:
        raise PermissionDenied("reviewers do not review their own work", field="agent_id")
    if agent.id not in agents_on_ticket(session, ticket):
        raise ValidationFailed(f"{agent.name} did not work on ticket #{ticket.id}", field="agent_id")
    if calibration is not None:
        _check_calibration_item(session, calibration, reviewer, ticket, agent, version)
    elif session.scalar(
        select(Review.id).where(
            Review.ticket_id == ticket.id,
            Review.agent_id == agent.id,
            Review.reviewer_id == reviewer.id,
            Review.calibration_session_id.is_(None),
        )
    ):
        raise Conflict(f"you have already reviewed {agent.name} on ticket #{ticket.id}", field="ticket_id")
    rules = rules_of(version)
    values = {key: value for key, (value, _comment) in ratings.items()}
    scores = category_scores(rules, values)
    review = Review(
        ticket_id=ticket.id,
        agent_id=agent.id,
        reviewer_id=reviewer.id,
        rubric_version_id=version.id,
        calibration_session_id=calibration.id if calibration is not None else None,
        score=review_score(rules, values),
        corrected=False,
        comment=comment,
        created_at=clock.now(),
    )
    review.ratings = [
        Rating(category_key=r.key, value=values[r.key], score=scores[r.key], comment=ratings[r.key][1])
        for r in rules
    ]
    session.add(review)
    session.flush()
    _review_event(session, review, "qa_review_submitted", reviewer, clock, score=review.score)
    if calibration is None:  # calibration reviews are practice between reviewers, not feedback
        score = f"{review.score:.1f}%" if review.score is not None else "N/A"
        notify(
            session,
            user_id=agent.id,
            kind="qa_review",
            title=f"{reviewer.name} reviewed your work on ticket #{ticket.id}: {score}",
            link=f"/qa/me#review-{review.id}",
            clock=clock,
        )
        check_goals(session, agent.id, clock=clock)
    return review


def _check_calibration_item(
    session: Session,
    calibration: CalibrationSession,
    reviewer: User,
    ticket: Ticket,
    agent: User,
    version: RubricVersion,
) -> None:
    if reviewer.id not in {p.reviewer_id for p in calibration.participants}:
        raise PermissionDenied("you are not in this calibration session", field="calibration_session_id")
    if (ticket.id, agent.id) not in {(i.ticket_id, i.agent_id) for i in calibration.items}:
        raise ValidationFailed("that conversation is not in this calibration session", field="ticket_id")
    if version.id != calibration.rubric_version_id:
        raise ValidationFailed("calibration reviews use the session's rubric", field="rubric_version_id")
    if session.scalar(
        select(Review.id).where(
            Review.calibration_session_id == calibration.id,
            Review.ticket_id == ticket.id,
            Review.agent_id == agent.id,
            Review.reviewer_id == reviewer.id,
        )
    ):
        raise Conflict("you have already rated this conversation in this session", field="ticket_id")


def _review_event(
    session: Session, review: Review, type: str, actor: User, clock: Clock, **data: Any
) -> None:
    append_event(
        session,
        subject_type="qa_review",
        subject_id=review.id,
        type=type,
        at=clock.now(),
        actor=actor,
        data={
            "ticket_id": review.ticket_id,
            "agent_id": review.agent_id,
            "reviewer_id": review.reviewer_id,
            "calibration_session_id": review.calibration_session_id,
            **data,
        },
    )


def open_dispute(
    session: Session,
    *,
    review: Review,
    agent: User,
    category_key: str | None,
    reason: str,
    clock: Clock,
) -> Dispute:
    access.require_dispute(agent, review)
    reason = reason.strip()
    if len(reason) < 10:
        raise ValidationFailed("say why in at least 10 characters", field="reason")
    if category_key is not None and category_key not in {r.category_key for r in review.ratings}:
        raise ValidationFailed(f"the review has no category {category_key}", field="category_key")
    if any(d.status is DisputeStatus.OPEN and d.category_key == category_key for d in review.disputes):
        raise Conflict("that is already disputed and awaits a QA lead", field="category_key")
    dispute = Dispute(
        category_key=category_key,
        opened_by_id=agent.id,
        reason=reason,
        opened_at=clock.now(),
        status=DisputeStatus.OPEN,
        resolution_note="",
        corrections={},
    )
    review.disputes.append(dispute)
    session.flush()
    _review_event(
        session, review, "qa_dispute_opened", agent, clock, dispute_id=dispute.id, category_key=category_key
    )
    return dispute


def resolve_dispute(
    session: Session,
    *,
    dispute: Dispute,
    lead: User,
    accept: bool,
    corrections: Mapping[str, int | None],
    note: str = "",
    clock: Clock,
) -> Dispute:
    """Accept (the review's corrected score is recomputed from its ratings with every accepted
    correction applied; the ratings as given stay) or reject an open dispute."""
    access.require_manage(lead)
    review = dispute.review
    if not access.can_read_review(lead, review):
        raise NotFound(f"no review #{review.id}", field="review_id")
    if dispute.status is not DisputeStatus.OPEN:
        raise Conflict(f"dispute #{dispute.id} is already {dispute.status.value}", field="dispute_id")
    now = clock.now()
    if accept:
        _check_corrections(dispute, corrections)
        dispute.corrections = dict(corrections)
    dispute.status = DisputeStatus.ACCEPTED if accept else DisputeStatus.REJECTED
    dispute.resolved_by_id = lead.id
    dispute.resolved_at = now
    dispute.resolution_note = note.strip()
    if accept:
        values = {r.category_key: r.value for r in review.ratings}
        accepted = [d for d in review.disputes if d.status is DisputeStatus.ACCEPTED and d is not dispute]
        for done in [*accepted, dispute]:
            values.update(done.corrections)
        review.corrected_score = review_score(rules_of(review.rubric_version), values)
        review.corrected = True
    session.flush()
    _review_event(
        session,
        review,
        "qa_dispute_resolved",
        lead,
        clock,
        dispute_id=dispute.id,
        category_key=dispute.category_key,
        outcome=dispute.status.value,
        score=review.score,
        corrected_score=review.corrected_score if review.corrected else None,
        hours_open=round((now - dispute.opened_at).total_seconds() / 3600, 2),
    )
    notify(
        session,
        user_id=dispute.opened_by_id,
        kind="qa_dispute_resolved",
        title=f"Your dispute of the review of ticket #{review.ticket_id} was {dispute.status.value}",
        link=f"/qa/me#review-{review.id}",
        clock=clock,
    )
    if accept and review.calibration_session_id is None:
        check_goals(session, review.agent_id, clock=clock)
    return dispute


def _check_corrections(dispute: Dispute, corrections: Mapping[str, int | None]) -> None:
    if not corrections:
        raise ValidationFailed("accepting a dispute needs the corrected rating", field="corrections")
    if dispute.category_key is not None and set(corrections) != {dispute.category_key}:
        raise ValidationFailed(f"this dispute is about {dispute.category_key} only", field="corrections")
    rules = {r.key: r for r in rules_of(dispute.review.rubric_version)}
    unknown = set(corrections) - set(rules)
    if unknown:
        raise ValidationFailed(f"not in this rubric: {', '.join(sorted(unknown))}", field="corrections")
    category_scores(
        [rules[k] for k in corrections], dict(corrections)
    )  # refuses values off the scale, or N/A where not allowed


def add_coaching(
    session: Session,
    *,
    author: User,
    agent: User,
    kind: CoachingKind,
    body: str,
    review: Review | None = None,
    target_iqs: float | None = None,
    due_on: date | None = None,
    clock: Clock,
) -> Coaching:
    if not access.can_manage(author) and not access.permissions.has(author, access.permissions.QA_REVIEW):
        raise PermissionDenied(f"a {author.role.value} may not coach")
    if not agent.is_staff:
        raise ValidationFailed("coaching is for staff", field="agent_id")
    if review is not None and review.agent_id != agent.id:
        raise ValidationFailed("that review is of someone else", field="review_id")
    if kind is CoachingKind.NOTE and (target_iqs is not None or due_on is not None):
        raise ValidationFailed("a note has no target or due date; make it a goal", field="kind")
    body = body.strip()
    if not body:
        raise ValidationFailed("say something", field="body")
    row = Coaching(
        agent_id=agent.id,
        author_id=author.id,
        review_id=review.id if review is not None else None,
        kind=kind,
        body=body,
        target_iqs=target_iqs,
        due_on=due_on,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    append_event(
        session,
        subject_type="user",
        subject_id=agent.id,
        type="qa_coaching_added",
        at=row.created_at,
        actor=author,
        data={"coaching_id": row.id, "kind": kind.value, "review_id": row.review_id},
    )
    notify(
        session,
        user_id=agent.id,
        kind="qa_coaching",
        title=f"{author.name} added a coaching {kind.value} for you",
        link="/qa/me",
        clock=clock,
    )
    return row


def create_calibration(
    session: Session,
    *,
    lead: User,
    name: str,
    version: RubricVersion,
    reviewers: list[User],
    items: list[tuple[Ticket, User]],
    clock: Clock,
) -> CalibrationSession:
    """A blind session: each reviewer rates each item; nobody sees the others' scores until all have."""
    access.require_manage(lead)
    if len({r.id for r in reviewers}) < 2:
        raise ValidationFailed("calibration needs at least two reviewers", field="reviewer_ids")
    for reviewer in reviewers:
        for ticket, _agent in items:
            if not access.can_review(reviewer, ticket):
                raise ValidationFailed(
                    f"{reviewer.name} may not review every conversation here", field="reviewer_ids"
                )
    for ticket, agent in items:
        if not access.can_review(lead, ticket):
            raise NotFound(f"no ticket #{ticket.id}", field="items")
        if agent.id not in agents_on_ticket(session, ticket):
            raise ValidationFailed(f"{agent.name} did not work on ticket #{ticket.id}", field="items")
    calibration = CalibrationSession(
        name=name, rubric_version_id=version.id, created_by_id=lead.id, created_at=clock.now()
    )
    pairs = dict.fromkeys((t.id, a.id) for t, a in items)
    calibration.items = [CalibrationItem(ticket_id=t, agent_id=a) for t, a in pairs]
    calibration.participants = [
        CalibrationParticipant(reviewer_id=r.id) for r in {r.id: r for r in reviewers}.values()
    ]
    session.add(calibration)
    session.flush()
    append_event(
        session,
        subject_type="qa_calibration",
        subject_id=calibration.id,
        type="qa_calibration_created",
        at=calibration.created_at,
        actor=lead,
        data={"items": len(calibration.items), "reviewers": len(calibration.participants)},
    )
    for participant in calibration.participants:
        notify(
            session,
            user_id=participant.reviewer_id,
            kind="qa_calibration",
            title=f"Rate {len(calibration.items)} conversations blind for calibration {name!r}",
            link=f"/qa/calibrations/{calibration.id}",
            clock=clock,
        )
    return calibration


def set_agreed_score(
    session: Session, *, item: CalibrationItem, lead: User, score: float, revealed: bool, clock: Clock
) -> None:
    access.require_manage(lead)
    if not revealed:
        raise Conflict("the session is still blind: not every reviewer has submitted", field="item_id")
    if not 0 <= score <= 100:
        raise ValidationFailed("a score is from 0 to 100", field="agreed_score")
    item.agreed_score = score
    append_event(
        session,
        subject_type="qa_calibration",
        subject_id=item.session_id,
        type="qa_calibration_agreed",
        at=clock.now(),
        actor=lead,
        data={"item_id": item.id, "ticket_id": item.ticket_id, "agreed_score": score},
    )
