"""The CS team's work in the demo, so the task, playbook, escalation and feedback pages have a book to
run: two playbooks live for a quarter (renewal outreach, whose email waits for the CSM's approval, and a
rescue play when health turns red), the tasks they fired two weeks ago and today (the older ones partly
done, the rest overdue), escalations on a few customers and product requests with the customers asking.
Everything is written through the success actions and the playbook engine, as the live system would."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import User
from opsdesk.success.models import Account, Stage
from opsdesk.success.playbooks import actions as playbooks
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.engine import run_playbooks
from opsdesk.success.playbooks.models import OwnerRule, Task, TaskStatus, TriggerKind
from opsdesk.success.voice import actions as voice
from opsdesk.success.voice.models import EscalationStatus, Severity

RENEWAL_STEPS = [
    TemplateSpec(title="Prepare {account_name}'s renewal review", due_offset_days=7),
    TemplateSpec(
        title="Email {contact_name} about the renewal",
        due_offset_days=2,
        email_subject="{account_name}: planning your renewal on {renewal_date}",
        email_body=(
            "Hi {contact_name},\n\n{account_name}'s agreement renews on {renewal_date}. Could we find "
            "30 minutes in the next two weeks to review this year's results for your {covered_lives} "
            "members and plan the year ahead?\n\nBest regards,\n{csm_name}"
        ),
    ),
    TemplateSpec(
        title="Executive check-in before {account_name}'s renewal",
        due_offset_days=21,
        owner_rule=OwnerRule.CS_LEAD,
    ),
]
RESCUE_STEPS = [
    TemplateSpec(title="Find why {account_name}'s health turned red", due_offset_days=2),
    TemplateSpec(title="Agree a recovery plan with {contact_name}", due_offset_days=10),
]
FEEDBACK = [
    ("Eligibility files", "Accept eligibility files over SFTP with PGP"),
    ("Eligibility files", "Show which eligibility rows were rejected and why"),
    ("Reporting", "Monthly engagement report by employee location"),
    ("Reporting", "Export utilisation to the employer's data warehouse"),
    ("Member app", "Spanish-language member app"),
    ("Integrations", "Single sign-on with Workday"),
]
ESCALATIONS = [
    (Severity.SEV1, "Eligibility file rejected two cycles running; members cannot register"),
    (Severity.SEV2, "Claims data feed late for the quarterly review"),
    (Severity.SEV2, "Benefits leader unhappy with onboarding pace"),
    (Severity.SEV3, "Reporting numbers disagree with the broker's"),
    (Severity.SEV3, "Single sign-on errors for one division"),
    (Severity.SEV4, "Wants a named support contact"),
]


def create_success_work(
    session: Session, *, rng: np.random.Generator, now: datetime, lead: User
) -> dict[str, int]:
    since = FixedClock(now - timedelta(days=90))
    playbooks.create_playbook(
        session, name="Renewal outreach", trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 60}, templates=RENEWAL_STEPS, clock=since,
        description="Sixty days before a renewal: the review, the customer email and an executive call.",
    )  # fmt: skip
    playbooks.create_playbook(
        session, name="Red health rescue", trigger_kind=TriggerKind.HEALTH_RED, trigger_params={},
        templates=RESCUE_STEPS, clock=since,
        description="When a customer's health turns red: the cause, then a recovery plan with them.",
    )  # fmt: skip
    earlier = now - timedelta(days=14)
    fired = run_playbooks(session, now=earlier).tasks_created + run_playbooks(session, now=now).tasks_created
    done = 0
    for task in session.scalars(
        select(Task).where(Task.due_on < now.date(), Task.playbook_id.is_not(None)).order_by(Task.id)
    ):
        if rng.random() < 0.6:  # most of what fell due was done on the day; the rest is overdue
            at = FixedClock(datetime.combine(task.due_on, now.timetz()))
            playbooks.update_task(session, task=task, status=TaskStatus.DONE, actor=task.owner, clock=at)
            done += 1
    live = list(
        session.scalars(
            select(Account)
            .where(Account.stage != Stage.CHURNED, Account.parent_id.is_(None))
            .order_by(Account.id)
        )
    )
    opened = asks = 0
    if not live:
        return {"playbook tasks": fired, "playbook tasks done": done, "CS escalations": 0, "feedback asks": 0}
    for index, (severity, title) in enumerate(ESCALATIONS):
        account = live[int(rng.integers(len(live)))]
        at = FixedClock(now - timedelta(days=int(rng.integers(1, 30)), hours=int(rng.integers(0, 8))))
        escalation = voice.open_escalation(
            session, account=account, severity=severity, title=title, actor=account.owner, clock=at
        )
        if index % 3 == 2:
            voice.update_escalation(
                session, escalation=escalation, status=EscalationStatus.RESOLVED, actor=lead,
                note="Fixed with the customer", clock=FixedClock(now - timedelta(hours=2)),
            )  # fmt: skip
        opened += 1
    for area, title in FEEDBACK:
        request = voice.create_request(session, title=title, product_area_name=area, clock=since, actor=lead)
        chosen = rng.choice(len(live), size=min(len(live), int(rng.integers(2, 15))), replace=False)
        for i in sorted(int(c) for c in chosen):
            voice.add_ask(session, request=request, account=live[i], clock=since, actor=live[i].owner)
            asks += 1
    session.flush()
    return {
        "playbook tasks": fired,
        "playbook tasks done": done,
        "CS escalations": opened,
        "feedback asks": asks,
    }
