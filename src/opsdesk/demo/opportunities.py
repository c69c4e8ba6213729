"""The demo book's pipeline, consistent with its contracts: a year of closed renewals (won where the next
term is on file, lost where the customer left) and won expansions (the amendments that raised ARR), some
lost expansions, and the open pipeline: renewals of the terms ending in the next four months, worked
through their stages, and expansion, upsell and cross-sell deals on a few live customers. The past is
written with its real dates, so the forecast's accuracy and stage calibration have a year to learn from."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.success import queries as success_queries
from opsdesk.success.arr import Term, arr_on, arr_steps, term_steps
from opsdesk.success.models import Account, Stage, Subscription
from opsdesk.success.pipeline.history import PastState, save_with_history
from opsdesk.success.pipeline.models import OpportunityKind
from opsdesk.success.pipeline.models import OpportunityStage as S

NEW_ARR_KINDS = (OpportunityKind.EXPANSION, OpportunityKind.UPSELL, OpportunityKind.CROSS_SELL)
OPEN_HORIZON_DAYS = 120


def _at(day: date, hour: int = 14) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _arr_at_end(term: Term) -> int:
    return sum(delta for *_, when, delta, _c in term_steps(term) if when <= term.end)


def _renewal_states(
    term: Term, amount: int, outcome: S | None, closed: date, now: datetime
) -> list[PastState]:
    """Qualify 120 days out, propose at 75, negotiate at 40 (those already reached), then the outcome."""
    states = []
    for days, stage in ((120, S.QUALIFY), (75, S.PROPOSE), (40, S.NEGOTIATE)):
        at = _at(term.end - timedelta(days=days))
        if at < now and (outcome is None or at.date() < closed):
            states.append(PastState(at, stage, amount, term.end))
    if not states:
        states.append(PastState(now - timedelta(days=1), S.QUALIFY, amount, term.end))
    if outcome is not None:
        states.append(PastState(min(_at(closed, 16), now), outcome, amount, term.end))
    return states


def create_opportunities(session: Session, *, rng: np.random.Generator, now: datetime) -> dict[str, int]:
    today = now.date()
    clock = FixedClock(now)
    year_ago = today - timedelta(days=365)
    accounts = {a.id: a for a in session.scalars(select(Account))}
    terms = success_queries.subscription_terms(session, sorted(accounts))
    if not terms:
        return {"opportunities": 0}
    subs = {s.id: s for s in session.scalars(select(Subscription))}
    starts = {(t.account_id, t.start): t.subscription_id for t in terms}
    made = 0

    def save(
        account: Account,
        kind: OpportunityKind,
        name: str,
        states: list[PastState],
        renewal_of_id: int | None = None,
        won_subscription_id: int | None = None,
    ) -> None:
        nonlocal made
        save_with_history(
            session, account=account, kind=kind, name=name, states=states, clock=clock,
            renewal_of_id=renewal_of_id, won_subscription_id=won_subscription_id,
        )  # fmt: skip
        made += 1

    for term in sorted(terms, key=lambda t: (t.end, t.subscription_id)):
        account = accounts[term.account_id]
        if term.amended or not year_ago <= term.end <= today + timedelta(days=OPEN_HORIZON_DAYS):
            continue
        amount = _arr_at_end(term)
        following = starts.get((term.account_id, term.end + timedelta(days=1)))
        name = f"Renewal: {account.name} (term ending {term.end.isoformat()})"
        if term.end < today or following is not None:
            if following is not None:  # renewed: won a few weeks before the term ran out
                closed = min(term.end - timedelta(days=int(rng.integers(3, 35))), today)
                states = _renewal_states(term, amount, S.CLOSED_WON, closed, now)
                save(account, OpportunityKind.RENEWAL, name, states,
                     renewal_of_id=term.subscription_id, won_subscription_id=following)  # fmt: skip
            else:  # the customer left: lost around the end of the term
                closed = min(term.end + timedelta(days=int(rng.integers(-20, 10))), today)
                states = _renewal_states(term, amount, S.CLOSED_LOST, closed, now)
                save(account, OpportunityKind.RENEWAL, name, states, renewal_of_id=term.subscription_id)
        else:  # coming up: open, as far along as the calendar says
            states = _renewal_states(term, amount, None, today, now)
            save(account, OpportunityKind.RENEWAL, name, states, renewal_of_id=term.subscription_id)

    by_id = {t.subscription_id: t for t in terms}
    for term in terms:  # amendments that raised ARR in the past year were won expansions
        sub = subs[term.subscription_id]
        if sub.amends_id is None or not year_ago <= term.start <= today or sub.amends_id not in by_id:
            continue
        before = arr_on(arr_steps([by_id[sub.amends_id]]), term.start - timedelta(days=1)).get(
            term.account_id, 0
        )
        gain = arr_on(arr_steps([term]), term.start).get(term.account_id, 0) - before
        if gain <= 0:
            continue
        account = accounts[term.account_id]
        kind = NEW_ARR_KINDS[int(rng.integers(len(NEW_ARR_KINDS)))]
        won = term.start - timedelta(days=int(rng.integers(1, 10)))
        states = [
            PastState(_at(won - timedelta(days=60)), S.DISCOVER, gain, term.start),
            PastState(_at(won - timedelta(days=30)), S.PROPOSE, gain, term.start),
            PastState(_at(won, 16), S.CLOSED_WON, gain, term.start),
        ]
        save(account, kind, f"{kind.value.replace('_', '-').capitalize()}: {account.name}", states,
             won_subscription_id=term.subscription_id)  # fmt: skip

    live = [a for a in accounts.values() if a.parent_id is None and a.stage is not Stage.CHURNED]
    arr_today = arr_on(arr_steps(terms), today)
    paying = [a for a in live if arr_today.get(a.id, 0) > 0]
    for account in [paying[int(i)] for i in rng.permutation(len(paying))[: max(1, len(paying) // 12)]]:
        kind = NEW_ARR_KINDS[int(rng.integers(len(NEW_ARR_KINDS)))]
        amount = int(arr_today[account.id] * rng.uniform(0.08, 0.3)) // 10_000 * 10_000
        name = f"{kind.value.replace('_', '-').capitalize()}: {account.name}"
        if rng.random() < 0.35:  # lost in the past year
            closed = today - timedelta(days=int(rng.integers(20, 330)))
            states = [
                PastState(_at(closed - timedelta(days=70)), S.QUALIFY, amount, closed),
                PastState(_at(closed - timedelta(days=35)), S.DISCOVER, amount, closed),
                PastState(_at(closed, 16), S.CLOSED_LOST, amount, closed),
            ]
        else:  # open: created weeks ago, some moved on since
            close = today + timedelta(days=int(rng.integers(15, OPEN_HORIZON_DAYS)))
            opened = now - timedelta(days=int(rng.integers(10, 60)))
            states = [PastState(opened, S.QUALIFY, amount, close)]
            for stage in (S.DISCOVER, S.PROPOSE, S.NEGOTIATE):
                if rng.random() < 0.5:
                    break
                states.append(
                    PastState(states[-1].at + timedelta(days=int(rng.integers(3, 9))), stage, amount, close)
                )
        save(account, kind, name, [s for s in states if s.at <= now])
    session.flush()
    return {"opportunities": made}
