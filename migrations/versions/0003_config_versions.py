"""config versions: counters that tell each process when its cached configuration is stale

The "sla" row starts at 0; every write to SLA policies or business schedules bumps it
(opsdesk.core.config_versions).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:40:07.131109
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    config_versions = op.create_table('config_versions',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_config_versions'))
    )
    op.bulk_insert(config_versions, [{'name': 'sla', 'version': 0}])


def downgrade() -> None:
    op.drop_table('config_versions')
