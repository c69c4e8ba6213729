"""job heartbeats and errors: a killed worker's job comes back within a minute; every failure is kept

``heartbeat_at`` is stamped by the worker while it runs the job (the queue re-queues a running job whose
stamp is older than WORKER_TTL); ``errors`` lists every failed attempt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsdesk.core.database

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('background_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('background_jobs', schema=None) as batch_op:
        batch_op.drop_column('errors')
        batch_op.drop_column('heartbeat_at')
