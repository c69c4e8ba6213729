"""Imported records: the source system's id of every user, organisation, group and ticket a history
import wrote, so re-running an import writes nothing twice

Revision ID: 0020
Revises: 0023
Create Date: 2026-12-03 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0020'
down_revision: str | Sequence[str] | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('imported_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('local_id', sa.Integer(), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_records')),
    sa.UniqueConstraint('source', 'kind', 'external_id', name=op.f('uq_imported_records_source_kind_external_id')),
    )
    op.create_index('ix_imported_records_local', 'imported_records', ['kind', 'local_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_imported_records_local', table_name='imported_records')
    op.drop_table('imported_records')
