"""CSAT and NPS surveys: ticket ratings, the survey sent after solving and opt-outs; NPS schedules per
segment and the invitations whose signed links record a contact's response

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:34:36.225408
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsdesk.core.database

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('success_nps_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('every_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['success_segments.id'], name=op.f('fk_success_nps_schedules_segment_id_success_segments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_success_nps_schedules')),
    sa.UniqueConstraint('segment_id', name=op.f('uq_success_nps_schedules_segment_id'))
    )
    op.create_table('csat_opt_outs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_csat_opt_outs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_csat_opt_outs'))
    )
    op.create_table('csat_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('scale', sa.Enum('good_bad', 'one_to_five', name='csat_scale', native_enum=False, length=32), nullable=False),
    sa.Column('rating', sa.Enum('good', 'bad', name='csat_rating', native_enum=False, length=32), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('via', sa.Enum('email', 'chat', 'api', name='csat_via', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_csat_ratings_requester_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_csat_ratings_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csat_ratings')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_csat_ratings_ticket_id'))
    )
    with op.batch_alter_table('csat_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csat_ratings_updated_at'), ['updated_at'], unique=False)

    op.create_table('csat_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('to', sa.String(length=320), nullable=True),
    sa.Column('scale', sa.Enum('good_bad', 'one_to_five', name='csat_scale', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', 'skipped', name='csat_survey_status', native_enum=False, length=32), nullable=False),
    sa.Column('skip_reason', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_csat_surveys_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csat_surveys')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_csat_surveys_ticket_id'))
    )
    with op.batch_alter_table('csat_surveys', schema=None) as batch_op:
        batch_op.create_index('ix_csat_surveys_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('success_nps_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('to', sa.String(length=320), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='nps_invitation_status', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['success_accounts.id'], name=op.f('fk_success_nps_invitations_account_id_success_accounts')),
    sa.ForeignKeyConstraint(['contact_id'], ['success_contacts.id'], name=op.f('fk_success_nps_invitations_contact_id_success_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_success_nps_invitations'))
    )
    with op.batch_alter_table('success_nps_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_success_nps_invitations_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_success_nps_invitations_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_success_nps_invitations_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('success_nps_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_success_nps_responses_invitation_id'), ['invitation_id'])
        batch_op.create_foreign_key(batch_op.f('fk_success_nps_responses_invitation_id_success_nps_invitations'), 'success_nps_invitations', ['invitation_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('success_nps_responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_success_nps_responses_invitation_id_success_nps_invitations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_success_nps_responses_invitation_id'), type_='unique')
        batch_op.drop_column('invitation_id')

    with op.batch_alter_table('success_nps_invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_success_nps_invitations_due')
        batch_op.drop_index(batch_op.f('ix_success_nps_invitations_contact_id'))
        batch_op.drop_index(batch_op.f('ix_success_nps_invitations_account_id'))

    op.drop_table('success_nps_invitations')
    with op.batch_alter_table('csat_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_csat_surveys_due')

    op.drop_table('csat_surveys')
    with op.batch_alter_table('csat_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csat_ratings_updated_at'))

    op.drop_table('csat_ratings')
    op.drop_table('csat_opt_outs')
    op.drop_table('success_nps_schedules')
