"""lifecycle: an owner per phase of an account, hand-off checklists per stage transition

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import opsdesk.core.database

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = ("implementation", "launch", "adoption", "renewal", "churned")


def _stage(name: str) -> sa.Column:
    return sa.Column(
        name, sa.Enum(*STAGES, name="account_stage", native_enum=False, length=32), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "success_phase_owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "phase",
            sa.Enum(
                "implementation",
                "post_launch",
                "renewal",
                name="lifecycle_phase",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["success_accounts.id"],
            name=op.f("fk_success_phase_owners_account_id_success_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_success_phase_owners_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_phase_owners")),
        sa.UniqueConstraint("account_id", "phase", name=op.f("uq_success_phase_owners_account_id_phase")),
    )
    op.create_index(
        op.f("ix_success_phase_owners_user_id"), "success_phase_owners", ["user_id"], unique=False
    )
    op.create_table(
        "success_handoff_checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        _stage("from_stage"),
        _stage("to_stage"),
        sa.Column(
            "items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", opsdesk.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_success_handoff_checklists_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_handoff_checklists")),
        sa.UniqueConstraint(
            "from_stage", "to_stage", name=op.f("uq_success_handoff_checklists_from_stage_to_stage")
        ),
    )


def downgrade() -> None:
    op.drop_table("success_handoff_checklists")
    op.drop_index(op.f("ix_success_phase_owners_user_id"), table_name="success_phase_owners")
    op.drop_table("success_phase_owners")
