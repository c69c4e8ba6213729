"""outbound_emails.batched_message_ids: chat replies to a visitor who left, sent together in one mail

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-03 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0024'
down_revision: str | Sequence[str] | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_emails') as batch:
        batch.add_column(
            sa.Column(
                'batched_message_ids',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=False,
                server_default='[]',
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('outbound_emails') as batch:
        batch.drop_column('batched_message_ids')
