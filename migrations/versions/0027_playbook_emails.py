"""playbook emails sent: the approval flag on templates and tasks, the task's recipient, the outbound
queue of task emails, and the Message-ID each inbound mail answers

Revision ID: 0027
Revises: 0030
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0027'
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('success_task_templates') as batch:
        batch.add_column(
            sa.Column('email_needs_approval', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table('success_tasks') as batch:
        batch.add_column(sa.Column('email_to', sa.String(length=320), nullable=True))
        batch.add_column(
            sa.Column('email_needs_approval', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        'success_task_emails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('episode_id', sa.Integer(), nullable=True),
        sa.Column('to', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('from_name', sa.String(length=200), nullable=False),
        sa.Column('rfc_message_id', sa.String(length=500), nullable=True),
        sa.Column('in_reply_to', sa.String(length=500), nullable=True),
        sa.Column('references', sa.Text(), nullable=False),
        sa.Column(
            'status',
            sa.Enum('pending', 'sent', 'failed', name='task_email_status', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['task_id'], ['success_tasks.id'],
            name=op.f('fk_success_task_emails_task_id_success_tasks'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['account_id'], ['success_accounts.id'],
            name=op.f('fk_success_task_emails_account_id_success_accounts'),
        ),
        sa.ForeignKeyConstraint(
            ['episode_id'], ['success_playbook_episodes.id'],
            name=op.f('fk_success_task_emails_episode_id_success_playbook_episodes'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['approved_by_id'], ['users.id'], name=op.f('fk_success_task_emails_approved_by_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_success_task_emails')),
        sa.UniqueConstraint('rfc_message_id', name=op.f('uq_success_task_emails_rfc_message_id')),
    )
    with op.batch_alter_table('success_task_emails') as batch:
        batch.create_index(batch.f('ix_success_task_emails_task_id'), ['task_id'], unique=False)
        batch.create_index(batch.f('ix_success_task_emails_account_id'), ['account_id'], unique=False)
        batch.create_index('ix_success_task_emails_due', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('inbound_emails') as batch:
        batch.add_column(sa.Column('in_reply_to', sa.String(length=500), nullable=True))
        batch.create_index(batch.f('ix_inbound_emails_in_reply_to'), ['in_reply_to'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_emails') as batch:
        batch.drop_index(batch.f('ix_inbound_emails_in_reply_to'))
        batch.drop_column('in_reply_to')
    op.drop_table('success_task_emails')
    with op.batch_alter_table('success_tasks') as batch:
        batch.drop_column('email_needs_approval')
        batch.drop_column('email_to')
    with op.batch_alter_table('success_task_templates') as batch:
        batch.drop_column('email_needs_approval')
