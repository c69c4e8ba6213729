"""Applying the rebalancing suggestions on request (``portfolio.rebalance`` only proposes): each move
hands the account to the receiving CSM through ``actions.update_account``, so it is an event on the
account's timeline like any other change of book. A move whose account no longer sits with the CSM it
was proposed from (someone moved it meanwhile) is skipped, not forced. Runs in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import User
from opsdesk.success import actions, portfolio
from opsdesk.success.models import Account

if TYPE_CHECKING:
    import pandas as pd


def apply_moves(
    session: Session, moves: Iterable[portfolio.Move], *, clock: Clock, actor: User | None = None
) -> list[portfolio.Move]:
    """Make each move whose account is still in its donor's book; the moves made."""
    applied = []
    for move in moves:
        account = session.get(Account, move.account_id)
        receiver = session.get(User, move.to_csm_id)
        if account is None or receiver is None or account.owner_id != move.from_csm_id:
            continue
        actions.update_account(session, account=account, clock=clock, actor=actor, owner=receiver)
        applied.append(move)
    session.flush()
    return applied


def apply_rebalance(
    session: Session,
    day: date,
    *,
    clock: Clock,
    actor: User | None = None,
    capacity: Mapping[str, portfolio.Capacity] = portfolio.DEFAULT_CAPACITY,
) -> tuple[list[portfolio.Move], pd.DataFrame]:
    """Propose the moves for the books on ``day`` and make them; the moves made and the accounts frame
    they refer to (for names)."""
    moves, accounts = portfolio.rebalance_suggestions(session, day, capacity)
    return apply_moves(session, moves, clock=clock, actor=actor), accounts
