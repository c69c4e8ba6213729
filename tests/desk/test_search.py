"""Full-text search on the engine's own index (FTS5 on SQLite, tsvector + GIN on PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Role, Tier, User
from opsdesk.desk import actions, search
from opsdesk.desk.models import AuthorKind, Channel, Message, Ticket
from tests.factories import make_user


def ticket(db: Session, clock: FixedClock, requester: User, subject: str, body: str, **kw: object) -> Ticket:
    return actions.create_ticket(
        db,
        requester=requester,
        subject=subject,
        body_text=body,
        channel=Channel.EMAIL,
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


def numbers(db: Session, user: User, q: str) -> list[int]:
    return [hit.ticket.id for hit in search.search_tickets(db, user=user, q=q).hits]


@pytest.fixture
def world(db: Session, clock: FixedClock) -> dict[str, User]:
    org = core_actions.create_organisation(db, name="Acme", clock=clock)
    return {
        "agent": make_user(db, clock, Role.AGENT, tier=Tier.L1, email="agent@desk.test", password=None),
        "pat": make_user(db, clock, Role.REQUESTER, email="pat@acme.test", organisation=org, password=None),
        "kim": make_user(db, clock, Role.REQUESTER, email="kim@acme.test", organisation=org, password=None),
    }


def test_subjects_and_message_text_match_with_stemming_and_prefixes(
    db: Session, clock: FixedClock, world: dict[str, User]
) -> None:
    agent, pat = world["agent"], world["pat"]
    refund = ticket(db, clock, pat, "Refund for order 1234", "I was charged twice")
    login = ticket(db, clock, pat, "Cannot sign in", "The password reset email never arrives")
    db.commit()
    assert numbers(db, agent, "refunds") == [refund.id]
    assert numbers(db, agent, "charged twice") == [refund.id]
    assert numbers(db, agent, "password emails") == [login.id]
    assert numbers(db, agent, "passw*") == [login.id]
    assert numbers(db, agent, "refund password") == []
    assert numbers(db, agent, "1234") == [refund.id]
    hits = search.search_tickets(db, user=agent, q="charged").hits
    assert hits[0].matched_messages == 1


def test_the_index_follows_new_messages_and_subject_changes(
    db: Session, clock: FixedClock, world: dict[str, User]
) -> None:
    agent, pat = world["agent"], world["pat"]
    t = ticket(db, clock, pat, "Printer jam", "paper stuck")
    actions.add_message(
        db, ticket=t, author=agent, author_kind=AuthorKind.AGENT, public=True, channel=Channel.WEB,
        clock=clock, body_text="Try the firmware upgrade",
    )  # fmt: skip
    db.commit()
    assert numbers(db, agent, "firmware") == [t.id]
    t.subject = "Scanner calibration"
    message = db.get_one(Message, t.messages[0].id)
    message.body_text = "lens smudged"
    db.commit()
    assert numbers(db, agent, "printer") == []
    assert numbers(db, agent, "scanner") == [t.id]
    assert numbers(db, agent, "smudged") == [t.id]
    assert numbers(db, agent, "stuck") == []
    db.delete(t)
    db.commit()
    assert numbers(db, agent, "scanner firmware") == []


def test_requesters_find_only_their_tickets_and_never_through_internal_notes(
    db: Session, clock: FixedClock, world: dict[str, User]
) -> None:
    agent, pat, kim = world["agent"], world["pat"], world["kim"]
    own = ticket(db, clock, pat, "Billing question", "invoice 77")
    ticket(db, clock, kim, "Billing mistake", "invoice 78")
    actions.add_message(
        db, ticket=own, author=agent, author_kind=AuthorKind.AGENT, public=False, channel=Channel.WEB,
        clock=clock, body_text="customer is on the fraud watchlist",
    )  # fmt: skip
    db.commit()
    assert numbers(db, pat, "billing") == [own.id]
    assert numbers(db, pat, "watchlist") == []
    assert numbers(db, agent, "watchlist") == [own.id]


def test_sensitive_tickets_are_found_only_by_those_who_may_see_them(
    db: Session, clock: FixedClock, world: dict[str, User]
) -> None:
    agent, pat = world["agent"], world["pat"]
    clinical = core_actions.create_group(db, name="Clinical", sensitive_access=True)
    nurse = make_user(db, clock, Role.AGENT, tier=Tier.L2, email="nurse@desk.test", password=None)
    core_actions.add_to_group(db, group=clinical, user=nurse, clock=clock)
    secret = ticket(db, clock, pat, "Diagnosis letter", "oncology referral", sensitive=True)
    db.commit()
    assert numbers(db, agent, "oncology") == []
    assert numbers(db, nurse, "oncology") == [secret.id]
    assert numbers(db, pat, "oncology") == [secret.id]


@pytest.mark.parametrize(
    "q", ['"unbalanced', "a OR", "NEAR(", "col:val", "-x", "'; DROP TABLE tickets; --", "*", "ü"]
)
def test_operators_and_quotes_are_plain_words(
    db: Session, clock: FixedClock, world: dict[str, User], q: str
) -> None:
    try:
        search.search_tickets(db, user=world["agent"], q=q)
    except ValidationFailed as exc:
        assert exc.field == "q"


def test_a_query_needs_words_and_not_too_many(db: Session, world: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed):
        search.search_tickets(db, user=world["agent"], q="  !!! ")
    with pytest.raises(ValidationFailed):
        search.search_tickets(db, user=world["agent"], q=" ".join(f"w{i}" for i in range(20)))


def test_the_index_ddl_is_what_create_all_built(engine: Engine) -> None:
    statements = search.search_ddl(engine.dialect.name)
    assert statements
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names = set(conn.scalars(text("SELECT name FROM sqlite_master")))
            assert {
                "ticket_subject_fts",
                "message_text_fts",
                "messages_fts_insert",
                "tickets_fts_update",
            } <= names
        else:
            names = set(
                conn.scalars(
                    text("SELECT indexname FROM pg_indexes WHERE tablename IN ('tickets','messages')")
                )
            )
            assert {"ix_tickets_subject_fts", "ix_messages_body_text_fts"} <= names
    with pytest.raises(ValueError):
        search.search_ddl("mysql")
