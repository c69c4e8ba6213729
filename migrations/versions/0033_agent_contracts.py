"""workforce_agent_contracts: contracted minutes per week, for assigning named agents to schedule lines

Revision ID: 0033
Revises: 0029
Create Date: 2026-12-03 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import opsdesk.core.database
from alembic import op

revision: str = '0033'
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'workforce_agent_contracts',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('minutes_per_week', sa.Integer(), nullable=False),
        sa.Column('updated_at', opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )


def downgrade() -> None:
    op.drop_table('workforce_agent_contracts')
