"""ticket sla_check_at: when the periodic SLA check looks again, on the ticket row

It replaces the sla_checks table: every ticket change already UPDATEs the ticket row (and a creation
INSERTs it), so the check time rides along instead of costing an upsert of its own per change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_check_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_tickets_sla_check', ['sla_check_at'], unique=False)
    op.execute(
        "UPDATE tickets SET sla_check_at = "
        "(SELECT sla_checks.due_at FROM sla_checks WHERE sla_checks.ticket_id = tickets.id)"
    )
    with op.batch_alter_table('sla_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_checks_due_at'))
    op.drop_table('sla_checks')


def downgrade() -> None:
    op.create_table('sla_checks',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('due_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sla_checks_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_sla_checks'))
    )
    with op.batch_alter_table('sla_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_checks_due_at'), ['due_at'], unique=False)
    op.execute(
        "INSERT INTO sla_checks (ticket_id, due_at) "
        "SELECT id, sla_check_at FROM tickets WHERE sla_check_at IS NOT NULL"
    )
    op.drop_index('ix_tickets_sla_check', table_name='tickets')
    # A native DROP COLUMN (SQLite 3.35 and later), not a batch rebuild: on SQLite a rebuild drops the
    # old tickets table, and the foreign keys' ON DELETE CASCADE would take messages and tags with it.
    op.execute("ALTER TABLE tickets DROP COLUMN sla_check_at")
