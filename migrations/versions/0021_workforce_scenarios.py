"""workforce planning scenarios: assumptions and the output of each link of the planning chain

Revision ID: 0021
Revises: 0015
Create Date: 2026-12-03 17:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import opsdesk.core.database
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "workforce_scenarios",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("copied_from_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("build_ms", sa.Integer(), nullable=False),
        sa.Column("assumptions", _json(), nullable=False),
        sa.Column("chain", _json(), nullable=False),
        sa.Column("summary", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["copied_from_id"],
            ["workforce_scenarios.id"],
            name=op.f("fk_workforce_scenarios_copied_from_id_workforce_scenarios"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_workforce_scenarios_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_scenarios")),
    )


def downgrade() -> None:
    op.drop_table("workforce_scenarios")
