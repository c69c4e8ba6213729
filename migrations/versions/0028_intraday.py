"""intraday: the day's baseline forecast per channel and the re-forecast at each 15-minute tick

Revision ID: 0028
Revises: 0025
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import opsdesk.core.database

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "workforce_intraday_baselines",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("origin", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("made_at", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("forecast", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_intraday_baselines")),
        sa.UniqueConstraint("channel", "origin", name="uq_intraday_baseline"),
    )
    op.create_table(
        "workforce_intraday_reforecasts",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("at", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("window_actual", sa.Double(), nullable=False),
        sa.Column("window_forecast", sa.Double(), nullable=False),
        sa.Column("ratio", sa.Double(), nullable=False),
        sa.Column("computed_at", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workforce_intraday_reforecasts")),
        sa.UniqueConstraint("at", "channel", name="uq_intraday_reforecast"),
    )
    op.create_index("ix_workforce_intraday_reforecasts_at", "workforce_intraday_reforecasts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_workforce_intraday_reforecasts_at", table_name="workforce_intraday_reforecasts")
    op.drop_table("workforce_intraday_reforecasts")
    op.drop_table("workforce_intraday_baselines")
