"""Covered lives month by month: every change of an account's lives is kept for the month it happened,
so a past month's utilisation per covered life is measured against the lives of that month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.success.models import CoveredLivesMonth

if TYPE_CHECKING:
    import pandas as pd

HISTORY_COLUMNS = ["account_id", "month", "covered_lives"]


def record_covered_lives(session: Session, *, account_id: int, on: date, lives: int) -> CoveredLivesMonth:
    """The account's lives from ``on``'s month on; a second change in the same month replaces the first."""
    month = on.replace(day=1)
    row = session.scalar(
        select(CoveredLivesMonth).where(
            CoveredLivesMonth.account_id == account_id, CoveredLivesMonth.month == month
        )
    )
    if row is None:
        row = CoveredLivesMonth(account_id=account_id, month=month, covered_lives=lives)
        session.add(row)
    row.covered_lives = lives
    session.flush()
    return row


def history_frame(session: Session, account_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """The recorded lives, one row per account and month of change."""
    import pandas as pd

    query = select(CoveredLivesMonth.account_id, CoveredLivesMonth.month, CoveredLivesMonth.covered_lives)
    if account_ids is not None:
        query = query.where(CoveredLivesMonth.account_id.in_(list(account_ids)))
    rows = session.execute(query.order_by(CoveredLivesMonth.account_id, CoveredLivesMonth.month)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=HISTORY_COLUMNS)
