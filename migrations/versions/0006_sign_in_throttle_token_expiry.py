"""sign-in throttle and API token expiry

sign_in_throttle counts sign-in attempts per account and per client address, shared by every web
worker; api_tokens.expires_at ends a token at a time of its own.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sign_in_throttle',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('window_start', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttle'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # A native DROP COLUMN, not a batch rebuild (see 0004).
    op.execute("ALTER TABLE api_tokens DROP COLUMN expires_at")
    op.drop_table('sign_in_throttle')
