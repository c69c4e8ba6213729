"""kpi targets: a band per KPI for the desk, a site or a group, and its open excursion

Revision ID: 0025
Revises: 0026
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0025'
down_revision: str | Sequence[str] | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'kpi_targets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=60), nullable=False),
        sa.Column('stat', sa.String(length=10), nullable=False),
        sa.Column('sla_target', sa.String(length=20), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('scope_name', sa.String(length=200), nullable=False),
        sa.Column('low', sa.Double(), nullable=True),
        sa.Column('high', sa.Double(), nullable=True),
        sa.Column('notify', sa.String(length=254), nullable=False),
        sa.Column('breached_since', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column('breached_value', sa.Double(), nullable=True),
        sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_targets')),
        sa.UniqueConstraint('metric', 'stat', 'sla_target', 'scope', 'scope_name', name='uq_kpi_target'),
    )


def downgrade() -> None:
    op.drop_table('kpi_targets')
