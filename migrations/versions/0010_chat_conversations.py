"""chat conversations and their numbered entries: resume after a reconnect, store a resend once

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:33:28.896033
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chat_conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('waiting', 'active', 'ended', name='chat_state', native_enum=False, length=32), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('visitor_name', sa.String(length=200), nullable=False),
    sa.Column('visitor_email', sa.String(length=320), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('visitor_read_seq', sa.Integer(), nullable=False),
    sa.Column('agent_read_seq', sa.Integer(), nullable=False),
    sa.Column('visitor_online', sa.Boolean(), nullable=False),
    sa.Column('started_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_chat_conversations_agent_id_users')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_chat_conversations_group_id_groups')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_chat_conversations_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_conversations')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_chat_conversations_ticket_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_chat_conversations_token_hash'))
    )
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_conversations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_conversations_state'), ['state'], unique=False)

    op.create_table('chat_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.Enum('visitor', 'agent', name='chat_sender', native_enum=False, length=32), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('created_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['chat_conversations.id'], name=op.f('fk_chat_entries_conversation_id_chat_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_chat_entries_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_entries')),
    sa.UniqueConstraint('conversation_id', 'client_id', name=op.f('uq_chat_entries_conversation_id_client_id')),
    sa.UniqueConstraint('conversation_id', 'seq', name=op.f('uq_chat_entries_conversation_id_seq')),
    sa.UniqueConstraint('message_id', name=op.f('uq_chat_entries_message_id'))
    )


def downgrade() -> None:
    op.drop_table('chat_entries')
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_conversations_state'))
        batch_op.drop_index(batch_op.f('ix_chat_conversations_agent_id'))

    op.drop_table('chat_conversations')
