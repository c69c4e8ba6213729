"""quality assurance: rubrics and their versions, reviews and ratings, disputes, coaching, calibration

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:40:40.241472
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import opsdesk.core.database

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('qa_rubrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_rubrics')),
    sa.UniqueConstraint('name', name=op.f('uq_qa_rubrics_name'))
    )
    op.create_table('qa_rubric_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_qa_rubric_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['rubric_id'], ['qa_rubrics.id'], name=op.f('fk_qa_rubric_versions_rubric_id_qa_rubrics')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_rubric_versions')),
    sa.UniqueConstraint('rubric_id', 'version', name=op.f('uq_qa_rubric_versions_rubric_id_version'))
    )
    op.create_table('qa_calibration_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_qa_calibration_sessions_created_by_id_users')),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['qa_rubric_versions.id'], name=op.f('fk_qa_calibration_sessions_rubric_version_id_qa_rubric_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_calibration_sessions'))
    )
    op.create_table('qa_calibration_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('agreed_score', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_qa_calibration_items_agent_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['qa_calibration_sessions.id'], name=op.f('fk_qa_calibration_items_session_id_qa_calibration_sessions')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_qa_calibration_items_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_calibration_items')),
    sa.UniqueConstraint('session_id', 'ticket_id', 'agent_id', name=op.f('uq_qa_calibration_items_session_id_ticket_id_agent_id'))
    )
    with op.batch_alter_table('qa_calibration_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_calibration_items_session_id'), ['session_id'], unique=False)

    op.create_table('qa_calibration_participants',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_qa_calibration_participants_reviewer_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['qa_calibration_sessions.id'], name=op.f('fk_qa_calibration_participants_session_id_qa_calibration_sessions')),
    sa.PrimaryKeyConstraint('session_id', 'reviewer_id', name=op.f('pk_qa_calibration_participants'))
    )
    op.create_table('qa_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('calibration_session_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('corrected_score', sa.Float(), nullable=True),
    sa.Column('corrected', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_qa_reviews_agent_id_users')),
    sa.ForeignKeyConstraint(['calibration_session_id'], ['qa_calibration_sessions.id'], name=op.f('fk_qa_reviews_calibration_session_id_qa_calibration_sessions')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_qa_reviews_reviewer_id_users')),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['qa_rubric_versions.id'], name=op.f('fk_qa_reviews_rubric_version_id_qa_rubric_versions')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_qa_reviews_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_reviews')),
    sa.UniqueConstraint('ticket_id', 'agent_id', 'reviewer_id', 'calibration_session_id', name=op.f('uq_qa_reviews_ticket_id_agent_id_reviewer_id_calibration_session_id'))
    )
    with op.batch_alter_table('qa_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_qa_reviews_agent', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index('ix_qa_reviews_reviewer', ['reviewer_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_reviews_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('qa_coaching',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('note', 'goal', name='qa_coaching_kind', native_enum=False, length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('target_iqs', sa.Float(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('met_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_qa_coaching_agent_id_users')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_qa_coaching_author_id_users')),
    sa.ForeignKeyConstraint(['review_id'], ['qa_reviews.id'], name=op.f('fk_qa_coaching_review_id_qa_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_coaching'))
    )
    with op.batch_alter_table('qa_coaching', schema=None) as batch_op:
        batch_op.create_index('ix_qa_coaching_agent', ['agent_id', 'created_at'], unique=False)

    op.create_table('qa_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('category_key', sa.String(length=80), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('opened_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'accepted', 'rejected', name='qa_dispute_status', native_enum=False, length=32), nullable=False),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=False),
    sa.Column('corrections', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_qa_disputes_opened_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_qa_disputes_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['review_id'], ['qa_reviews.id'], name=op.f('fk_qa_disputes_review_id_qa_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_disputes'))
    )
    with op.batch_alter_table('qa_disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_disputes_review_id'), ['review_id'], unique=False)
        batch_op.create_index('ix_qa_disputes_status', ['status', 'opened_at'], unique=False)

    op.create_table('qa_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('category_key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['qa_reviews.id'], name=op.f('fk_qa_ratings_review_id_qa_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_ratings')),
    sa.UniqueConstraint('review_id', 'category_key', name=op.f('uq_qa_ratings_review_id_category_key'))
    )


def downgrade() -> None:
    op.drop_table('qa_ratings')
    with op.batch_alter_table('qa_disputes', schema=None) as batch_op:
        batch_op.drop_index('ix_qa_disputes_status')
        batch_op.drop_index(batch_op.f('ix_qa_disputes_review_id'))

    op.drop_table('qa_disputes')
    with op.batch_alter_table('qa_coaching', schema=None) as batch_op:
        batch_op.drop_index('ix_qa_coaching_agent')

    op.drop_table('qa_coaching')
    with op.batch_alter_table('qa_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_reviews_ticket_id'))
        batch_op.drop_index('ix_qa_reviews_reviewer')
        batch_op.drop_index('ix_qa_reviews_agent')

    op.drop_table('qa_reviews')
    op.drop_table('qa_calibration_participants')
    with op.batch_alter_table('qa_calibration_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_calibration_items_session_id'))

    op.drop_table('qa_calibration_items')
    op.drop_table('qa_calibration_sessions')
    op.drop_table('qa_rubric_versions')
    op.drop_table('qa_rubrics')
