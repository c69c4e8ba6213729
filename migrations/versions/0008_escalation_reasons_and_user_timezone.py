"""escalation reasons on the ticket row, and the zone a user's pages show times in

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Native ADD COLUMN, no batch rebuild: on SQLite a rebuild drops the old tickets table, and the
    # foreign keys' ON DELETE CASCADE would take messages and tags with it.
    op.add_column('tickets', sa.Column('escalation_reason', sa.String(length=2000), nullable=True))
    op.add_column('tickets', sa.Column('return_reason', sa.String(length=2000), nullable=True))
    op.add_column('users', sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Native DROP COLUMN (SQLite 3.35 and later), for the same reason.
    op.execute("ALTER TABLE users DROP COLUMN timezone")
    op.execute("ALTER TABLE tickets DROP COLUMN return_reason")
    op.execute("ALTER TABLE tickets DROP COLUMN escalation_reason")
