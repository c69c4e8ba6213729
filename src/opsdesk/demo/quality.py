"""The demo's QA team at work: a published rubric, three weeks of reviews from the sampler's queues,
a calibration session everyone has submitted to, disputes (accepted, rejected and one still open)
and coaching. Everything goes through the quality actions, so the demo obeys the same rules as use."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import User
from opsdesk.desk.models import Ticket
from opsdesk.quality import actions
from opsdesk.quality.models import CoachingKind, Review, RubricVersion
from opsdesk.quality.sampling import LONG_HANDLE, LOW_CSAT, REOPENED, SLA_BREACHED, Rules
from opsdesk.quality.sampling_queries import monday, weekly_sample
from opsdesk.quality.schemas import RubricIn

WEEKS = 3
MAX_REVIEWS = 100
RUBRIC = {
    "name": "Support conversations",
    "sections": [
        {
            "name": "Soft skills",
            "categories": [
                {"key": "greeting", "name": "Greeting and tone", "scale": "1-3", "weight": 10},
                {"key": "empathy", "name": "Empathy", "scale": "1-4", "weight": 20, "allow_na": True},
            ],
        },
        {
            "name": "Resolution",
            "categories": [
                {"key": "understanding", "name": "Understood the issue", "scale": "1-5", "weight": 25},
                {"key": "solution", "name": "Correct solution", "scale": "1-5", "weight": 40},
                {
                    "key": "documentation",
                    "name": "Internal notes",
                    "scale": "binary",
                    "weight": 5,
                    "allow_na": True,
                },
            ],
        },
        {
            "name": "Compliance",
            "categories": [
                {
                    "key": "privacy",
                    "name": "Verified identity before sharing PHI",
                    "scale": "binary",
                    "weight": 10,
                    "critical": True,
                    "allow_na": True,
                }
            ],
        },
    ],
}
# Most work is good; a few slips, and now and then a failed privacy check.
_TOPS = {"1-3": 3, "1-4": 4, "1-5": 5, "binary": 1}


def _ratings(rng: np.random.Generator, version: RubricVersion) -> dict[str, tuple[int | None, str]]:
    out: dict[str, tuple[int | None, str]] = {}
    for c in version.categories:
        top = _TOPS[c["scale"]]
        if c["allow_na"] and rng.random() < 0.1:
            out[c["key"]] = (None, "")
        elif c["critical"]:
            out[c["key"]] = (0, "Shared claim details before verifying") if rng.random() < 0.03 else (1, "")
        else:
            low = 0 if c["scale"] == "binary" else 1
            value = int(min(top, max(low, top - rng.geometric(0.55) + 1)))
            out[c["key"]] = (value, "Missed the follow-up question" if value <= top - 2 else "")
    return out


def create_quality_demo(
    session: Session, *, staff: dict[str, User], rng: np.random.Generator, now: datetime
) -> dict[str, int]:
    lead, reviewers = staff["qalead"], [staff["qa"], staff["qa2"]]
    first = monday(now.date()) - timedelta(weeks=WEEKS)
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    version = actions.publish_rubric(
        session, rubric=RubricIn.model_validate(RUBRIC), actor=lead, clock=FixedClock(start)
    )
    rules = Rules(per_agent=1, targeted={LOW_CSAT: 3, LONG_HANDLE: 2, REOPENED: 3, SLA_BREACHED: 3})
    picks = [
        p for p in weekly_sample(session, start=first, weeks=WEEKS, rules=rules, seed=7) if p.reviewer_id
    ]
    if len(picks) > MAX_REVIEWS:
        # The reviewers got through part of their queues: enough to show, quick to load.
        keep = sorted(rng.choice(len(picks), size=MAX_REVIEWS, replace=False).tolist())
        picks = [picks[i] for i in keep]
    people = {
        u.id: u
        for u in session.scalars(
            select(User).where(
                User.id.in_(
                    {p.candidate.agent_id for p in picks} | {p.reviewer_id for p in picks if p.reviewer_id}
                )
            )
        )
    }
    tickets = {
        t.id: t
        for t in session.scalars(select(Ticket).where(Ticket.id.in_({p.candidate.ticket_id for p in picks})))
    }
    reviews: list[Review] = []
    for pick in picks:
        assert pick.reviewer_id is not None
        at = start + timedelta(
            days=(pick.candidate.week - first).days + int(rng.integers(0, 5)), hours=int(rng.integers(8, 17))
        )
        reviews.append(
            actions.submit_review(
                session,
                reviewer=people[pick.reviewer_id],
                ticket=tickets[pick.candidate.ticket_id],
                agent=people[pick.candidate.agent_id],
                version=version,
                ratings=_ratings(rng, version),
                comment=f"From the queue: {pick.why}",
                clock=FixedClock(min(at, now)),
            )
        )
    disputes = _disputes(session, reviews, lead, rng, now)
    calibrated = _calibration(session, reviews, lead, reviewers, version, rng, now)
    coached = _coaching(session, reviews, lead, now)
    return {
        "QA reviews": len(reviews),
        "QA disputes": disputes,
        "QA calibration reviews": calibrated,
        "QA coaching notes": coached,
    }


def _disputes(
    session: Session, reviews: list[Review], lead: User, rng: np.random.Generator, now: datetime
) -> int:
    # The lead has no sensitive access, so the disputes shown are on conversations they may read.
    readable = (r for r in reviews if r.score is not None and not r.ticket.sensitive)
    lowest = sorted(readable, key=lambda r: r.score or 0)[:6]
    for n, review in enumerate(lowest):
        clock = FixedClock(review.created_at + timedelta(hours=2))
        key = "privacy" if review.score == 0 else "solution"
        dispute = actions.open_dispute(
            session, review=review, agent=review.agent, category_key=key,
            reason="The member had verified on the call before this message" if key == "privacy"
            else "I followed the current KB article for this", clock=clock,
        )  # fmt: skip
        if n == len(lowest) - 1:
            continue  # one waits for the lead
        clock.set(min(clock.now() + timedelta(hours=int(rng.integers(4, 48))), now))
        accept = n % 2 == 0
        actions.resolve_dispute(
            session, dispute=dispute, lead=lead, accept=accept,
            corrections={key: 1 if key == "privacy" else 4} if accept else {},
            note="Checked the call recording" if accept else "The KB changed the week before", clock=clock,
        )  # fmt: skip
    return len(lowest)


def _calibration(
    session: Session,
    reviews: list[Review],
    lead: User,
    reviewers: list[User],
    version: RubricVersion,
    rng: np.random.Generator,
    now: datetime,
) -> int:
    panel = [*reviewers, lead]
    items = [
        (r.ticket, r.agent)
        for r in reviews
        if not r.ticket.sensitive and r.reviewer_id not in {p.id for p in panel} | {r.agent_id}
    ][:3] or [(r.ticket, r.agent) for r in reviews if not r.ticket.sensitive][:3]
    if len(items) < 1:
        return 0
    clock = FixedClock(now - timedelta(days=2))
    calibration = actions.create_calibration(
        session, lead=lead, name="Calibration: claims conversations", version=version, reviewers=panel,
        items=items, clock=clock,
    )  # fmt: skip
    count = 0
    for reviewer in panel:
        for ticket, agent in items:
            actions.submit_review(
                session, reviewer=reviewer, ticket=ticket, agent=agent, version=version,
                ratings=_ratings(rng, version), calibration=calibration, clock=clock,
            )  # fmt: skip
            count += 1
    session.flush()
    actions.set_agreed_score(
        session,
        item=calibration.items[0],
        lead=lead,
        score=80.0,
        revealed=True,
        clock=FixedClock(now - timedelta(days=1)),
    )
    return count


def _coaching(session: Session, reviews: list[Review], lead: User, now: datetime) -> int:
    low = [r for r in reviews if r.effective_score is not None and r.effective_score < 60][:4]
    for review in low:
        actions.add_coaching(
            session, author=lead, agent=review.agent, kind=CoachingKind.GOAL, review=review,
            body="Confirm the member's question back to them before answering", target_iqs=85.0,
            due_on=(now + timedelta(days=28)).date(), clock=FixedClock(review.created_at + timedelta(days=1)),
        )  # fmt: skip
    return len(low)
