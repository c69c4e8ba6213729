"""success_opportunities: the contract term a won deal created or amended, and the CRM id of imported deals

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | Sequence[str] | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("success_opportunities") as batch:
        batch.add_column(sa.Column("won_subscription_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
        batch.create_foreign_key(
            "fk_success_opportunities_won_subscription",
            "success_subscriptions",
            ["won_subscription_id"],
            ["id"],
        )
        batch.create_unique_constraint("uq_success_opportunities_external_id", ["external_id"])


def downgrade() -> None:
    with op.batch_alter_table("success_opportunities") as batch:
        batch.drop_constraint("uq_success_opportunities_external_id", type_="unique")
        batch.drop_constraint(
            "fk_success_opportunities_won_subscription", type_="foreignkey"
        )
        batch.drop_column("external_id")
        batch.drop_column("won_subscription_id")
