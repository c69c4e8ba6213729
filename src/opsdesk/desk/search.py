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

from sqlalchemy import (
    DDL,
    ColumnElement,
    Select,
    column,
    event,
    func,
    literal_column,
    select,
    table,
    union,
)
from sqlalchemy.orm import Session

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.desk.access import messages_visible_to, visible_to
from opsdesk.desk.models import Message, Ticket
from opsdesk.desk.queries import LIST_RELATIONS, MAX_ID, MAX_PAGE, decode_cursor, encode_cursor

MAX_TERMS = 12
MAX_QUERY_CHARS = 500
MAX_WORD_CHARS = 100
# Each way of matching (subject, conversation, requester) contributes at most its MATCH_CAP most recent
# tickets, so a common word costs what MATCH_CAP tickets cost however long the history; past that the
# count says "or more" and the reader narrows the search.
MATCH_CAP = 1000
MAX_PEOPLE = 200
_NUMBER = re.compile(r"\s*#?\s*(\d{1,10})\s*")
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
    for name, model_table in (("tickets", Ticket.__table__), ("messages", Message.__table__)):
        for dialect, tables in _BY_DIALECT.items():
            for statement in tables[name]:
                event.listen(model_table, "after_create", DDL(statement).execute_if(dialect=dialect))
        for statement in _SQLITE_DROP[name]:
            event.listen(model_table, "before_drop", DDL(statement).execute_if(dialect="sqlite"))


_install()


def clean_query(q: str) -> str:
    """What is searched for: NUL (which no column can hold) is a space, and at most MAX_QUERY_CHARS."""
    return q.replace("\x00", " ")[:MAX_QUERY_CHARS].strip()


def search_terms(q: str) -> list[tuple[str, bool]]:
    """Words of a query as (word, is_prefix); a trailing * asks for a prefix match. Operators are not
    passed through, so no input can be a syntax error in either engine. Underscores separate words,
    as both engines' tokenizers have it."""
    terms: list[tuple[str, bool]] = []
    for match in re.finditer(r"([^\W_]+)(\*?)", q):
        term = (match.group(1).lower(), bool(match.group(2)))
        if len(term[0]) > MAX_WORD_CHARS:
            raise ValidationFailed(f"search words are at most {MAX_WORD_CHARS} characters long", field="q")
        if term not in terms:
            terms.append(term)
    if not terms:
        raise ValidationFailed(
            "search needs at least one word, a ticket number or an email address", field="q"
        )
    if len(terms) > MAX_TERMS:
        raise ValidationFailed(f"search takes at most {MAX_TERMS} words", field="q")
    return terms


def ticket_number(q: str) -> int | None:
    """``123`` or ``#123``: a ticket number the query names."""
    match = _NUMBER.fullmatch(q)
    number = int(match.group(1)) if match else 0
    return number if 1 <= number <= MAX_ID else None


_SUBJECT_FTS = table("ticket_subject_fts", column("rowid"))
_MESSAGE_FTS = table("message_text_fts", column("rowid"))


def _sqlite_match(terms: list[tuple[str, bool]]) -> str:
    return " ".join(f'"{word}"*' if prefix else f'"{word}"' for word, prefix in terms)


def _pg_tsquery(terms: list[tuple[str, bool]]) -> ColumnElement[Any]:
    query = " & ".join(f"{word}:*" if prefix else word for word, prefix in terms)
    return func.to_tsquery(literal_column(_PG_CONFIG), query)


def _capped(query: Select[Any]) -> Select[Any]:
    """A source of matching ticket ids, its MATCH_CAP most recent; wrapped so a UNION may hold it."""
    inner = query.limit(MATCH_CAP).subquery()
    return select(inner.c.ticket_id)


def _text_sources(session: Session, user: User, terms: list[tuple[str, bool]]) -> list[Select[Any]]:
    """Tickets whose subject, or a message the reader may read, holds every word: read from the index,
    most recent matches first, never by walking the tickets."""
    visible, readable = visible_to(user), messages_visible_to(user)
    if session.get_bind().dialect.name == "postgresql":
        tsquery = _pg_tsquery(terms)
        # Unqualified columns, spelled exactly as in the index expressions, so the planner uses the indexes.
        subjects = (
            select(Ticket.id.label("ticket_id"))
            .where(literal_column(_PG_SUBJECT_VECTOR).op("@@")(tsquery), visible)
            .order_by(Ticket.id.desc())
        )
        messages = (
            select(Message.ticket_id.label("ticket_id"))
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(literal_column(_PG_MESSAGE_VECTOR).op("@@")(tsquery), readable, visible)
            .order_by(Message.id.desc())
        )
        return [_capped(subjects), _capped(messages)]
    match = _sqlite_match(terms)
    subjects = (
        select(Ticket.id.label("ticket_id"))
        .select_from(_SUBJECT_FTS)
        .join(Ticket, Ticket.id == _SUBJECT_FTS.c.rowid)
        .where(literal_column("ticket_subject_fts").op("MATCH")(match), visible)
        .order_by(_SUBJECT_FTS.c.rowid.desc())
    )
    messages = (
        select(Message.ticket_id.label("ticket_id"))
        .select_from(_MESSAGE_FTS)
        .join(Message, Message.id == _MESSAGE_FTS.c.rowid)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(literal_column("message_text_fts").op("MATCH")(match), readable, visible)
        .order_by(_MESSAGE_FTS.c.rowid.desc())
    )
    return [_capped(subjects), _capped(messages)]


def _people(q: str, terms: list[tuple[str, bool]]) -> Select[Any]:
    """Requesters the query names: by email (whole or its start) when it holds an @, else by every word
    appearing in the name."""
    if "@" in q:
        condition = User.email.istartswith(q.lower(), autoescape=True)
        return select(User.id).where(condition).limit(MAX_PEOPLE)
    query = select(User.id)
    for word, _prefix in terms:
        query = query.where(User.name.icontains(word, autoescape=True))
    return query.limit(MAX_PEOPLE)


@dataclass(frozen=True)
class SearchHit:
    ticket: Ticket
    matched_messages: int


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    total: int
    more: bool  # at least MATCH_CAP tickets match: ``total`` is a lower bound
    next_cursor: str | None


def search_tickets(
    session: Session, *, user: User, q: str, limit: int = 50, cursor: str | None = None
) -> SearchResults:
    """Tickets ``user`` may see that ``q`` names by number (``123``, ``#123``), by their requester's name
    or email, or by words in their subject or a message they may read; the named ticket first, then
    newest first. Internal notes never make a ticket match for a requester."""
    limit = max(1, min(limit, MAX_PAGE))
    q = clean_query(q)
    number = ticket_number(q)
    visible = visible_to(user)
    sources: list[Select[Any]] = []
    terms: list[tuple[str, bool]] = []
    if number is not None:
        sources.append(select(Ticket.id.label("ticket_id")).where(Ticket.id == number, visible))
    if number is None or "#" not in q:
        terms = search_terms(q)
        sources += _text_sources(session, user, terms)
        by_requester = (
            select(Ticket.id.label("ticket_id"))
            .where(Ticket.requester_id.in_(_people(q, terms)), visible)
            .order_by(Ticket.id.desc())
        )
        sources.append(_capped(by_requester))
    matches = union(*sources).subquery()
    total = int(session.scalar(select(func.count()).select_from(matches)) or 0)
    query = select(Ticket).where(Ticket.id.in_(select(matches.c.ticket_id)))
    if cursor:
        query = query.where(Ticket.id < decode_cursor(cursor))
        if number is not None:
            query = query.where(Ticket.id != number)
    first = (Ticket.id == number).desc() if number is not None else Ticket.id.desc()
    rows = list(
        session.scalars(query.options(*LIST_RELATIONS).order_by(first, Ticket.id.desc()).limit(limit + 1))
    )
    more_pages = len(rows) > limit
    tickets = rows[:limit]
    counts = _matched_messages(session, user, terms, [t.id for t in tickets]) if terms else {}
    return SearchResults(
        hits=[SearchHit(ticket=t, matched_messages=counts.get(t.id, 0)) for t in tickets],
        total=total,
        more=total >= MATCH_CAP,
        next_cursor=encode_cursor(_cursor_id(tickets, number)) if more_pages else None,
    )


def _cursor_id(tickets: list[Ticket], number: int | None) -> int:
    """Where the next page starts: below the oldest ticket shown other than the named one, which came
    first out of order."""
    rest = [t.id for t in tickets if t.id != number]
    return min(rest) if rest else tickets[-1].id


def _matched_messages(
    session: Session, user: User, terms: list[tuple[str, bool]], ticket_ids: list[int]
) -> dict[int, int]:
    """How many messages the reader may read match, for the tickets on this page only."""
    if not ticket_ids:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        matching: ColumnElement[bool] = literal_column(_PG_MESSAGE_VECTOR).op("@@")(_pg_tsquery(terms))
    else:
        matching = (
            select(_MESSAGE_FTS.c.rowid)
            .where(
                literal_column("message_text_fts").op("MATCH")(_sqlite_match(terms)),
                _MESSAGE_FTS.c.rowid == Message.id,
            )
            .exists()
        )
    rows = session.execute(
        select(Message.ticket_id, func.count())
        .where(Message.ticket_id.in_(ticket_ids), messages_visible_to(user), matching)
        .group_by(Message.ticket_id)
    )
    return {int(ticket_id): int(n) for ticket_id, n in rows}
