"""Every role against every QA operation, on a review of a normal and of a sensitive ticket, done for
real and committed. "ok" done, "403" refused, "404" may not know it exists. The tables are the policy.

The reviewed agent is in the sensitive-access group (they worked the sensitive ticket); so is one of the
two reviewers. Reviews are written by that reviewer, so every role but theirs is tested as a reader.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import NotFound, PermissionDenied
from opsdesk.core.models import AuditEntry, Role, User
from opsdesk.quality import actions, queries
from opsdesk.quality.models import Review
from tests.factories import make_user
from tests.quality.world import Team, build_team, ratings, worked_ticket

OPS = ["read", "list", "review", "dispute", "resolve"]

# fmt: off
NORMAL = {
    "reviewed_agent":    ["ok",  "ok",  "403", "ok",  "403"],
    "other_agent":       ["404", "404", "403", "403", "403"],
    "reviewer":          ["ok",  "ok",  "ok",  "403", "403"],
    "qa_lead":           ["ok",  "ok",  "ok",  "403", "ok"],
    "support_lead":      ["ok",  "ok",  "ok",  "403", "ok"],
    "analyst":           ["404", "404", "403", "403", "403"],
    "csm":               ["404", "404", "403", "403", "403"],
    "requester":         ["404", "404", "403", "403", "403"],
}
SENSITIVE = {
    "reviewed_agent":    ["ok",  "ok",  "403", "ok",  "403"],
    "other_agent":       ["404", "404", "404", "403", "403"],
    "reviewer":          ["404", "404", "404", "403", "403"],
    "qa_lead":           ["404", "404", "404", "403", "404"],
    "support_lead":      ["404", "404", "404", "403", "404"],
    "analyst":           ["404", "404", "404", "403", "403"],
    "csm":               ["404", "404", "404", "403", "403"],
    "requester":         ["404", "404", "403", "403", "403"],  # their own ticket: they know of it
}
# fmt: on


def people(db: Session, clock: FixedClock, team: Team) -> dict[str, User]:
    extra = {
        name: make_user(db, clock, role, email=f"{name}@matrix.test", password=None)
        for name, role in [("support_lead", Role.SUPPORT_LEAD), ("analyst", Role.ANALYST), ("csm", Role.CSM)]
    }
    return {
        "reviewed_agent": team.agent,
        "other_agent": team.other_agent,
        "reviewer": team.reviewer,
        "qa_lead": team.lead,
        "requester": team.requester,
        **extra,
    }


def perform(db: Session, clock: FixedClock, team: Team, user: User, op: str, review: Review) -> str:
    def read() -> None:
        queries.review_for(db, review.id, user, clock)

    def listed() -> None:
        if review.id not in [r.id for r in queries.reviews(db, user)]:
            raise NotFound("not listed")

    def review_it() -> None:
        actions.submit_review(
            db, reviewer=user, ticket=review.ticket, agent=team.agent, version=team.version,
            ratings=ratings(empathy=4, tone=3, solution=5, privacy=1), clock=clock,
        )  # fmt: skip

    def dispute() -> None:
        actions.open_dispute(
            db, review=review, agent=user, category_key=None, reason="I followed the process", clock=clock
        )

    def resolve() -> None:
        opened = actions.open_dispute(
            db, review=review, agent=team.agent, category_key="tone", reason="Tone was warm", clock=clock
        )
        actions.resolve_dispute(
            db, dispute=opened, lead=user, accept=True, corrections={"tone": 3}, clock=clock
        )

    runs: dict[str, Callable[[], None]] = {
        "read": read, "list": listed, "review": review_it, "dispute": dispute, "resolve": resolve,
    }  # fmt: skip
    savepoint = db.begin_nested()
    try:
        runs[op]()
        return "ok"
    except PermissionDenied:
        return "403"
    except NotFound:
        return "404"
    finally:
        savepoint.rollback()


@pytest.mark.parametrize("sensitive", [False, True], ids=["normal", "sensitive"])
def test_qa_access_matrix(db: Session, clock: FixedClock, sensitive: bool) -> None:
    team = build_team(db, clock)
    everyone = people(db, clock, team)
    ticket = worked_ticket(db, clock, team, agents=[team.agent], sensitive=sensitive)
    review = actions.submit_review(
        db, reviewer=team.clinical_reviewer, ticket=ticket, agent=team.agent, version=team.version,
        ratings=ratings(empathy=2, tone=1, solution=3, privacy=1), clock=clock,
    )  # fmt: skip
    db.commit()
    expected = SENSITIVE if sensitive else NORMAL
    got = {name: [perform(db, clock, team, everyone[name], op, review) for op in OPS] for name in expected}
    assert got == expected


def test_refused_reads_of_sensitive_reviews_are_audited_and_kept(db: Session, clock: FixedClock) -> None:
    team = build_team(db, clock)
    ticket = worked_ticket(db, clock, team, agents=[team.agent], sensitive=True)
    review = actions.submit_review(
        db, reviewer=team.clinical_reviewer, ticket=ticket, agent=team.agent, version=team.version,
        ratings=ratings(empathy=2, tone=1, solution=3, privacy=1), clock=clock,
    )  # fmt: skip
    db.commit()
    with pytest.raises(NotFound):
        queries.review_for(db, review.id, team.reviewer, clock)
    db.rollback()
    queries.review_for(db, review.id, team.agent, clock)
    db.commit()
    actions_seen = dict(
        db.execute(
            select(AuditEntry.action, func.count())
            .where(AuditEntry.subject_id == ticket.id)
            .group_by(AuditEntry.action)
        ).all()
    )
    assert actions_seen.get("qa_review_read_denied") == 1
    assert actions_seen.get("qa_review_read") == 1
