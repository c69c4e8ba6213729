"""One person across channels, organisations by email domain, and merges that keep the history."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.models import AuditEntry, Event, IdentityKind, Role, User
from opsdesk.desk import actions, requesters
from opsdesk.desk.models import AuthorKind, Channel, Ticket
from tests.factories import make_user


def requester(db: Session, clock: FixedClock, kind: IdentityKind, value: str) -> User:
    return requesters.find_or_create_requester(db, kind=kind, value=value, name=None, clock=clock)


def test_the_same_address_however_typed_is_one_person(db: Session, clock: FixedClock) -> None:
    first = requesters.find_or_create_requester(
        db, kind=IdentityKind.EMAIL, value="Pat.Lee@Example.com ", name="Pat Lee", clock=clock
    )
    again = requester(db, clock, IdentityKind.EMAIL, "pat.lee@example.com")
    assert first.id == again.id
    assert (first.role, first.name, first.email) == (Role.REQUESTER, "Pat Lee", "pat.lee@example.com")
    assert len(db.scalars(select(User)).all()) == 1
    created = db.scalars(select(Event).where(Event.type == "user_created")).all()
    assert [e.subject_id for e in created] == [first.id]


def test_a_new_email_requester_joins_the_organisation_of_their_domain(db: Session, clock: FixedClock) -> None:
    org = core_actions.create_organisation(db, name="Acme", domain="acme.com", clock=clock)
    assert requester(db, clock, IdentityKind.EMAIL, "kim@acme.com").organisation_id == org.id
    assert requester(db, clock, IdentityKind.EMAIL, "kim@elsewhere.com").organisation_id is None
    assert requester(db, clock, IdentityKind.PHONE, "+1 415 555 0100").organisation_id is None


def test_channel_identities_lead_to_the_same_person(db: Session, clock: FixedClock) -> None:
    person = requester(db, clock, IdentityKind.EMAIL, "sam@example.com")
    requesters.link_identity(
        db, user=person, kind=IdentityKind.CHAT, value="visitor-42", actor=None, clock=clock
    )
    requesters.link_identity(
        db, user=person, kind=IdentityKind.PHONE, value="+1 (415) 555-0101", actor=None, clock=clock
    )
    requesters.link_identity(
        db, user=person, kind=IdentityKind.SOCIAL, value="@SamTweets", actor=None, clock=clock
    )
    assert requester(db, clock, IdentityKind.CHAT, "visitor-42").id == person.id
    assert requester(db, clock, IdentityKind.PHONE, "+14155550101").id == person.id
    assert requester(db, clock, IdentityKind.SOCIAL, "samtweets").id == person.id
    stranger = requester(db, clock, IdentityKind.CHAT, "visitor-43")
    with pytest.raises(Conflict):
        requesters.link_identity(
            db, user=stranger, kind=IdentityKind.PHONE, value="+14155550101", actor=None, clock=clock
        )


def test_merge_moves_identities_and_tickets_and_keeps_history(db: Session, clock: FixedClock) -> None:
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lead@desk.test", password=None)
    keep = requester(db, clock, IdentityKind.EMAIL, "sam@example.com")
    merge = requester(db, clock, IdentityKind.PHONE, "+1 415 555 0102")
    requesters.link_identity(
        db, user=merge, kind=IdentityKind.EMAIL, value="sam.work@example.com", actor=None, clock=clock
    )
    mail_ticket = actions.create_ticket(
        db, requester=keep, subject="Email", body_text="hi", channel=Channel.EMAIL, clock=clock
    )
    phone_ticket = actions.create_ticket(
        db, requester=merge, subject="Call", body_text="called", channel=Channel.PHONE, clock=clock
    )
    kept = requesters.merge_requesters(
        db, keep=keep, merge=merge, actor=lead, clock=clock, confirm_cross_organisation=True
    )
    db.commit()
    assert kept.id == keep.id
    assert merge.merged_into_id == keep.id and not merge.active and merge.email is None
    assert sorted(i.value for i in keep.identities) == [
        "+14155550102",
        "sam.work@example.com",
        "sam@example.com",
    ]
    assert {t.id for t in db.scalars(select(Ticket).where(Ticket.requester_id == keep.id))} == {
        mail_ticket.id,
        phone_ticket.id,
    }
    # The first message keeps its author: who wrote it is history; the author now leads to `keep`.
    assert phone_ticket.messages[0].author_id == merge.id
    assert requesters.current_person(db, merge).id == keep.id
    assert requester(db, clock, IdentityKind.PHONE, "+14155550102").id == keep.id
    assert requester(db, clock, IdentityKind.EMAIL, "sam.work@example.com").id == keep.id
    types = {(e.type, e.subject_id) for e in db.scalars(select(Event))}
    assert ("requester_merged", merge.id) in types and ("requester_merged_from", keep.id) in types
    assert ("requester_changed", phone_ticket.id) in types
    audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "requester_merged")).one()
    assert (audit.actor_id, audit.subject_id) == (lead.id, keep.id)
    assert audit.detail == {
        "merged": merge.id,
        "ticket_ids": [phone_ticket.id],
        "cross_organisation": True,
        "from_organisation": None,
        "into_organisation": None,
    }


def test_merging_into_a_merged_person_lands_on_the_survivor(db: Session, clock: FixedClock) -> None:
    a = requester(db, clock, IdentityKind.CHAT, "a")
    b = requester(db, clock, IdentityKind.CHAT, "b")
    c = requester(db, clock, IdentityKind.CHAT, "c")
    requesters.merge_requesters(db, keep=a, merge=b, actor=None, clock=clock)
    assert requesters.merge_requesters(db, keep=b, merge=c, actor=None, clock=clock).id == a.id
    assert c.merged_into_id == a.id
    ticket = actions.create_ticket(
        db, requester=c, subject="x", body_text="y", channel=Channel.CHAT, clock=clock
    )
    assert ticket.requester_id == a.id


def test_merge_refuses_self_and_staff(db: Session, clock: FixedClock) -> None:
    person = requester(db, clock, IdentityKind.CHAT, "v1")
    agent = make_user(db, clock, Role.AGENT, email="agent@desk.test", password=None)
    with pytest.raises(ValidationFailed):
        requesters.merge_requesters(db, keep=person, merge=person, actor=None, clock=clock)
    with pytest.raises(ValidationFailed):
        requesters.merge_requesters(db, keep=person, merge=agent, actor=None, clock=clock)


def test_a_merged_requester_keeps_seeing_their_tickets_through_the_kept_record(
    db: Session, clock: FixedClock
) -> None:
    from opsdesk.desk import queries

    keep = requester(db, clock, IdentityKind.EMAIL, "one@example.com")
    merge = requester(db, clock, IdentityKind.EMAIL, "two@example.com")
    ticket = actions.create_ticket(
        db, requester=merge, subject="x", body_text="y", channel=Channel.WEB, clock=clock
    )
    actions.add_message(
        db, ticket=ticket, author=merge, author_kind=AuthorKind.REQUESTER, public=True, channel=Channel.WEB,
        clock=clock, body_text="more",
    )  # fmt: skip
    requesters.merge_requesters(db, keep=keep, merge=merge, actor=None, clock=clock)
    page = queries.list_tickets(
        db, user=keep, filters=queries.TicketFilters(), clock=clock, breaching_soon_minutes=60
    )
    assert [t.id for t in page.items] == [ticket.id]
    assert [m.body_text for m in queries.ticket_messages(db, ticket=ticket, user=keep)] == ["y", "more"]
