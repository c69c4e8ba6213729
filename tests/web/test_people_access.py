"""Merging people and adding identities over the real API: both hand one person's tickets to another,
so only support leads and admins may, never across organisations without a confirmation from someone
who may read every ticket involved, and every attempt is in the audit log."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry, Role, Tier, User
from opsdesk.core.settings import Settings
from opsdesk.desk import actions
from opsdesk.desk.attachments import AttachmentStore, NewAttachment
from opsdesk.desk.channels.email.inbound import Outcome, receive_and_commit
from opsdesk.desk.models import Channel, Ticket
from tests.conftest import LiveServer
from tests.desk.channels.mail import mail
from tests.factories import make_token, make_user


@dataclass
class People:
    server: LiveServer
    users: dict[str, User]
    tokens: dict[str, str]
    secret: Ticket
    attachment_id: int

    def as_(self, name: str) -> httpx.Client:
        return self.server.client(self.tokens[name])


@pytest.fixture
def people(db: Session, clock: FixedClock, settings: Settings, live_server: LiveServer) -> People:
    acme = core_actions.create_organisation(db, name="Acme Health", domain="acmehealth.test", clock=clock)
    globex = core_actions.create_organisation(db, name="Globex", domain="globex.test", clock=clock)
    clinical = core_actions.create_group(db, name="L2 Clinical", tier=Tier.L2, sensitive_access=True)
    specs = {
        "l1": (Role.AGENT, Tier.L1, None),
        "lead": (Role.SUPPORT_LEAD, None, None),
        "clinical_lead": (Role.SUPPORT_LEAD, None, None),
        "victim": (Role.REQUESTER, None, acme),
        "colleague": (Role.REQUESTER, None, acme),
        "other": (Role.REQUESTER, None, globex),
    }
    users = {
        name: make_user(
            db, clock, role, tier=tier, organisation=org, email=f"{name}@{org.domain if org else 'desk.test'}"
        )
        for name, (role, tier, org) in specs.items()
    }
    core_actions.add_to_group(db, group=clinical, user=users["clinical_lead"], clock=clock)
    secret = actions.create_ticket(
        db, requester=users["victim"], subject="HIV test result", body_text="Positive, see the lab report",
        channel=Channel.WEB, clock=clock, sensitive=True,
        store=AttachmentStore.from_settings(settings),
        attachments=[NewAttachment("labs.pdf", "application/pdf", b"%PDF-1.4 labs")],
    )  # fmt: skip
    tokens = {name: make_token(db, clock, user) for name, user in users.items()}
    db.commit()
    attachment_id = secret.messages[0].attachments[0].id
    return People(live_server, users, tokens, secret, attachment_id)


def _audit(session_factory: sessionmaker[Session], action: str) -> list[tuple[int | None, int | None]]:
    with session_factory() as fresh:
        rows = fresh.execute(
            select(AuditEntry.actor_id, AuditEntry.subject_id).where(AuditEntry.action == action)
        ).all()
    return [(r.actor_id, r.subject_id) for r in rows]


def _cannot_read_the_secret(people: People, reader: str) -> None:
    client = people.as_(reader)
    number = people.secret.id
    for path in (
        f"/api/v1/tickets/{number}",
        f"/api/v1/tickets/{number}/messages",
        f"/api/v1/tickets/{number}/attachments/{people.attachment_id}",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "HIV" not in response.text, path


def test_an_l1_agent_cannot_merge_a_requester_into_another_organisations(
    people: People, session_factory: sessionmaker[Session]
) -> None:
    victim, other = people.users["victim"], people.users["other"]
    for body in ({"into": other.id}, {"into": other.id, "confirm_cross_organisation": True}):
        refused = people.as_("l1").post(f"/api/v1/users/{victim.id}/merge", json=body)
        assert refused.status_code == 403, refused.text
    _cannot_read_the_secret(people, "other")
    assert _audit(session_factory, "requester_merge_denied") == [(people.users["l1"].id, victim.id)] * 2
    assert _audit(session_factory, "requester_merged") == []


def test_a_lead_merges_across_organisations_only_when_confirmed_and_able_to_read_every_ticket(
    people: People, session_factory: sessionmaker[Session]
) -> None:
    victim, other = people.users["victim"], people.users["other"]
    path = f"/api/v1/users/{victim.id}/merge"
    unconfirmed = people.as_("lead").post(path, json={"into": other.id})
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["error"]["field"] == "confirm_cross_organisation"
    # Confirming is not enough for a lead who may not read the sensitive ticket that would move.
    blind = people.as_("lead").post(path, json={"into": other.id, "confirm_cross_organisation": True})
    assert blind.status_code == 403 and "HIV" not in blind.text
    _cannot_read_the_secret(people, "other")
    assert len(_audit(session_factory, "requester_merge_denied")) == 2
    merged = people.as_("clinical_lead").post(
        path, json={"into": other.id, "confirm_cross_organisation": True}
    )
    assert merged.status_code == 200, merged.text
    assert _audit(session_factory, "requester_merged") == [(people.users["clinical_lead"].id, other.id)]
    with session_factory() as fresh:
        detail = fresh.scalars(select(AuditEntry.detail).where(AuditEntry.action == "requester_merged")).one()
    assert detail["cross_organisation"] is True and detail["ticket_ids"] == [people.secret.id]


def test_a_lead_merges_within_one_organisation_without_confirming(
    people: People, session_factory: sessionmaker[Session]
) -> None:
    colleague, victim = people.users["colleague"], people.users["victim"]
    merged = people.as_("lead").post(f"/api/v1/users/{colleague.id}/merge", json={"into": victim.id})
    assert merged.status_code == 200, merged.text
    assert _audit(session_factory, "requester_merged") == [(people.users["lead"].id, victim.id)]


def test_an_l1_agent_cannot_add_an_address_to_someone_and_the_mail_does_not_thread_onto_their_ticket(
    people: People, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    victim = people.users["victim"]
    path = f"/api/v1/users/{victim.id}/identities"
    attack = {"kind": "email", "value": "attacker@evil.test"}
    assert people.as_("l1").post(path, json=attack).status_code == 403
    assert _audit(session_factory, "identity_add_denied") == [(people.users["l1"].id, victim.id)]
    result = receive_and_commit(
        session_factory,
        raw=mail(
            sender="Attacker <attacker@evil.test>", subject=f"Re: [#{people.secret.id}] HIV test result"
        ),
        clock=clock,
        store=AttachmentStore.from_settings(settings),
        settings=settings,
    )
    assert result.outcome is Outcome.CREATED and result.ticket_id != people.secret.id
    with session_factory() as fresh:
        filed = fresh.get_one(Ticket, result.ticket_id)
        assert filed.requester_id != victim.id and not filed.sensitive


def test_a_lead_adds_an_address_of_another_domain_only_when_confirmed_and_able_to_read_every_ticket(
    people: People, session_factory: sessionmaker[Session]
) -> None:
    victim = people.users["victim"]
    path = f"/api/v1/users/{victim.id}/identities"
    own_domain = people.as_("lead").post(path, json={"kind": "email", "value": "v.2@acmehealth.test"})
    assert own_domain.status_code == 201, own_domain.text
    phone = people.as_("lead").post(path, json={"kind": "phone", "value": "+1 415 555 0100"})
    assert phone.status_code == 201
    foreign = {"kind": "email", "value": "victim@gmail.test"}
    unconfirmed = people.as_("lead").post(path, json=foreign)
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["error"]["field"] == "confirm_cross_organisation"
    confirmed = {**foreign, "confirm_cross_organisation": True}
    assert people.as_("lead").post(path, json=confirmed).status_code == 403
    added = people.as_("clinical_lead").post(path, json=confirmed)
    assert added.status_code == 201, added.text
    assert "victim@gmail.test" in {i["value"] for i in added.json()["identities"]}
    assert len(_audit(session_factory, "identity_added")) == 3
    assert len(_audit(session_factory, "identity_add_denied")) == 2
