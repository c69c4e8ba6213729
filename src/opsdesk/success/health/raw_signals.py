"""What each account's health measures read on a date (its raw signals), as known at the end of that
day. A parent account (an employer whose subsidiaries hold the lives) reads its family's totals: lives,
engaged members, tickets, ratings, escalations, NPS answers and the soonest renewal of the whole family."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.insights.account_signals import organisation_signals
from opsdesk.success.health.measures import RawSignals
from opsdesk.success.health.models import AccountSignal, SignalKind
from opsdesk.success.models import Account, Subscription, Utilisation
from opsdesk.success.voice.models import Escalation, NpsResponse

if TYPE_CHECKING:
    import pandas as pd

SUPPORT_WINDOW = timedelta(days=90)
NPS_WINDOW = timedelta(days=365)
UTILISATION_MONTHS = 3  # a utilisation figure older than this many completed months is not current


def end_of(day: date) -> datetime:
    """A score "on" a day sees everything recorded up to the end of that day (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def utilisation_frame(session: Session, account_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Monthly utilisation rows with the covered lives of each row's month (``success.covered_lives``),
    so doubling an account's lives today leaves last year's engagement rates as they were."""
    import pandas as pd

    from opsdesk.success.covered_lives import history_frame
    from opsdesk.success.utilisation import FRAME_COLUMNS, lives_of_each_month

    query = select(
        Utilisation.account_id,
        Utilisation.month,
        Utilisation.engaged_members,
        Utilisation.sessions,
        Utilisation.programme_uptake_pct,
        Account.covered_lives,
    ).join(Account, Account.id == Utilisation.account_id)
    if account_ids is not None:
        query = query.where(Utilisation.account_id.in_(list(account_ids)))
    frame = pd.DataFrame(session.execute(query.order_by(Utilisation.account_id, Utilisation.month)).all())
    if frame.empty:
        return pd.DataFrame(columns=FRAME_COLUMNS)
    frame.columns = FRAME_COLUMNS
    frame["programme_uptake_pct"] = frame["programme_uptake_pct"].astype("float64")
    return lives_of_each_month(frame, history_frame(session, account_ids))


def _latest_signals(
    session: Session, account_ids: Sequence[int], cutoff: datetime
) -> dict[tuple[int, SignalKind], AccountSignal]:
    rows = session.scalars(
        select(AccountSignal)
        .where(AccountSignal.account_id.in_(list(account_ids)), AccountSignal.observed_at < cutoff)
        .order_by(AccountSignal.observed_at, AccountSignal.id)
    )
    return {(row.account_id, row.kind): row for row in rows}


def _survey_answers(session: Session, account_ids: Sequence[int], cutoff: datetime) -> dict[int, list[int]]:
    """Each account's NPS survey answers (0-10) in the year before ``cutoff``."""
    rows = session.execute(
        select(NpsResponse.account_id, NpsResponse.score).where(
            NpsResponse.account_id.in_(list(account_ids)),
            NpsResponse.responded_at < cutoff,
            NpsResponse.responded_at >= cutoff - NPS_WINDOW,
        )
    ).all()
    answers: dict[int, list[int]] = {}
    for account_id, score in rows:
        answers.setdefault(int(account_id), []).append(int(score))
    return answers


def _nps(scores: Sequence[int]) -> float | None:
    """% promoters (9-10) minus % detractors (0-6); None without answers."""
    if not scores:
        return None
    return (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) * 100.0 / len(scores)


@dataclass(frozen=True)
class Member:
    account_id: int
    organisation_id: int | None
    covered_lives: int


def families(session: Session, accounts: Sequence[Account]) -> dict[int, list[Member]]:
    """Each account with every account below it (itself first): an account without children is a family
    of one, so it reads its own signals exactly as before."""
    rows = session.execute(
        select(Account.id, Account.parent_id, Account.organisation_id, Account.covered_lives)
    ).all()
    members = {int(i): Member(int(i), org, int(lives or 0)) for i, _parent, org, lives in rows}
    children: dict[int, list[int]] = defaultdict(list)
    for account_id, parent_id, _org, _lives in rows:
        if parent_id is not None:
            children[int(parent_id)].append(int(account_id))
    out: dict[int, list[Member]] = {}
    for account in accounts:
        found, seen, stack = [], set(), [account.id]
        while stack:
            current = stack.pop()
            if current in seen or current not in members:  # a cycle would be a data error
                continue
            seen.add(current)
            found.append(members[current])
            stack.extend(sorted(children.get(current, []), reverse=True))
        out[account.id] = found
    return out


def _account_escalations(session: Session, account_ids: Sequence[int], cutoff: datetime) -> dict[int, int]:
    """Customer escalations (the CS kind, raised on the account) opened in the support window."""
    rows = session.execute(
        select(Escalation.account_id, func.count())
        .where(
            Escalation.account_id.in_(list(account_ids)),
            Escalation.opened_at < cutoff,
            Escalation.opened_at >= cutoff - SUPPORT_WINDOW,
        )
        .group_by(Escalation.account_id)
    ).all()
    return {int(a): int(n) for a, n in rows}


def _renewal_ends(session: Session, account_ids: Sequence[int], day: date) -> dict[int, date]:
    """The last day of the term in force on ``day`` (an amendment runs to the original end)."""
    rows = session.execute(
        select(Subscription.account_id, func.max(Subscription.end_date))
        .where(
            Subscription.account_id.in_(list(account_ids)),
            Subscription.start_date <= day,
            Subscription.end_date >= day,
        )
        .group_by(Subscription.account_id)
    ).all()
    return {int(a): e for a, e in rows}


def raw_signals(session: Session, accounts: Sequence[Account], as_of: date) -> dict[int, RawSignals]:
    """What each account's measures read, as known at the end of ``as_of`` (nothing later); a parent
    reads its family's totals (engagement and tickets per covered life of the whole family, its ratings,
    escalations and NPS answers pooled, its soonest renewal, latest executive contact and worst payment
    delay), as it is segmented on its family's lives."""
    from opsdesk.success.utilisation import family_frame, latest_rates

    if not accounts:
        return {}
    family = families(session, accounts)
    ids = sorted({m.account_id for members in family.values() for m in members})
    cutoff = end_of(as_of)
    monthly = family_frame(
        utilisation_frame(session, ids), {a: [m.account_id for m in f] for a, f in family.items()}
    )
    engaged = latest_rates(monthly, as_of=as_of, months=UTILISATION_MONTHS)
    desk = organisation_signals(
        session,
        [m.organisation_id for members in family.values() for m in members if m.organisation_id is not None],
        start=cutoff - SUPPORT_WINDOW,
        end=cutoff,
    )
    latest = _latest_signals(session, ids, cutoff)
    renewals = _renewal_ends(session, ids, as_of)
    answers = _survey_answers(session, ids, cutoff)
    escalated = _account_escalations(session, ids, cutoff)

    def signal(account_id: int, kind: SignalKind) -> float | None:
        row = latest.get((account_id, kind))
        return float(row.value) if row is not None else None

    out = {}
    for account in accounts:
        members = family[account.id]
        member_ids = [m.account_id for m in members]
        lives = sum(m.covered_lives for m in members)
        orgs = {m.organisation_id for m in members if m.organisation_id is not None}
        support = [desk[o] for o in sorted(orgs) if o in desk]
        good, bad = sum(s.csat_good for s in support), sum(s.csat_bad for s in support)
        exec_seen = [
            latest[(a, SignalKind.EXEC_ENGAGEMENT)].observed_at.date()
            for a in member_ids
            if (a, SignalKind.EXEC_ENGAGEMENT) in latest
        ]
        overdue = [v for a in member_ids if (v := signal(a, SignalKind.PAYMENT_DAYS_OVERDUE)) is not None]
        ends = [renewals[a] for a in member_ids if a in renewals]
        nps = _nps([score for a in member_ids for score in answers.get(a, [])])
        out[account.id] = RawSignals(
            engaged_rate_pct=engaged.get(account.id),
            tickets_per_1000_lives=(
                sum(s.tickets_created for s in support) * 1000.0 / lives if support and lives > 0 else None
            ),
            csat_pct=good * 100.0 / (good + bad) if good + bad else signal(account.id, SignalKind.CSAT),
            escalations=float(
                sum(escalated.get(a, 0) for a in member_ids)
                + sum(s.escalations + s.sla_breaches for s in support)
            ),
            nps=nps if nps is not None else signal(account.id, SignalKind.NPS),
            days_since_exec_engagement=float((as_of - max(exec_seen)).days) if exec_seen else None,
            days_to_renewal=float((min(ends) - as_of).days) if ends else None,
            payment_days_overdue=max(overdue) if overdue else None,
        )
    return out
