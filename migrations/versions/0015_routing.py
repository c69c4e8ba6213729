"""routing: presence, capacity, skills, queue, site shifts, hand-overs

Revision ID: 0015
Revises: 0024
Create Date: 2026-12-03 16:49:17.448220
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('routing_languages',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_routing_languages'))
    )
    op.create_table('routing_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('choice', sa.Enum('spare_capacity', 'round_robin', name='routing_choice', native_enum=False, length=32), nullable=False),
    sa.Column('skill_timeout_seconds', sa.Integer(), nullable=True),
    sa.Column('auto_away_seconds', sa.Integer(), nullable=False),
    sa.Column('default_capacity', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('default_language', sa.String(length=16), nullable=True),
    sa.Column('updated_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_settings'))
    )
    op.create_table('routing_skills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('match_tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_skills')),
    sa.UniqueConstraint('name', name=op.f('uq_routing_skills_name'))
    )
    op.create_table('routing_sites',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('on_shift', sa.Boolean(), nullable=False),
    sa.Column('checked_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['schedule_id'], ['business_schedules.id'], name=op.f('fk_routing_sites_schedule_id_business_schedules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_routing_sites_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_routing_sites'))
    )
    op.create_table('agent_presence',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('online', 'away', 'offline', name='presence_status', native_enum=False, length=32), nullable=False),
    sa.Column('on_call', sa.Boolean(), nullable=False),
    sa.Column('in_chats', sa.Boolean(), nullable=False),
    sa.Column('since', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_assigned_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('capacity', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_presence_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_presence'))
    )
    with op.batch_alter_table('agent_presence', schema=None) as batch_op:
        batch_op.create_index('ix_agent_presence_status', ['status'], unique=False)

    op.create_table('agent_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_shifts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_shifts'))
    )
    with op.batch_alter_table('agent_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_agent_shifts_user_start', ['user_id', 'starts_at'], unique=False)

    op.create_table('routing_groups',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('choice', sa.Enum('spare_capacity', 'round_robin', name='routing_choice', native_enum=False, length=32), nullable=True),
    sa.Column('last_agent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_routing_groups_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_agent_id'], ['users.id'], name=op.f('fk_routing_groups_last_agent_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_routing_groups'))
    )
    op.create_table('routing_handovers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('from_site_id', sa.Integer(), nullable=False),
    sa.Column('to_site_id', sa.Integer(), nullable=True),
    sa.Column('from_agent_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['from_agent_id'], ['users.id'], name=op.f('fk_routing_handovers_from_agent_id_users')),
    sa.ForeignKeyConstraint(['from_site_id'], ['sites.id'], name=op.f('fk_routing_handovers_from_site_id_sites')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_routing_handovers_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_site_id'], ['sites.id'], name=op.f('fk_routing_handovers_to_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_handovers'))
    )
    with op.batch_alter_table('routing_handovers', schema=None) as batch_op:
        batch_op.create_index('ix_routing_handovers_from_at', ['from_site_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_handovers_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('routing_queue',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('queued_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('previous_assignee_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['previous_assignee_id'], ['users.id'], name=op.f('fk_routing_queue_previous_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_routing_queue_site_id_sites'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_routing_queue_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_routing_queue'))
    )


def downgrade() -> None:
    op.drop_table('routing_queue')
    with op.batch_alter_table('routing_handovers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_handovers_ticket_id'))
        batch_op.drop_index('ix_routing_handovers_from_at')

    op.drop_table('routing_handovers')
    op.drop_table('routing_groups')
    with op.batch_alter_table('agent_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_shifts_user_start')

    op.drop_table('agent_shifts')
    with op.batch_alter_table('agent_presence', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_presence_status')

    op.drop_table('agent_presence')
    op.drop_table('routing_sites')
    op.drop_table('routing_skills')
    op.drop_table('routing_settings')
    op.drop_table('routing_languages')
