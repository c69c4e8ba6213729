"""Run every active playbook over every account at a moment ``now``: build each account's state, ask the
pure triggers which episodes are under way, and fire the ones not fired before.

Firing inserts the episode row (UNIQUE playbook, account, key), the tasks and their events in one
savepoint of the caller's transaction. A rerun or a restarted process finds the key and skips it; a
concurrent run that inserted the same key first makes this one's insert fail on the constraint, and the
savepoint rolls back just that episode (a lost race, counted, not an error)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, ValidationFailed
from opsdesk.core.events import append_event
from opsdesk.core.models import Event, Role, User
from opsdesk.success.models import Account, Contact, ContactRole, Subscription
from opsdesk.success.playbooks.drafts import render
from opsdesk.success.playbooks.emails import queue_email
from opsdesk.success.playbooks.models import (
    OwnerRule,
    Playbook,
    PlaybookEpisode,
    Task,
    TaskStatus,
    TaskTemplate,
    TriggerKind,
)
from opsdesk.success.playbooks.triggers import EVENT_TYPES, AccountEvent, AccountState, Episode, episodes

# Which contact an email draft is addressed to, most preferred first.
CONTACT_PREFERENCE = [
    ContactRole.HR_LEADER,
    ContactRole.BENEFITS_LEADER,
    ContactRole.CHAMPION,
    ContactRole.EXECUTIVE,
    ContactRole.OTHER,
    ContactRole.BILLING,
]


@dataclass(frozen=True)
class Firing:
    playbook_id: int
    account_id: int
    episode: Episode


@dataclass
class RunResult:
    now: datetime
    fired: int = 0
    tasks_created: int = 0
    lost_races: int = 0  # episodes another run fired between our check and our insert
    by_playbook: dict[str, int] = field(default_factory=dict)


def _states(session: Session, playbooks: Sequence[Playbook], now: datetime) -> dict[int, AccountState]:
    today = now.date()
    kinds = {p.trigger_kind for p in playbooks}
    account_ids = list(session.scalars(select(Account.id).order_by(Account.id)))
    renewal_ends: dict[int, list[date]] = defaultdict(list)
    if TriggerKind.RENEWAL_WITHIN in kinds:
        amended = set(
            session.scalars(select(Subscription.amends_id).where(Subscription.amends_id.is_not(None)))
        )
        for sub_id, account_id, end in session.execute(
            select(Subscription.id, Subscription.account_id, Subscription.end_date).where(
                Subscription.start_date <= today, Subscription.end_date >= today
            )
        ):
            if sub_id not in amended:  # an amended term ended early; its successor carries the renewal
                renewal_ends[account_id].append(end)
    engagement: dict[int, dict[date, float | None]] = defaultdict(dict)
    if TriggerKind.UTILISATION_BELOW in kinds:
        from opsdesk.success.health.raw_signals import utilisation_frame

        # The whole history: a run may be longer than the threshold and its first month names it;
        # each month measured against the covered lives of that month.
        frame = utilisation_frame(session)
        for account_id, month, engaged, lives in zip(
            frame["account_id"], frame["month"], frame["engaged_members"], frame["covered_lives"], strict=True
        ):
            if month < today.replace(day=1):
                engagement[int(account_id)][month] = engaged / lives * 100.0 if lives > 0 else None
    events: dict[int, list[AccountEvent]] = defaultdict(list)
    event_playbooks = [p for p in playbooks if p.trigger_kind in EVENT_TYPES]
    if event_playbooks:
        since = min(p.created_at for p in event_playbooks)
        conditions = []
        for kind in {p.trigger_kind for p in event_playbooks}:
            if kind is TriggerKind.HEALTH_RED:  # the start of a red stretch may lie before the playbook
                conditions.append(Event.type == EVENT_TYPES[kind])
            else:
                conditions.append(and_(Event.type == EVENT_TYPES[kind], Event.at >= since))
        for row in session.scalars(
            select(Event)
            .where(Event.subject_type == "account", Event.at <= now, or_(*conditions))
            .order_by(Event.at, Event.id)
        ):
            events[row.subject_id].append(AccountEvent(id=row.id, type=row.type, at=row.at, data=row.data))
    return {
        a: AccountState(
            account_id=a,
            renewal_ends=renewal_ends.get(a, []),
            engagement=engagement.get(a, {}),
            events=events.get(a, []),
        )
        for a in account_ids
    }


def plan_run(
    session: Session,
    *,
    now: datetime,
    playbook_ids: Sequence[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Firing]:
    """The episodes under way at ``now`` that no run has fired yet (reads only)."""
    query = (
        select(Playbook).where(Playbook.active.is_(True), Playbook.created_at <= now).order_by(Playbook.id)
    )
    if playbook_ids is not None:
        query = query.where(Playbook.id.in_(list(playbook_ids)))
    playbooks = list(session.scalars(query))
    if not playbooks:
        return []
    fired = {
        (p, a, k)
        for p, a, k in session.execute(
            select(
                PlaybookEpisode.playbook_id, PlaybookEpisode.account_id, PlaybookEpisode.episode_key
            ).where(PlaybookEpisode.playbook_id.in_([p.id for p in playbooks]))
        )
    }
    firings = []
    for state in _states(session, playbooks, now).values():
        for playbook in playbooks:
            for episode in episodes(
                playbook.trigger_kind, playbook.trigger_params, state, since=playbook.created_at, now=now
            ):
                if (playbook.id, state.account_id, episode.key) not in fired:
                    firings.append(Firing(playbook.id, state.account_id, episode))
        if progress is not None:
            progress(1)
    return firings


def _primary_contact(account: Account) -> Contact | None:
    """The contact an email is addressed to: one with an address first, then by role."""
    ranked = sorted(account.contacts, key=lambda c: (not c.email, CONTACT_PREFERENCE.index(c.role), c.id))
    return ranked[0] if ranked else None


def _owner(template: TaskTemplate, account: Account, cs_lead: User | None) -> User | None:
    if template.owner_rule is OwnerRule.NAMED_USER:
        return template.owner_user
    if template.owner_rule is OwnerRule.CS_LEAD:
        return cs_lead
    return account.owner


def _values(playbook: Playbook, account: Account, episode: Episode) -> dict[str, str]:
    contact = _primary_contact(account)
    return {
        "account_name": account.name,
        "covered_lives": str(account.covered_lives),
        "stage": account.stage.value,
        "csm_name": account.owner.name if account.owner else "",
        "csm_email": (account.owner.email or "") if account.owner else "",
        "contact_name": contact.name if contact else "",
        "contact_email": (contact.email or "") if contact else "",
        "contact_title": (contact.title or "") if contact else "",
        "playbook_name": playbook.name,
        "trigger_reason": episode.reason,
        **episode.facts,
    }


def _fire(
    session: Session,
    firing: Firing,
    playbook: Playbook,
    account: Account,
    cs_lead: User | None,
    now: datetime,
) -> int:
    episode = PlaybookEpisode(
        playbook_id=playbook.id,
        account_id=account.id,
        episode_key=firing.episode.key,
        reason=firing.episode.reason,
        fired_at=now,
    )
    session.add(episode)
    session.flush()  # the unique key is claimed here, before any task exists
    base = _values(playbook, account, firing.episode)
    for template in playbook.templates:
        owner = _owner(template, account, cs_lead)
        due = now.date() + timedelta(days=template.due_offset_days)
        values = {**base, "owner_name": owner.name if owner else "", "due_date": due.isoformat()}
        task = Task(
            account_id=account.id,
            playbook_id=playbook.id,
            episode_id=episode.id,
            title=render(template.title, values)[:200],
            description=render(template.description, values),
            status=TaskStatus.OPEN,
            due_on=due,
            owner_id=owner.id if owner else None,
            email_subject=render(template.email_subject, values)[:300] if template.email_subject else None,
            email_body=render(template.email_body, values) if template.email_body else None,
            email_to=base["contact_email"] or None if template.email_subject else None,
            email_needs_approval=template.email_needs_approval,
            created_at=now,
            updated_at=now,
        )
        session.add(task)
        session.flush()
        append_event(
            session,
            subject_type="account",
            subject_id=account.id,
            type="task_created",
            at=now,
            data={
                "task_id": task.id,
                "playbook_id": playbook.id,
                "episode_key": firing.episode.key,
                "title": task.title,
            },
        )
        if task.email_subject and task.email_body and task.email_to and not task.email_needs_approval:
            try:
                queue_email(session, task=task, clock=FixedClock(now), actor=None)
            except ValidationFailed:  # e.g. a mistyped contact address: the CSM fixes and sends it
                task.email_needs_approval = True
    session.flush()
    return len(playbook.templates)


def _cs_lead(session: Session) -> User | None:
    return session.scalar(
        select(User).where(User.role == Role.CS_LEAD, User.active.is_(True)).order_by(User.id).limit(1)
    )


def start_playbook(
    session: Session, *, playbook: Playbook, account: Account, actor: User, now: datetime
) -> int:
    """Run ``playbook`` on one account now, whatever its trigger says: a CSM starting a play by hand.
    The episode is keyed by the second, so a double-submitted form fires once. Returns the tasks made."""
    if not playbook.active:
        raise ValidationFailed(f"the playbook {playbook.name!r} is paused", field="playbook_id")
    episode = Episode(key=f"manual:{now.isoformat(timespec='seconds')}", reason=f"started by {actor.name}")
    try:
        with session.begin_nested():
            created = _fire(
                session, Firing(playbook.id, account.id, episode), playbook, account, _cs_lead(session), now
            )
    except IntegrityError:
        raise Conflict(f"{playbook.name!r} was just started on this account", field="playbook_id") from None
    append_event(
        session,
        subject_type="account",
        subject_id=account.id,
        type="playbook_started",
        at=now,
        actor=actor,
        data={"playbook_id": playbook.id, "playbook": playbook.name},
    )
    return created


def apply_run(
    session: Session,
    firings: Sequence[Firing],
    *,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Fire each planned episode in its own savepoint; an episode someone else fired meanwhile is skipped."""
    result = RunResult(now=now)
    if firings and session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer. Taking the write lock before claiming keys makes a concurrent run wait
        # for this one to commit and then lose its keys on the constraint, instead of failing with
        # "database is locked" when its read snapshot went stale between two savepoints.
        session.execute(update(Playbook).where(false()).values(active=Playbook.active))
    playbooks = {
        p.id: p
        for p in session.scalars(select(Playbook).where(Playbook.id.in_({f.playbook_id for f in firings})))
    }
    accounts = {
        a.id: a
        for a in session.scalars(select(Account).where(Account.id.in_({f.account_id for f in firings})))
    }
    cs_lead = _cs_lead(session)
    for firing in firings:
        playbook, account = playbooks[firing.playbook_id], accounts[firing.account_id]
        try:
            with session.begin_nested():
                created = _fire(session, firing, playbook, account, cs_lead, now)
        except IntegrityError:
            result.lost_races += 1
        else:
            result.fired += 1
            result.tasks_created += created
            result.by_playbook[playbook.name] = result.by_playbook.get(playbook.name, 0) + 1
        if progress is not None:
            progress(1)
    return result


def run_playbooks(
    session: Session,
    *,
    now: datetime,
    playbook_ids: Sequence[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Plan and fire in the caller's transaction; the caller commits."""
    firings = plan_run(session, now=now, playbook_ids=playbook_ids, progress=progress)
    return apply_run(session, firings, now=now)
