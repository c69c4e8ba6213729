"""email: Cc recipients on a ticket; each inbound mail's raw bytes and its text before quotes were cut

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ticket_ccs',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('added_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_ccs_ticket_id_tickets'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'address', name=op.f('pk_ticket_ccs')),
    )
    op.create_table(
        'inbound_emails',
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('raw_key', sa.String(length=300), nullable=True),
        sa.Column('raw_size', sa.Integer(), nullable=False),
        sa.Column('full_text', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_inbound_emails_message_id_messages'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_inbound_emails')),
    )


def downgrade() -> None:
    op.drop_table('inbound_emails')
    op.drop_table('ticket_ccs')
