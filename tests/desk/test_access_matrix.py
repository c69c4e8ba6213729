"""Every role against every ticket operation, on a normal and a sensitive ticket, performed for real.

Outcomes: "ok" (done), "403" (may see the ticket but not do this), "404" (may not know the ticket
exists). The expected tables below are the access policy; a change to it must change them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import NotFound, PermissionDenied
from opsdesk.core.models import AuditEntry, Group, Role, Tier, User
from opsdesk.desk import access, actions, queries
from opsdesk.desk.access import TicketOp
from opsdesk.desk.models import AuthorKind, Channel, Status, Ticket
from tests.factories import make_user

OPS = ["read", "list", "create", "reply", "note", "status", "assign", "escalate", "merge", "internal"]

# fmt: off
NORMAL = {
    "admin":          ["ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok"],
    "support_lead":   ["ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok"],
    "agent_l1":       ["ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok"],
    "agent_l2":       ["ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok"],
    "qa_reviewer":    ["ok",  "ok",  "403", "403", "403", "403", "403", "403", "403", "ok"],
    "qa_lead":        ["ok",  "ok",  "403", "403", "403", "403", "403", "403", "403", "ok"],
    "csm":            ["ok",  "ok",  "403", "403", "ok",  "403", "403", "403", "403", "ok"],
    "cs_lead":        ["ok",  "ok",  "403", "403", "ok",  "403", "403", "403", "403", "ok"],
    "analyst":        ["ok",  "ok",  "403", "403", "403", "403", "403", "403", "403", "ok"],
    "requester_own":  ["ok",  "ok",  "ok",  "ok",  "403", "403", "403", "403", "403", "403"],
    "requester_org":  ["ok",  "ok",  "ok",  "403", "403", "403", "403", "403", "403", "403"],
    "requester_other": ["404", "404", "ok", "404", "404", "404", "404", "404", "404", "404"],
}
# Sensitive: only staff in a sensitive-access group (here the L2 agent) and the ticket's own requester.
SENSITIVE = {
    "admin":          ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "support_lead":   ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "agent_l1":       ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "agent_l2":       ["ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok",  "ok"],
    "qa_reviewer":    ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "qa_lead":        ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "csm":            ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "cs_lead":        ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "analyst":        ["404", "404", "403", "404", "404", "404", "404", "404", "404", "404"],
    "requester_own":  ["ok",  "ok",  "ok",  "ok",  "403", "403", "403", "403", "403", "403"],
    "requester_org":  ["404", "404", "ok",  "404", "404", "404", "404", "404", "404", "404"],
    "requester_other": ["404", "404", "ok", "404", "404", "404", "404", "404", "404", "404"],
}
# fmt: on


@dataclass
class World:
    people: dict[str, User]
    l2_group: Group
    normal: Ticket
    normal_target: Ticket
    sensitive: Ticket
    sensitive_target: Ticket


def build_world(db: Session, clock: FixedClock) -> World:
    acme = core_actions.create_organisation(db, name="Acme Health", clock=clock, shared_tickets=True)
    globex = core_actions.create_organisation(db, name="Globex", clock=clock, shared_tickets=True)
    l1_group = core_actions.create_group(db, name="L1 Advocates", tier=Tier.L1)
    l2_group = core_actions.create_group(db, name="L2 Clinical", tier=Tier.L2, sensitive_access=True)
    roles = {
        "admin": (Role.ADMIN, None, None),
        "support_lead": (Role.SUPPORT_LEAD, None, None),
        "agent_l1": (Role.AGENT, Tier.L1, None),
        "agent_l2": (Role.AGENT, Tier.L2, None),
        "qa_reviewer": (Role.QA_REVIEWER, None, None),
        "qa_lead": (Role.QA_LEAD, None, None),
        "csm": (Role.CSM, None, None),
        "cs_lead": (Role.CS_LEAD, None, None),
        "analyst": (Role.ANALYST, None, None),
        "requester_own": (Role.REQUESTER, None, acme),
        "requester_org": (Role.REQUESTER, None, acme),
        "requester_other": (Role.REQUESTER, None, globex),
    }
    people = {
        name: make_user(
            db, clock, role, tier=tier, organisation=org, email=f"{name}@example.com", password=None
        )
        for name, (role, tier, org) in roles.items()
    }
    core_actions.add_to_group(db, group=l1_group, user=people["agent_l1"], clock=clock)
    core_actions.add_to_group(db, group=l2_group, user=people["agent_l2"], clock=clock)
    own = people["requester_own"]

    def ticket(subject: str, sensitive: bool) -> Ticket:
        t = actions.create_ticket(
            db, requester=own, subject=subject, body_text="My claim was denied", channel=Channel.WEB,
            clock=clock, sensitive=sensitive, group=l1_group,
        )  # fmt: skip
        actions.add_message(
            db, ticket=t, author=people["agent_l2"], author_kind=AuthorKind.AGENT, public=False,
            channel=Channel.WEB, clock=clock, body_text="Internal: check the member's eligibility",
        )  # fmt: skip
        return t

    world = World(
        people=people,
        l2_group=l2_group,
        normal=ticket("Claim question", False),
        normal_target=ticket("Claim question again", False),
        sensitive=ticket("Diagnosis on my claim", True),
        sensitive_target=ticket("Diagnosis follow-up", True),
    )
    db.commit()
    return world


def perform(db: Session, clock: FixedClock, world: World, user: User, op: str, sensitive: bool) -> str:
    """Do ``op`` as the web layer does (look up as the user, authorise, act) and report the outcome."""
    number = world.sensitive.id if sensitive else world.normal.id
    target = world.sensitive_target if sensitive else world.normal_target

    def read() -> None:
        access.ticket_for(db, number, user, clock)

    def listed() -> None:
        page = queries.list_tickets(
            db, user=user, filters=queries.TicketFilters(), clock=clock, breaching_soon_minutes=60
        )
        if number not in [t.id for t in page.items]:
            raise NotFound("not listed")

    def create() -> None:
        access.require_create(user, sensitive=sensitive)
        actions.create_ticket(
            db, requester=user if not user.is_staff else world.people["requester_own"], subject="New",
            body_text="Hello", channel=Channel.API, clock=clock, author=user if user.is_staff else None,
            sensitive=sensitive,
        )  # fmt: skip

    def on_ticket(op_: TicketOp, act: Callable[[Ticket], object]) -> Callable[[], None]:
        def run() -> None:
            t = access.ticket_for(db, number, user, clock)
            access.require(user, op_, t)
            act(t)

        return run

    def message(public: bool) -> Callable[[Ticket], object]:
        kind = AuthorKind.AGENT if user.is_staff else AuthorKind.REQUESTER
        return lambda t: actions.add_message(
            db, ticket=t, author=user, author_kind=kind, public=public, channel=Channel.API, clock=clock,
            body_text="Reply",
        )  # fmt: skip

    def internal() -> None:
        t = access.ticket_for(db, number, user, clock)
        if all(m.public for m in queries.ticket_messages(db, ticket=t, user=user)):
            raise PermissionDenied("internal notes hidden")

    def merge() -> None:
        source = access.ticket_for(db, number, user, clock)
        into = access.ticket_for(db, target.id, user, clock)
        access.require(user, TicketOp.MERGE, source)
        access.require(user, TicketOp.MERGE, into)
        actions.merge_tickets(db, source=source, target=into, actor=user, clock=clock)

    runs: dict[str, Callable[[], None]] = {
        "read": read,
        "list": listed,
        "create": create,
        "reply": on_ticket(TicketOp.REPLY, message(True)),
        "note": on_ticket(TicketOp.NOTE, message(False)),
        "status": on_ticket(
            TicketOp.UPDATE_STATUS,
            lambda t: actions.change_status(db, ticket=t, to=Status.PENDING, actor=user, clock=clock),
        ),
        "assign": on_ticket(
            TicketOp.ASSIGN,
            lambda t: actions.assign(
                db, ticket=t, assignee=world.people["agent_l2"], actor=user, clock=clock
            ),
        ),
        "escalate": on_ticket(
            TicketOp.ESCALATE,
            lambda t: actions.escalate(
                db, ticket=t, reason="needs L2", actor=user, clock=clock, group=world.l2_group
            ),
        ),
        "merge": merge,
        "internal": internal,
    }
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


def _actual(db: Session, clock: FixedClock, world: World, sensitive: bool) -> dict[str, list[str]]:
    return {
        name: [perform(db, clock, world, user, op, sensitive) for op in OPS]
        for name, user in world.people.items()
    }


def _diff(expected: dict[str, list[str]], actual: dict[str, list[str]]) -> list[str]:
    return [
        f"{role} {op}: expected {want}, got {got}"
        for role in expected
        for op, want, got in zip(OPS, expected[role], actual[role], strict=True)
        if want != got
    ]


def test_access_matrix_on_a_normal_ticket(db: Session, clock: FixedClock) -> None:
    world = build_world(db, clock)
    assert _diff(NORMAL, _actual(db, clock, world, sensitive=False)) == []


def test_access_matrix_on_a_sensitive_ticket(db: Session, clock: FixedClock) -> None:
    world = build_world(db, clock)
    assert _diff(SENSITIVE, _actual(db, clock, world, sensitive=True)) == []


def test_every_read_of_a_sensitive_ticket_is_audited_and_refusals_survive_the_rollback(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(db, clock)
    reader, outsider = world.people["agent_l2"], world.people["admin"]
    access.ticket_for(db, world.sensitive.id, reader, clock)
    access.ticket_for(db, world.sensitive.id, world.people["requester_own"], clock)
    access.ticket_for(db, world.normal.id, reader, clock)  # not sensitive: not audited
    db.commit()
    with pytest.raises(NotFound):
        access.ticket_for(db, world.sensitive.id, outsider, clock)
    db.rollback()  # as the refused request's session does
    with session_factory() as fresh:
        rows = fresh.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == "ticket").order_by(AuditEntry.id)
        ).all()
    assert [(r.actor_id, r.action, r.subject_id) for r in rows] == [
        (reader.id, "ticket_read", world.sensitive.id),
        (world.people["requester_own"].id, "ticket_read", world.sensitive.id),
        (outsider.id, "ticket_read_denied", world.sensitive.id),
    ]


def test_requesters_never_see_internal_notes(db: Session, clock: FixedClock) -> None:
    world = build_world(db, clock)
    for name in ("requester_own", "requester_org"):
        user = world.people[name]
        messages = queries.ticket_messages(db, ticket=world.normal, user=user)
        assert messages and all(m.public for m in messages)
        assert not access.can(user, TicketOp.SEE_INTERNAL, world.normal)
    staff_view = queries.ticket_messages(db, ticket=world.normal, user=world.people["csm"])
    assert any(not m.public for m in staff_view)


def test_without_org_sharing_a_colleague_sees_nothing(db: Session, clock: FixedClock) -> None:
    world = build_world(db, clock)
    org = world.people["requester_own"].organisation
    assert org is not None
    org.shared_tickets = False
    db.flush()
    colleague = world.people["requester_org"]
    assert perform(db, clock, world, colleague, "read", sensitive=False) == "404"
    assert perform(db, clock, world, colleague, "list", sensitive=False) == "404"


def test_an_inactive_user_sees_nothing(db: Session, clock: FixedClock) -> None:
    world = build_world(db, clock)
    agent = world.people["agent_l2"]
    agent.active = False
    db.flush()
    assert perform(db, clock, world, agent, "read", sensitive=False) == "404"
    assert perform(db, clock, world, agent, "list", sensitive=True) == "404"
