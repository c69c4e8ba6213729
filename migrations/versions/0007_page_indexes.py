"""indexes that keep pages' cost independent of history

tickets (assignee_id, id): "My tickets" walks only the agent's tickets, newest first, instead of the
primary key. tickets (solved_at): tickets solved per day reads the last four weeks, not the table.
tickets (sensitive) goes: nearly every ticket holds the same value, and SQLite chose it for every
staff list over the selective index beside it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain CREATE INDEX, not batch mode: a SQLite table rebuild would drop the search triggers.
    op.create_index('ix_tickets_assignee_newest', 'tickets', ['assignee_id', 'id'], unique=False)
    op.create_index('ix_tickets_solved_at', 'tickets', ['solved_at'], unique=False)
    op.drop_index('ix_tickets_sensitive', table_name='tickets')


def downgrade() -> None:
    op.create_index('ix_tickets_sensitive', 'tickets', ['sensitive'], unique=False)
    op.drop_index('ix_tickets_solved_at', table_name='tickets')
    op.drop_index('ix_tickets_assignee_newest', table_name='tickets')
