"""What each role may do, in one table. Record-level rules (sensitive tickets, a requester's own tickets)
live beside their records (``desk/access.py``) and start from this table."""

from __future__ import annotations

from opsdesk.core.errors import PermissionDenied
from opsdesk.core.models import Role, User

TICKET_READ = "ticket.read"
TICKET_CREATE = "ticket.create"
TICKET_REPLY = "ticket.reply"
TICKET_NOTE = "ticket.note"
TICKET_UPDATE = "ticket.update"
TICKET_ASSIGN = "ticket.assign"
TICKET_ESCALATE = "ticket.escalate"
TICKET_MERGE = "ticket.merge"
USER_READ = "user.read"
USER_MANAGE = "user.manage"
# A time-boxed, audited read of a sensitive ticket outside one's need-to-know, with a reason.
TICKET_BREAK_GLASS = "ticket.break_glass"
# Merging people and adding identities to them: either hands one person's tickets to another.
USER_MERGE = "user.merge"
AUDIT_READ = "audit.read"
QA_REVIEW = "qa.review"
# Running QA: publishing rubrics, resolving disputes, calibration sessions and their agreed scores.
QA_MANAGE = "qa.manage"
SUCCESS_READ = "success.read"
SUCCESS_WRITE = "success.write"
WORKFORCE_READ = "workforce.read"
WORKFORCE_WRITE = "workforce.write"
# Today's intraday view: per-agent adherence is for those who run the floor, not for agents themselves.
WORKFORCE_INTRADAY = "workforce.intraday"
INSIGHTS_READ = "insights.read"
SETTINGS_MANAGE = "settings.manage"
# Routing configuration: groups, skills, languages, capacities, routing settings, site hours.
ROUTING_MANAGE = "routing.manage"

_AGENT_WORK = {
    TICKET_READ,
    TICKET_CREATE,
    TICKET_REPLY,
    TICKET_NOTE,
    TICKET_UPDATE,
    TICKET_ASSIGN,
    TICKET_ESCALATE,
    TICKET_MERGE,
    USER_READ,
}
_READ_ALL = {TICKET_READ, USER_READ, SUCCESS_READ, WORKFORCE_READ, WORKFORCE_INTRADAY, INSIGHTS_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        _AGENT_WORK
        | _READ_ALL
        | {
            USER_MANAGE,
            USER_MERGE,
            TICKET_BREAK_GLASS,
            AUDIT_READ,
            QA_REVIEW,
            QA_MANAGE,
            SUCCESS_WRITE,
            WORKFORCE_WRITE,
            SETTINGS_MANAGE,
            ROUTING_MANAGE,
        }
    ),
    # Leads read sensitive tickets and will be the ones the log is reviewed for: reviewing it is for
    # admins and compliance officers, not for the people whose access it records day to day.
    Role.SUPPORT_LEAD: frozenset(
        _AGENT_WORK
        | _READ_ALL
        | {QA_REVIEW, QA_MANAGE, WORKFORCE_WRITE, USER_MERGE, TICKET_BREAK_GLASS, ROUTING_MANAGE}
    ),
    # Agents work to their own schedule (/me/schedule); the capacity plan, scenarios and hiring plan with
    # their salary cost are for those who plan.
    Role.AGENT: frozenset(_AGENT_WORK),
    Role.QA_REVIEWER: frozenset({TICKET_READ, USER_READ, QA_REVIEW, INSIGHTS_READ}),
    # A QA lead runs the reviewers' work (rubrics, disputes, calibration) and works no tickets.
    Role.QA_LEAD: frozenset({TICKET_READ, USER_READ, QA_REVIEW, QA_MANAGE, INSIGHTS_READ}),
    Role.CSM: frozenset({TICKET_READ, TICKET_NOTE, USER_READ, SUCCESS_READ, SUCCESS_WRITE}),
    Role.CS_LEAD: frozenset(
        {TICKET_READ, TICKET_NOTE, USER_READ, SUCCESS_READ, SUCCESS_WRITE, INSIGHTS_READ}
    ),
    Role.ANALYST: frozenset(_READ_ALL),
    # A compliance officer reviews who did what: the log and the people in it, no tickets (a sensitive
    # ticket's content is no more theirs to read than anyone else's without need-to-know).
    Role.COMPLIANCE: frozenset({AUDIT_READ, USER_READ}),
    Role.REQUESTER: frozenset({TICKET_READ, TICKET_CREATE, TICKET_REPLY}),
}


def has(user: User, permission: str) -> bool:
    return user.active and permission in ROLE_PERMISSIONS[user.role]


def require(user: User, permission: str) -> None:
    if not has(user, permission):
        raise PermissionDenied(f"{user.role.value} may not {permission.replace('.', ' ')}")
