"""full-text search over ticket subjects and message text

SQLite: FTS5 external-content tables kept current by triggers (rebuilt from existing rows here).
PostgreSQL: GIN indexes on to_tsvector expressions. The statements are copied from
opsdesk.desk.search at the time of writing, so this migration does not change when that module does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_subject_fts USING fts5(subject, content='tickets', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    'CREATE TRIGGER IF NOT EXISTS tickets_fts_insert AFTER INSERT ON tickets BEGIN INSERT INTO ticket_subject_fts(rowid, subject) VALUES (new.id, new.subject); END',
    "CREATE TRIGGER IF NOT EXISTS tickets_fts_delete AFTER DELETE ON tickets BEGIN INSERT INTO ticket_subject_fts(ticket_subject_fts, rowid, subject) VALUES ('delete', old.id, old.subject); END",
    "CREATE TRIGGER IF NOT EXISTS tickets_fts_update AFTER UPDATE OF subject ON tickets BEGIN INSERT INTO ticket_subject_fts(ticket_subject_fts, rowid, subject) VALUES ('delete', old.id, old.subject); INSERT INTO ticket_subject_fts(rowid, subject) VALUES (new.id, new.subject); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_text_fts USING fts5(body_text, content='messages', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    'CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN INSERT INTO message_text_fts(rowid, body_text) VALUES (new.id, new.body_text); END',
    "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN INSERT INTO message_text_fts(message_text_fts, rowid, body_text) VALUES ('delete', old.id, old.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF body_text ON messages BEGIN INSERT INTO message_text_fts(message_text_fts, rowid, body_text) VALUES ('delete', old.id, old.body_text); INSERT INTO message_text_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
]
SQLITE_REBUILD = [
    "INSERT INTO ticket_subject_fts(ticket_subject_fts) VALUES ('rebuild')",
    "INSERT INTO message_text_fts(message_text_fts) VALUES ('rebuild')",
]
POSTGRESQL = [
    "CREATE INDEX IF NOT EXISTS ix_tickets_subject_fts ON tickets USING gin (to_tsvector('english'::regconfig, subject))",
    "CREATE INDEX IF NOT EXISTS ix_messages_body_text_fts ON messages USING gin (to_tsvector('english'::regconfig, left(body_text, 100000)))",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE + SQLITE_REBUILD:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("tickets_fts_insert", "tickets_fts_delete", "tickets_fts_update",
                     "messages_fts_insert", "messages_fts_delete", "messages_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS ticket_subject_fts")
        op.execute("DROP TABLE IF EXISTS message_text_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_subject_fts")
        op.execute("DROP INDEX IF EXISTS ix_messages_body_text_fts")
