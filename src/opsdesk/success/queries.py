"""Reads for customer success: accounts and hierarchy, the frames the retention maths runs on."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.core.queries import get_or_not_found
from opsdesk.success.arr import Term, annual_value_cents, arr_steps, daily_arr
from opsdesk.success.arr import arr_on as arr_on_day
from opsdesk.success.models import Account, ArrMovement, Segment, Subscription

if TYPE_CHECKING:
    import pandas as pd


def account(session: Session, account_id: int) -> Account:
    return get_or_not_found(session, Account, account_id, "account")


def account_by_external_id(session: Session, external_id: str) -> Account | None:
    return session.scalar(select(Account).where(Account.external_id == external_id))


def ultimate_parents(session: Session) -> dict[int, int]:
    """Each account's top-most ancestor (itself when it has no parent)."""
    parent_of = {row[0]: row[1] for row in session.execute(select(Account.id, Account.parent_id))}
    roots: dict[int, int] = {}
    for start in parent_of:
        chain, node = [], start
        while node not in roots and parent_of.get(node) is not None and node not in chain:
            chain.append(node)
            node = parent_of[node]  # type: ignore[assignment]
        root = roots.get(node, node)
        for member in [*chain, node]:
            roots[member] = root
    return roots


def customer_arr_today(session: Session, today: date) -> dict[int, int]:
    """Each customer's (top-level account's) ARR in cents today: the last movement on or before today."""
    rows = session.execute(
        select(ArrMovement.customer_id, ArrMovement.arr_after_cents)
        .where(ArrMovement.effective_on <= today)
        .order_by(ArrMovement.customer_id, ArrMovement.effective_on, ArrMovement.id)
    )
    return {int(customer): int(after) for customer, after in rows}


def next_renewals(session: Session, today: date) -> dict[int, date]:
    """The next renewal (the day after the running term's last day) of each account with a running term."""
    rows = session.execute(
        select(Subscription.account_id, Subscription.end_date).where(
            Subscription.start_date <= today, Subscription.end_date >= today
        )
    )
    out: dict[int, date] = {}
    for account_id, end in rows:
        out[account_id] = max(out.get(account_id, date.min), end + timedelta(days=1))
    return out


def would_cycle(session: Session, account_id: int, parent_id: int) -> bool:
    """True if making ``parent_id`` the parent of ``account_id`` would make an account its own ancestor."""
    parent_of = {row[0]: row[1] for row in session.execute(select(Account.id, Account.parent_id))}
    node: int | None = parent_id
    while node is not None:
        if node == account_id:
            return True
        node = parent_of.get(node)
    return False


def subscription_terms(session: Session, account_ids: list[int]) -> list[Term]:
    """The pricing terms of the accounts' subscriptions, with amendments linked to their original start."""
    subs = session.scalars(select(Subscription).where(Subscription.account_id.in_(account_ids))).all()
    by_id = {s.id: s for s in subs}
    amended = {s.amends_id for s in subs if s.amends_id is not None}

    def original_start(sub: Subscription) -> date:
        seen = set()
        while sub.amends_id is not None and sub.amends_id in by_id and sub.id not in seen:
            seen.add(sub.id)
            sub = by_id[sub.amends_id]
        return sub.start_date

    return [
        Term(
            subscription_id=s.id,
            account_id=s.account_id,
            start=s.start_date,
            end=s.end_date,
            annual_cents=annual_value_cents(
                price_model=s.price_model.value,
                pepm_cents=s.pepm_cents,
                covered_lives=s.covered_lives,
                flat_annual_cents=s.flat_annual_cents,
            ),
            escalator_pct=Decimal(s.escalator_pct or 0),
            anniversary_base=original_start(s),
            amended=s.id in amended,
        )
        for s in subs
    ]


def arr_on(session: Session, account_id: int, day: date) -> int:
    """ARR in cents of one account (its own subscriptions, not its children's) on a day."""
    terms = subscription_terms(session, [account_id])
    if not terms:
        return 0
    return arr_on_day(arr_steps(terms), day).get(account_id, 0)


def arr_per_day(session: Session, account_ids: list[int], first: date, last: date) -> pd.DataFrame:
    """ARR per day (rows) and account (columns) in cents."""
    import pandas as pd

    terms = subscription_terms(session, account_ids)
    if not terms:
        return pd.DataFrame(index=pd.date_range(first, last, freq="D"))
    return daily_arr(arr_steps(terms), first, last)


def movements_frame(session: Session) -> pd.DataFrame:
    import pandas as pd

    from opsdesk.success.movements import MOVEMENT_COLUMNS

    rows = session.execute(
        select(
            ArrMovement.customer_id,
            ArrMovement.effective_on,
            ArrMovement.kind,
            ArrMovement.amount_cents,
            ArrMovement.arr_after_cents,
            ArrMovement.renewal_base_cents,
        ).order_by(ArrMovement.customer_id, ArrMovement.effective_on, ArrMovement.id)
    ).all()
    frame = pd.DataFrame([(r[0], r[1], r[2].value, r[3], r[4], r[5]) for r in rows], columns=MOVEMENT_COLUMNS)
    frame["effective"] = pd.to_datetime(frame["effective"])
    for column in ("customer_id", "amount_cents", "arr_after_cents", "renewal_base_cents"):
        frame[column] = frame[column].astype("int64")
    return frame


def customers_frame(session: Session) -> pd.DataFrame:
    """One row per customer (top-level account) with the attributes retention is grouped by."""
    import pandas as pd

    chosen = aliased(Segment)
    rows = session.execute(
        select(Account.id, Account.name, Account.region, User.email, chosen.name)
        .outerjoin(User, User.id == Account.owner_id)
        .outerjoin(chosen, chosen.id == func.coalesce(Account.segment_override_id, Account.segment_id))
        .where(Account.parent_id.is_(None))
    ).all()
    return pd.DataFrame(rows, columns=["customer_id", "name", "region", "csm", "segment"])


def refuse_unfinished_period(end: date, today: date) -> None:
    """Retention is measured on what happened: a contract ending on a day still to come has not been
    renewed *yet*, and counting it as churn turned the demo's coming year into GRR 37% and logo churn
    80%. What is coming up belongs in a forward view of renewals and ARR at risk, not in a bridge."""
    if end > today:
        raise ValidationFailed(
            f"the period ends on {end}, after today ({today}): contracts not renewed yet would count "
            "as churn; end the period today or earlier",
            field="to",
        )


def retention_report(session: Session, start: date, end: date, by: str, *, today: date) -> pd.DataFrame:
    """The bridge for one period by group, with an all-customers row when grouped, and the trailing
    twelve-month NRR at the period end. Periods ending after ``today`` are refused."""
    import pandas as pd

    from opsdesk.success import retention

    refuse_unfinished_period(end, today)

    movements, customers = movements_frame(session), customers_frame(session)
    period = [(start, end)]
    grouped = retention.bridge(movements, customers, period, by)
    trailing = retention.trailing_nrr(movements, customers, end, by)
    if by != "none":
        grouped = pd.concat(
            [grouped, retention.bridge(movements, customers, period, None)], ignore_index=True
        )
        trailing = pd.concat([trailing, retention.trailing_nrr(movements, customers, end, None)])
    if grouped.empty:
        return grouped
    return grouped.merge(trailing[["group", "nrr_12m"]], on="group", how="left")


def renewal_report(session: Session, start: date, end: date, by: str, *, today: date) -> pd.DataFrame:
    """Retention of the ARR that came up for renewal in the period; periods ending after ``today`` are
    refused (a renewal due next month is not lost yet)."""
    from opsdesk.success import retention

    refuse_unfinished_period(end, today)

    movements, customers = movements_frame(session), customers_frame(session)
    return retention.renewal_retention(movements, customers, start, end, by)


def cohort_report(session: Session, as_of: date, *, today: date) -> pd.DataFrame:
    """Cohorts' retention month by month up to ``as_of``; a day after ``today`` is refused, as a
    cohort's unrenewed future months would read as churn."""
    from opsdesk.success import retention

    refuse_unfinished_period(as_of, today)
    return retention.cohort_table(movements_frame(session), as_of)


def segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.priority, Segment.name)))


def csm_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))
