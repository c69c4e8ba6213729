"""Arranging a routed desk in tests: routing switched on, agents with presence, tickets waiting."""

from __future__ import annotations

from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import Clock
from opsdesk.core.models import Event, Group, Role, Site, Tier, User
from opsdesk.desk import actions
from opsdesk.desk.models import Channel, Priority, Ticket
from opsdesk.desk.routing.admin import save_settings
from opsdesk.desk.routing.models import PresenceStatus
from opsdesk.desk.routing.presence import presence_of, set_presence
from opsdesk.desk.routing.schemas import SettingsIn

_n = count(1)


def switch_on(db: Session, clock: Clock, **settings: object) -> None:
    save_settings(db, body=SettingsIn.model_validate(settings), clock=clock, actor=None)


def agent(
    db: Session,
    clock: Clock,
    *,
    tier: Tier = Tier.L1,
    site: Site | None = None,
    groups: tuple[Group, ...] = (),
    languages: tuple[str, ...] = ("en",),
    skills: tuple[str, ...] = (),
    capacity: dict[str, int] | None = None,
    online: bool = True,
) -> User:
    n = next(_n)
    user = core_actions.create_user(
        db,
        email=f"agent{n}@opsdesk.test",
        name=f"Agent {n}",
        role=Role.AGENT,
        tier=tier,
        clock=clock,
        site=site,
        languages=list(languages),
        skills=list(skills),
    )
    for group in groups:
        group.members.append(user)
    presence = presence_of(db, user, clock.now())
    if capacity is not None:
        presence.capacity = capacity
    if online:
        set_presence(db, agent=user, status=PresenceStatus.ONLINE, clock=clock, actor=None)
    db.flush()
    return user


def requester(db: Session, clock: Clock, *, languages: tuple[str, ...] = ("en",)) -> User:
    n = next(_n)
    return core_actions.create_user(
        db,
        email=f"customer{n}@example.com",
        name=f"Customer {n}",
        role=Role.REQUESTER,
        clock=clock,
        languages=list(languages),
    )


def ticket(
    db: Session,
    clock: Clock,
    who: User,
    *,
    channel: Channel = Channel.EMAIL,
    group: Group | None = None,
    tags: tuple[str, ...] = (),
    priority: Priority = Priority.NORMAL,
) -> Ticket:
    return actions.create_ticket(
        db,
        requester=who,
        subject=f"Help {next(_n)}",
        body_text="Something is wrong with my account.",
        channel=channel,
        clock=clock,
        group=group,
        tags=tags,
        priority=priority,
    )


def assignment_events(db: Session, ticket_id: int) -> list[Event]:
    return list(
        db.scalars(
            select(Event)
            .where(Event.subject_type == "ticket", Event.subject_id == ticket_id, Event.type == "assigned")
            .order_by(Event.id)
        )
    )
