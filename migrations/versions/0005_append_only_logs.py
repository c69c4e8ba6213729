"""append-only logs: triggers refuse UPDATE and DELETE on events and audit_log (TRUNCATE too on PostgreSQL)

The statements are copied from opsdesk.core.append_only at the time of writing, so this migration does not
change when that module does.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('events', 'audit_log')
PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION opsdesk_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION USING ERRCODE = 'restrict_violation', "
    "MESSAGE = TG_TABLE_NAME || ' rows are append-only: ' || TG_OP || ' refused'; END $$"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(
                f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
                'FOR EACH STATEMENT EXECUTE FUNCTION opsdesk_refuse_rewrite()'
            )
            op.execute(
                f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} '
                'FOR EACH STATEMENT EXECUTE FUNCTION opsdesk_refuse_rewrite()'
            )
    elif dialect == 'sqlite':
        for table in TABLES:
            for verb in ('UPDATE', 'DELETE'):
                op.execute(
                    f'CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} '
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: {verb} refused'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        for table in TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}')
        op.execute('DROP FUNCTION IF EXISTS opsdesk_refuse_rewrite()')
    elif dialect == 'sqlite':
        for table in TABLES:
            for verb in ('update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS {table}_no_{verb}')
