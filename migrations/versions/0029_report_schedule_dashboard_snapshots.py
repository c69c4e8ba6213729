"""weekly report schedule and sends, kpi_targets.webhook_event, dashboard_snapshots

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-03 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0029'
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'report_schedules',
        sa.Column('report', sa.String(length=20), nullable=False),
        sa.Column('recipients', opsdesk.core.database.JSONType, nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('active_since', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['updated_by_id'], ['users.id'], name=op.f('fk_report_schedules_updated_by_id_users'), ondelete='SET NULL'
        ),
        sa.PrimaryKeyConstraint('report', name=op.f('pk_report_schedules')),
    )
    op.create_table(
        'report_sends',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report', sa.String(length=20), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('recipients', opsdesk.core.database.JSONType, nullable=False),
        sa.Column('sent_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_sends')),
        sa.UniqueConstraint('report', 'week', name='uq_report_send_week'),
    )
    op.create_table(
        'dashboard_snapshots',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('board', sa.String(length=40), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('filtered', sa.Boolean(), nullable=False),
        sa.Column('reader_id', sa.Integer(), nullable=True),
        sa.Column('zone', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('computed_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('viewed_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['reader_id'], ['users.id'], name=op.f('fk_dashboard_snapshots_reader_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_dashboard_snapshots')),
    )
    op.create_index('ix_dashboard_snapshots_day', 'dashboard_snapshots', ['day'], unique=False)
    with op.batch_alter_table('kpi_targets') as batch:
        batch.add_column(sa.Column('webhook_event', sa.String(length=60), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('kpi_targets') as batch:
        batch.drop_column('webhook_event')
    op.drop_index('ix_dashboard_snapshots_day', table_name='dashboard_snapshots')
    op.drop_table('dashboard_snapshots')
    op.drop_table('report_sends')
    op.drop_table('report_schedules')
