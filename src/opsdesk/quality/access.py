"""Who may see and do what in quality assurance. Built on the ticket rules (``desk/access.py``): a
review carries what a reviewer wrote about a conversation, so reading one is reading its ticket.

- an agent reads their own reviews (not calibration ones: those grade the reviewers, not the agent);
- a reviewer or lead reads the reviews of tickets they may read; calibration reviews only once every
  participant has submitted (blind), except their own;
- only the reviewed agent disputes; only a QA lead (``qa.manage``) resolves, publishes rubrics and runs
  calibration.
Reads of reviews of sensitive tickets are audited, refusals too (written apart), as ticket reads are.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from opsdesk.core import audit, permissions
from opsdesk.core.clock import Clock
from opsdesk.core.errors import NotFound, PermissionDenied
from opsdesk.core.models import User
from opsdesk.desk import access as desk_access
from opsdesk.desk.models import Ticket
from opsdesk.quality.models import Review


def can_review(user: User, ticket: Ticket) -> bool:
    return permissions.has(user, permissions.QA_REVIEW) and desk_access.can_see(user, ticket)


def can_manage(user: User) -> bool:
    return permissions.has(user, permissions.QA_MANAGE)


def can_read_review(user: User, review: Review, *, revealed: bool = True) -> bool:
    """``revealed``: for a calibration review, whether every participant has submitted."""
    if not user.active:
        return False
    if review.calibration_session_id is not None:
        if review.reviewer_id == user.id:
            return True
        return revealed and can_review(user, review.ticket)
    if review.agent_id == user.id:
        return True
    return can_review(user, review.ticket)


def require_review(user: User, ticket: Ticket) -> None:
    if not desk_access.can_see(user, ticket):
        raise NotFound(f"no ticket #{ticket.id}", field="ticket_id")
    if not permissions.has(user, permissions.QA_REVIEW):
        raise PermissionDenied(f"a {user.role.value} may not review tickets")


def require_manage(user: User) -> None:
    permissions.require(user, permissions.QA_MANAGE)


def require_dispute(user: User, review: Review) -> None:
    if review.agent_id != user.id or review.calibration_session_id is not None:
        raise PermissionDenied("only the reviewed agent may dispute a review", field="review_id")


def audit_review_read(session: Session, user: User, review: Review, clock: Clock, *, allowed: bool) -> None:
    """A review of a sensitive ticket read (or refused), in the audit log like the ticket itself."""
    if not review.ticket.sensitive:
        return
    fields = {
        "actor": user,
        "subject_type": "ticket",
        "subject_id": review.ticket_id,
        "at": clock.now(),
        "detail": {"qa_review": review.id},
    }
    if allowed:
        audit.record(session, action="qa_review_read", **fields)  # type: ignore[arg-type]
    else:
        audit.record_apart(session, [audit.entry(action="qa_review_read_denied", **fields)])  # type: ignore[arg-type]
