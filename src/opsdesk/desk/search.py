"""Full-text search over ticket subjects and message text, in the database engine itself.

SQLite: FTS5 external-content tables kept in sync by triggers. PostgreSQL: GIN indexes on
``to_tsvector`` expressions, which the database keeps current with no triggers at all. The DDL is
attached to the tables' ``after_create`` so ``metadata.create_all`` builds it; ``search_ddl`` returns the
same statements for the Alembic migration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DDL, ColumnElement, Select, event, func, literal_column, or_, select, text
from sqlalchemy.orm import Session, selectinload

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.desk.access import messages_visible_to, visible_to
from opsdesk.desk.models import Message, Ticket

MAX_TERMS = 12
# PostgreSQL refuses a tsvector over 1 MB; indexing the first 100k characters of a message keeps every
# insert safe and loses nothing anyone searches for.
_PG_INDEXED_CHARS = 100_000
_PG_CONFIG = "'english'::regconfig"
_PG_MESSAGE_VECTOR = f"to_tsvector({_PG_CONFIG}, left(body_text, {_PG_INDEXED_CHARS}))"
_PG_SUBJECT_VECTOR = f"to_tsvector({_PG_CONFIG}, subject)"
_SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"

_SQLITE_TICKETS = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS ticket_subject_fts USING fts5("
    f"subject, content='tickets', content_rowid='id', tokenize='{_SQLITE_TOKENIZER}')",
    "CREATE TRIGGER IF NOT EXISTS tickets_fts_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO ticket_subject_fts(rowid, subject) VALUES (new.id, new.subject); END",
    "CREATE TRIGGER IF NOT EXISTS tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO ticket_subject_fts(ticket_subject_fts, rowid, subject) "
    "VALUES ('delete', old.id, old.subject); END",
    "CREATE TRIGGER IF NOT EXISTS tickets_fts_update AFTER UPDATE OF subject ON tickets BEGIN "
    "INSERT INTO ticket_subject_fts(ticket_subject_fts, rowid, subject) "
    "VALUES ('delete', old.id, old.subject); "
    "INSERT INTO ticket_subject_fts(rowid, subject) VALUES (new.id, new.subject); END",
]
_SQLITE_MESSAGES = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS message_text_fts USING fts5("
    f"body_text, content='messages', content_rowid='id', tokenize='{_SQLITE_TOKENIZER}')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO message_text_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO message_text_fts(message_text_fts, rowid, body_text) "
    "VALUES ('delete', old.id, old.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF body_text ON messages BEGIN "
    "INSERT INTO message_text_fts(message_text_fts, rowid, body_text) "
    "VALUES ('delete', old.id, old.body_text); "
    "INSERT INTO message_text_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
]
_PG_TICKETS = [
    f"CREATE INDEX IF NOT EXISTS ix_tickets_subject_fts ON tickets USING gin ({_PG_SUBJECT_VECTOR})"
]
_PG_MESSAGES = [
    f"CREATE INDEX IF NOT EXISTS ix_messages_body_text_fts ON messages USING gin ({_PG_MESSAGE_VECTOR})"
]
_SQLITE_DROP = {
    "tickets": ["DROP TABLE IF EXISTS ticket_subject_fts"],
    "messages": ["DROP TABLE IF EXISTS message_text_fts"],
}

_BY_DIALECT = {
    "sqlite": {"tickets": _SQLITE_TICKETS, "messages": _SQLITE_MESSAGES},
    "postgresql": {"tickets": _PG_TICKETS, "messages": _PG_MESSAGES},
}


def search_ddl(dialect: str) -> list[str]:
    """The statements that build the search index, in order, for an Alembic migration's upgrade()."""
    tables = _BY_DIALECT.get(dialect)
    if tables is None:
        raise ValueError(f"full-text search supports sqlite and postgresql, not {dialect}")
    return [*tables["tickets"], *tables["messages"]]


def _install() -> None:
    for name, table in (("tickets", Ticket.__table__), ("messages", Message.__table__)):
        for dialect, tables in _BY_DIALECT.items():
            for statement in tables[name]:
                event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
        for statement in _SQLITE_DROP[name]:
            event.listen(table, "before_drop", DDL(statement).execute_if(dialect="sqlite"))


_install()


def search_terms(q: str) -> list[tuple[str, bool]]:
    """Words of a query as (word, is_prefix); a trailing * asks for a prefix match. Operators are not
    passed through, so no input can be a syntax error in either engine."""
    terms: list[tuple[str, bool]] = []
    for match in re.finditer(r"(\w+)(\*?)", q):
        term = (match.group(1).lower(), bool(match.group(2)))
        if term not in terms:
            terms.append(term)
    if not terms:
        raise ValidationFailed("search needs at least one word", field="q")
    if len(terms) > MAX_TERMS:
        raise ValidationFailed(f"search takes at most {MAX_TERMS} words", field="q")
    return terms


def _matching_ids(session: Session, terms: list[tuple[str, bool]]) -> tuple[Select[Any], ColumnElement[bool]]:
    """A select of ticket ids whose subject matches, and a condition on Message rows whose text does."""
    if session.get_bind().dialect.name == "postgresql":
        query = " & ".join(f"{word}:*" if prefix else word for word, prefix in terms)
        tsquery = func.to_tsquery(literal_column(_PG_CONFIG), query)
        subject_ids = select(Ticket.id).where(literal_column(_PG_SUBJECT_VECTOR).op("@@")(tsquery))
        # Unqualified columns, spelled exactly as in the index expressions, so the planner uses the indexes.
        return subject_ids, literal_column(_PG_MESSAGE_VECTOR).op("@@")(tsquery)
    match = " ".join(f'"{word}"*' if prefix else f'"{word}"' for word, prefix in terms)
    subject_ids = (
        select(literal_column("rowid", type_=Ticket.id.type))
        .select_from(text("ticket_subject_fts"))
        .where(literal_column("ticket_subject_fts").op("MATCH")(match))
    )
    message_ids = (
        select(literal_column("rowid", type_=Message.id.type))
        .select_from(text("message_text_fts"))
        .where(literal_column("message_text_fts").op("MATCH")(match))
    )
    return subject_ids, Message.id.in_(message_ids)


@dataclass(frozen=True)
class SearchHit:
    ticket: Ticket
    matched_messages: int


def search_tickets(session: Session, *, user: User, q: str, limit: int = 50) -> list[SearchHit]:
    """Tickets ``user`` may see whose subject or a message they may read holds every word of ``q``,
    most recently updated first. Internal notes never make a ticket match for a requester."""
    subject_ids, message_match = _matching_ids(session, search_terms(q))
    hits_per_ticket = (
        select(Message.ticket_id, func.count(Message.id).label("hits"))
        .where(message_match, messages_visible_to(user))
        .group_by(Message.ticket_id)
        .subquery()
    )
    rows = session.execute(
        select(Ticket, func.coalesce(hits_per_ticket.c.hits, 0))
        .outerjoin(hits_per_ticket, hits_per_ticket.c.ticket_id == Ticket.id)
        .where(or_(Ticket.id.in_(subject_ids), hits_per_ticket.c.ticket_id.is_not(None)), visible_to(user))
        .options(selectinload(Ticket.tag_rows), selectinload(Ticket.requester))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(limit)
    ).all()
    return [SearchHit(ticket=ticket, matched_messages=int(hits)) for ticket, hits in rows]
