"""success_covered_lives: each account's covered lives per month, backfilled with today's lives from
the month the account was created

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 15:10:00
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | Sequence[str] | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    history = op.create_table(
        "success_covered_lives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("covered_lives", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["success_accounts.id"],
            name=op.f("fk_success_covered_lives_account_id_success_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_covered_lives")),
        sa.UniqueConstraint("account_id", "month", name=op.f("uq_success_covered_lives_account_id_month")),
    )
    op.create_index(
        op.f("ix_success_covered_lives_account_id"), "success_covered_lives", ["account_id"], unique=False
    )
    accounts = sa.table(
        "success_accounts", sa.column("id"), sa.column("created_at"), sa.column("covered_lives")
    )
    rows = op.get_bind().execute(sa.select(accounts.c.id, accounts.c.created_at, accounts.c.covered_lives))
    # created_at is text on SQLite and a timestamp on PostgreSQL: both print as YYYY-MM-...
    backfill = [
        {
            "account_id": account_id,
            "month": date(int(str(created)[:4]), int(str(created)[5:7]), 1),
            "covered_lives": lives or 0,
        }
        for account_id, created, lives in rows
    ]
    if backfill:
        op.bulk_insert(history, backfill)


def downgrade() -> None:
    op.drop_index(op.f("ix_success_covered_lives_account_id"), table_name="success_covered_lives")
    op.drop_table("success_covered_lives")
