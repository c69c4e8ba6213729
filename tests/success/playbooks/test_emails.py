"""Playbook emails leave OpsDesk through a real SMTP server on loopback: a step without approval goes
when the playbook starts, a step that asks for approval waits for the CSM's edit and approval, the
episode's emails are one thread, and the customer's reply, filed by the desk, is found by the
Message-ID it answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from opsdesk.core.models import Event, Role
from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore
from opsdesk.desk.channels.email.inbound import Outcome, receive_email
from opsdesk.insights.account_timeline import replies_to
from opsdesk.success import access
from opsdesk.success import actions as success
from opsdesk.success.models import Account, ContactRole
from opsdesk.success.playbooks import actions, engine
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.emails import queue_email, send_pending_emails
from opsdesk.success.playbooks.models import EmailStatus, Playbook, Task, TaskEmail, TriggerKind
from opsdesk.success.playbooks.queries import sent_message_ids
from tests.desk.channels.sink import Sink, smtp_sink
from tests.factories import make_user

STEPS = [
    TemplateSpec(
        title="Welcome {contact_name}",
        email_subject="Welcome to {account_name}'s launch",
        email_body="Hi {contact_name},\nlaunch starts now.\n{csm_name}",
        email_needs_approval=False,
    ),
    TemplateSpec(
        title="Send the launch plan",
        due_offset_days=3,
        email_subject="{account_name}: your launch plan",
        email_body="Hi {contact_name},\nhere is the plan.",
    ),
]


@pytest.fixture
def sink() -> Iterator[Sink]:
    with smtp_sink() as running:
        yield running


def _mailing(settings: Settings, sink: Sink) -> Settings:
    return settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{sink.port}"})


def _start(db: Session, clock: FixedClock) -> tuple[Account, list[Task]]:
    csm = make_user(db, clock, Role.CSM, email="cleo@cs.test")
    account = success.create_account(db, name="Acme Health", covered_lives=900, owner=csm, clock=clock)
    success.save_contact(
        db, account=account, name="Pat Billing", role=ContactRole.BILLING, email=None, clock=clock
    )
    success.save_contact(
        db, account=account, name="Hana", role=ContactRole.HR_LEADER, email="Hana@Acme.test", clock=clock
    )
    playbook = actions.create_playbook(
        db,
        name="Launch",
        trigger_kind=TriggerKind.STAGE_CHANGED,
        trigger_params={"to": "launch"},
        templates=STEPS,
        clock=clock,
    )
    assert engine.start_playbook(db, playbook=playbook, account=account, actor=csm, now=clock.now()) == 2
    db.commit()
    return account, list(db.scalars(select(Task).order_by(Task.id)))


def test_emails_are_sent_approved_threaded_and_replies_found(
    db: Session,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    settings: Settings,
    sink: Sink,
) -> None:
    account, (welcome, plan) = _start(db, clock)
    assert welcome.email_to == "hana@acme.test" and not welcome.email_needs_approval
    assert [e.status for e in welcome.emails] == [EmailStatus.PENDING]  # queued on firing
    assert plan.email_needs_approval and plan.emails == []  # waits for the CSM
    mailing = _mailing(settings, sink)
    assert send_pending_emails(session_factory, clock=clock, settings=mailing) == 1
    first = sink.messages()[0]
    assert first["To"] == "hana@acme.test" and first["Subject"] == "Welcome to Acme Health's launch"
    assert first["From"].addresses[0].addr_spec == "support@opsdesk.test"
    assert "Hi Hana" in first.get_content() and first["In-Reply-To"] is None

    clock.advance(timedelta(hours=2))
    csm = db.merge(account).owner
    assert csm is not None
    queue_email(
        db, task=plan, clock=clock, actor=csm, to="hana@acme.test", subject="Acme: the launch plan, v2",
        body="Hi Hana,\nthe plan, as we discussed.",
    )  # fmt: skip
    db.commit()
    with pytest.raises(Conflict):  # a task sends one email
        queue_email(db, task=plan, clock=clock, actor=csm)
    db.rollback()
    assert send_pending_emails(session_factory, clock=clock, settings=mailing) == 1
    assert send_pending_emails(session_factory, clock=clock, settings=mailing) == 0  # nothing twice
    second = sink.messages()[1]
    assert second["Subject"] == "Acme: the launch plan, v2"
    assert second["In-Reply-To"] == first["Message-ID"] and second["References"] == first["Message-ID"]
    db.expire_all()
    rows = db.scalars(select(TaskEmail).order_by(TaskEmail.id)).all()
    assert [r.status for r in rows] == [EmailStatus.SENT, EmailStatus.SENT]
    assert rows[1].approved_by_id == csm.id and rows[0].approved_by_id is None
    types = db.scalars(
        select(Event.type).where(Event.subject_type == "account", Event.subject_id == account.id)
    ).all()
    assert types.count("playbook_email_sent") == 2 and "playbook_email_approved" in types
    assert "playbook_started" in types

    reply = (
        "From: Hana <hana@acme.test>\r\nTo: support@opsdesk.test\r\n"
        f"Subject: Re: Acme: the launch plan, v2\r\nMessage-ID: <reply-1@acme.test>\r\n"
        f"In-Reply-To: {second['Message-ID']}\r\nReferences: {first['Message-ID']} {second['Message-ID']}\r\n"
        "\r\nLooks good, one question about eligibility files.\r\n"
    ).encode()
    store = AttachmentStore.from_settings(settings)
    filed = receive_email(db, raw=reply, clock=clock, store=store, settings=settings)
    db.commit()
    assert filed.outcome is Outcome.CREATED
    reader = db.merge(csm)
    found = replies_to(db, sent_message_ids(db, account.id), reader=reader)
    assert [(r.ticket_number, r.subject) for r in found] == [(filed.ticket_id, "Acme: the launch plan, v2")]


def test_unusable_emails_are_refused_with_the_field(db: Session, clock: FixedClock) -> None:
    account, (_welcome, plan) = _start(db, clock)
    csm = account.owner
    for to in ("not an address", "a@b.test\r\nBcc: everyone@b.test", "a@b.test, c@d.test"):
        with pytest.raises(ValidationFailed) as error:
            queue_email(db, task=plan, clock=clock, actor=csm, to=to)
        assert error.value.field == "email_to"
    with pytest.raises(ValidationFailed) as error:
        queue_email(db, task=plan, clock=clock, actor=csm, subject="two\nlines")
    assert error.value.field == "email_subject"
    hand_made = actions.create_task(db, account=account, title="Call", due_on=clock.now().date(), clock=clock)
    with pytest.raises(ValidationFailed) as error:
        queue_email(db, task=hand_made, clock=clock, actor=csm, to="a@b.test")
    assert error.value.field == "email_subject"
    db.rollback()
    assert db.scalar(select(TaskEmail).where(TaskEmail.task_id == plan.id)) is None


def test_a_csm_works_their_own_book_and_a_lead_works_all(db: Session, clock: FixedClock) -> None:
    account, (welcome, _plan) = _start(db, clock)
    other = make_user(db, clock, Role.CSM, email="otto@cs.test")
    lead = make_user(db, clock, Role.CS_LEAD, email="lee@cs.test")
    agent = make_user(db, clock, Role.AGENT, email="ana@desk.test")
    analyst = make_user(db, clock, Role.ANALYST, email="al@ops.test")
    assert account.owner is not None and access.may_work(account.owner, account)
    assert access.may_work(lead, account)
    assert not access.may_work(other, account) and not access.may_work(agent, account)
    assert access.may_see_task(analyst, welcome) and not access.may_work_task(analyst, welcome)
    assert not access.may_see_task(other, welcome) and not access.may_see_task(agent, welcome)
    welcome.owner_id = other.id  # a step assigned to a colleague by name is theirs to work
    assert access.may_work_task(other, welcome)
    with pytest.raises(PermissionDenied):
        access.require_work(other, account)


def test_a_double_submitted_start_fires_once(db: Session, clock: FixedClock) -> None:
    account, tasks = _start(db, clock)
    playbook = db.get_one(Playbook, tasks[0].playbook_id)
    with pytest.raises(Conflict):
        engine.start_playbook(db, playbook=playbook, account=account, actor=account.owner, now=clock.now())
    db.commit()
    assert len(db.scalars(select(Task)).all()) == 2
    clock.advance(timedelta(seconds=1))
    actions.update_playbook(db, playbook=playbook, clock=clock, active=False)
    with pytest.raises(ValidationFailed) as error:
        engine.start_playbook(db, playbook=playbook, account=account, actor=account.owner, now=clock.now())
    assert error.value.field == "playbook_id"
