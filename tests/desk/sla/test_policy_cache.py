"""The per-process policy cache: every policy or hours change reaches every server on its next ticket
change, a current snapshot is reused without reloading, and databases never share one. A "server" here
is a second engine on the same database, as another process would have."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.config_versions import bump_version, read_version
from opsdesk.core.database import make_engine, make_session_factory
from opsdesk.core.models import Role
from opsdesk.desk import actions as desk
from opsdesk.desk.models import Channel, Ticket
from opsdesk.desk.sla import actions, policy_cache, queries
from opsdesk.desk.sla.models import SlaPolicy
from opsdesk.desk.sla.policy_cache import SLA_CONFIG
from opsdesk.schema import metadata
from tests.factories import make_user

MONDAY_9 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # the clock fixture's start
_tags = count()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def server(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions of another process serving the same database: its own engine, so its own cache."""
    other = make_engine(_url(engine))
    yield make_session_factory(other)
    other.dispose()


@pytest.fixture
def other_database(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty database of the same kind."""
    if engine.dialect.name == "sqlite":
        other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        metadata.create_all(other)
        yield other
        other.dispose()
        return
    name = f"opsdesk_cache_{uuid.uuid4().hex[:8]}"
    admin = make_engine(_url(engine), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    other = make_engine(_url(engine).rsplit("/", 1)[0] + f"/{name}")
    metadata.create_all(other)
    yield other
    other.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def new_ticket(db: Session, clock: FixedClock) -> int:
    requester = make_user(db, clock, Role.REQUESTER, email=f"req{next(_tags)}@example.com")
    ticket = desk.create_ticket(
        db, requester=requester, subject="Help", body_text="Please", channel=Channel.EMAIL, clock=clock
    )
    db.commit()
    return ticket.id


def change_ticket(factory: sessionmaker[Session], ticket_id: int, clock: FixedClock) -> datetime | None:
    """A ticket change made by the server; returns the due time its SLA refresh set."""
    with factory() as session:
        ticket = session.get_one(Ticket, ticket_id)
        desk.update_ticket(session, ticket=ticket, tags=[f"t{next(_tags)}"], actor=None, clock=clock)
        session.commit()
        return ticket.sla_next_due_at


def policy_applied(factory: sessionmaker[Session], ticket_id: int) -> str | None:
    with factory() as session:
        policy = queries.applicable_policy(session, session.get_one(Ticket, ticket_id))
        return policy.name if policy is not None else None


def test_a_target_change_reaches_another_server_on_its_next_ticket_change(
    db: Session, clock: FixedClock, server: sessionmaker[Session]
) -> None:
    policy = actions.create_sla_policy(
        db, name="Default", targets={"normal": {"first_reply": 30}}, actor=None, clock=clock
    )
    ticket_id = new_ticket(db, clock)
    assert change_ticket(server, ticket_id, clock) == MONDAY_9 + timedelta(minutes=30)

    actions.update_sla_policy(
        db, policy=policy, targets={"normal": {"first_reply": 90}}, actor=None, clock=clock
    )
    db.commit()
    assert change_ticket(server, ticket_id, clock) == MONDAY_9 + timedelta(minutes=90)


def test_hours_and_schedule_changes_reach_another_server(
    db: Session, clock: FixedClock, server: sessionmaker[Session]
) -> None:
    short_days = actions.create_business_schedule(
        db,
        name="Short days",
        timezone="UTC",
        intervals=[{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(5)],
        actor=None,
        clock=clock,
    )
    evenings = actions.create_business_schedule(
        db,
        name="Evenings",
        timezone="UTC",
        intervals=[{"weekday": d, "start": "18:00", "end": "20:00"} for d in range(5)],
        actor=None,
        clock=clock,
    )
    policy = actions.create_sla_policy(
        db,
        name="Office",
        targets={"normal": {"first_reply": 120}},
        schedule=short_days,
        actor=None,
        clock=clock,
    )
    ticket_id = new_ticket(db, clock)
    # One business hour on Monday, the second on Tuesday 09:00-10:00.
    assert change_ticket(server, ticket_id, clock) == MONDAY_9 + timedelta(days=1, hours=1)

    actions.update_sla_policy(db, policy=policy, schedule=evenings, actor=None, clock=clock)
    db.commit()
    assert change_ticket(server, ticket_id, clock) == MONDAY_9 + timedelta(hours=11)  # Monday 20:00

    clock.advance(timedelta(minutes=1))
    actions.change_business_hours(
        db, schedule=evenings, timezone="UTC", always_open=True, actor=None, clock=clock
    )
    db.commit()
    # A running clock is measured on the hours in force now: around the clock, from Monday 09:00.
    assert change_ticket(server, ticket_id, clock) == MONDAY_9 + timedelta(hours=2)
    with server() as session:
        state = queries.sla_state(session, ticket=session.get_one(Ticket, ticket_id), clock=clock)
    assert (state.policy_name, state.calendar) == ("Office", "Evenings")


def test_reordering_deactivating_and_deleting_reach_another_server(
    db: Session, clock: FixedClock, server: sessionmaker[Session]
) -> None:
    targets = {"normal": {"first_reply": 30}}
    first = actions.create_sla_policy(db, name="First", targets=targets, actor=None, clock=clock)
    second = actions.create_sla_policy(db, name="Second", targets=targets, actor=None, clock=clock)
    ticket_id = new_ticket(db, clock)
    assert policy_applied(server, ticket_id) == "First"

    actions.update_sla_policy(db, policy=second, position=0, actor=None, clock=clock)
    db.commit()
    assert policy_applied(server, ticket_id) == "Second"

    actions.update_sla_policy(db, policy=second, active=False, actor=None, clock=clock)
    db.commit()
    assert policy_applied(server, ticket_id) == "First"

    actions.delete_sla_policy(db, policy=first, actor=None, clock=clock)
    db.commit()
    assert policy_applied(server, ticket_id) is None


def test_a_current_snapshot_is_reused_and_a_change_reloads_it_once(
    db: Session, clock: FixedClock, server: sessionmaker[Session]
) -> None:
    policy = actions.create_sla_policy(
        db, name="Default", targets={"normal": {"first_reply": 30}}, actor=None, clock=clock
    )
    ticket_id = new_ticket(db, clock)
    change_ticket(server, ticket_id, clock)
    loads = policy_cache.loads
    for _ in range(5):
        change_ticket(server, ticket_id, clock)
    assert policy_cache.loads == loads

    actions.update_sla_policy(
        db, policy=policy, targets={"normal": {"first_reply": 45}}, actor=None, clock=clock
    )
    db.commit()
    for _ in range(3):
        assert change_ticket(server, ticket_id, clock) == MONDAY_9 + timedelta(minutes=45)
    assert policy_cache.loads == loads + 1


def test_a_change_rolled_back_is_never_cached(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session], server: sessionmaker[Session]
) -> None:
    """The changing transaction sees its own change, but the version it bumped is not committed: a
    snapshot stored under it would be trusted for the different change that commits that version."""
    policy = actions.create_sla_policy(
        db, name="Default", targets={"normal": {"first_reply": 30}}, actor=None, clock=clock
    )
    ticket_id = new_ticket(db, clock)
    with session_factory() as editor:
        edited = editor.get_one(SlaPolicy, policy.id)
        actions.update_sla_policy(
            editor, policy=edited, targets={"normal": {"first_reply": 60}}, actor=None, clock=clock
        )
        applied = queries.applicable_policy(editor, editor.get_one(Ticket, ticket_id))
        assert applied is not None
        assert applied.targets["normal"]["first_reply"] == timedelta(minutes=60)
        editor.rollback()
    # Checked through the other engine, so nothing refreshes this engine's cache before the next change.
    assert change_ticket(server, ticket_id, clock) == MONDAY_9 + timedelta(minutes=30)

    actions.update_sla_policy(
        db, policy=policy, targets={"normal": {"first_reply": 90}}, actor=None, clock=clock
    )
    db.commit()
    assert change_ticket(session_factory, ticket_id, clock) == MONDAY_9 + timedelta(minutes=90)


def test_two_databases_at_the_same_version_never_share_a_snapshot(
    db: Session,
    clock: FixedClock,
    session_factory: sessionmaker[Session],
    other_database: Engine,
) -> None:
    there = make_session_factory(other_database)
    targets = {"normal": {"first_reply": 30}}
    actions.create_sla_policy(db, name="Here", targets=targets, actor=None, clock=clock)
    here_ticket = new_ticket(db, clock)
    with there() as session:
        actions.create_sla_policy(session, name="There", targets=targets, actor=None, clock=clock)
        there_ticket = new_ticket(session, clock)
        while read_version(session, SLA_CONFIG) != read_version(db, SLA_CONFIG):
            if read_version(session, SLA_CONFIG) < read_version(db, SLA_CONFIG):
                bump_version(session, SLA_CONFIG)
            else:
                bump_version(db, SLA_CONFIG)
        session.commit()
        db.commit()

    for _ in range(2):
        assert policy_applied(session_factory, here_ticket) == "Here"
        assert policy_applied(there, there_ticket) == "There"
