"""time_off_requests, schedule_feed_tokens, shift_swaps, agent_shifts.absence (time off beside shifts)

Revision ID: 0026
Revises: 0016
Create Date: 2026-12-03 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import opsdesk.core.database
from alembic import op

revision: str = '0026'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'time_off_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column(
            'kind',
            sa.Enum('vacation', 'sick', 'training', name='time_off_kind', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column('starts_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column(
            'status',
            sa.Enum('pending', 'approved', 'rejected', name='time_off_status', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column('requested_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_time_off_requests_user_start', 'time_off_requests', ['user_id', 'starts_at'])
    op.create_index(op.f('ix_time_off_requests_status'), 'time_off_requests', ['status'])
    op.create_table(
        'schedule_feed_tokens',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
        sa.UniqueConstraint('token_sha256'),
    )
    with op.batch_alter_table('agent_shifts') as batch:
        batch.add_column(sa.Column('absence', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'shift_swaps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shift_id', sa.Integer(), nullable=False),
        sa.Column('from_user_id', sa.Integer(), nullable=False),
        sa.Column('to_user_id', sa.Integer(), nullable=False),
        sa.Column(
            'status',
            sa.Enum(
                'offered', 'accepted', 'approved', 'rejected', name='swap_status', native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column('offered_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['shift_id'], ['agent_shifts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_shift_swaps_shift_id'), 'shift_swaps', ['shift_id'])
    op.create_index(op.f('ix_shift_swaps_to_user_id'), 'shift_swaps', ['to_user_id'])
    op.create_index(op.f('ix_shift_swaps_status'), 'shift_swaps', ['status'])


def downgrade() -> None:
    op.drop_table('shift_swaps')
    with op.batch_alter_table('agent_shifts') as batch:
        batch.drop_column('absence')
    op.drop_table('schedule_feed_tokens')
    op.drop_index(op.f('ix_time_off_requests_status'), table_name='time_off_requests')
    op.drop_index('ix_time_off_requests_user_start', table_name='time_off_requests')
    op.drop_table('time_off_requests')
