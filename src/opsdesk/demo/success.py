"""Three years of customer success for the demo: employer accounts in the five covered-lives segments,
parent/child hierarchies, CSM books, contacts, contract terms with renewals, escalators, amendments,
churn and returns, lifecycle stages with dated transitions, and monthly member utilisation.

Each account gets a latent "fit" (0-1). Fit sets how engaged its members are and how likely it is to
churn or shrink at a renewal, and engagement slides for the months before a loss, so utilisation carries
the signal a health score should find. The rows are bulk-inserted as the success actions would write
them; ARR movements are then derived by the live code (``contracts.rebuild_movements``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Organisation, User
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.demo.csm_work import create_csm_work
from opsdesk.demo.names import company_names, person_name, slug
from opsdesk.demo.nps import create_nps_history
from opsdesk.success import contracts, segmenting
from opsdesk.success.arr import anniversary
from opsdesk.success.health import actions as health_actions
from opsdesk.success.models import (
    Account,
    Contact,
    ContactRole,
    PriceModel,
    Stage,
    Subscription,
    Utilisation,
)
from opsdesk.success.segments import SegmentRules, matching_segment

HISTORY_YEARS = 3
MAX_LIVES = 30_000


@dataclass(frozen=True)
class SegmentProfile:
    low: int
    high: int
    share: float  # of accounts
    pepm_cents: int  # list price per employee per month; larger employers pay less per life
    churn_per_renewal: float  # at an average fit
    multi_year: float  # chance a term runs two or three years


# The five default bands (``segments.DEFAULT_BANDS``): many small employers, few large ones.
PROFILES = [
    SegmentProfile(1, 99, 0.34, 850, 0.16, 0.05),
    SegmentProfile(100, 999, 0.33, 650, 0.13, 0.15),
    SegmentProfile(1000, 4999, 0.19, 500, 0.085, 0.30),
    SegmentProfile(5000, 14_999, 0.09, 400, 0.065, 0.40),
    SegmentProfile(15_000, MAX_LIVES, 0.05, 320, 0.05, 0.50),
]
INDUSTRIES = [
    ("Healthcare", 0.18),
    ("Manufacturing", 0.14),
    ("Retail", 0.12),
    ("Technology", 0.12),
    ("Financial services", 0.10),
    ("Education", 0.09),
    ("Public sector", 0.08),
    ("Hospitality", 0.07),
    ("Logistics", 0.06),
    ("Energy", 0.04),
]
REGIONS = [("North America", 0.62), ("EMEA", 0.22), ("APAC", 0.10), ("LATAM", 0.06)]
CONTACT_TITLES = {
    ContactRole.HR_LEADER: ["VP People", "HR Director", "Head of HR"],
    ContactRole.BENEFITS_LEADER: ["Benefits Manager", "Total Rewards Lead", "Benefits Director"],
    ContactRole.EXECUTIVE: ["Chief People Officer", "CFO", "COO"],
    ContactRole.CHAMPION: ["Wellbeing Programme Lead", "HR Business Partner"],
    ContactRole.BILLING: ["Accounts Payable", "Finance Manager"],
}
LINKED_SHARE = 0.6  # accounts that are also desk organisations, so their tickets feed their health
CHILD_SHARE = 0.07
DECLINE_DAYS = 240  # engagement slides for this long before a churn or contraction


@dataclass
class _Term:
    start: date
    end: date
    lives: int
    pepm_cents: int
    escalator_pct: Decimal
    amends: int | None = None  # index of the term this one amends


@dataclass
class _Plan:
    """One account's simulated life, before it gets database ids."""

    segment: int
    fit: float
    parent: int | None = None
    signed: date = date.min
    terms: list[_Term] = field(default_factory=list)
    # (term start, planned end, spell) of each term that is not an amendment; a spell ends with churn.
    renewals: list[tuple[date, date, int]] = field(default_factory=list)
    churns: list[date] = field(default_factory=list)
    shocks: list[tuple[date, float]] = field(default_factory=list)  # (loss day, engagement lost)
    stages: list[tuple[date, Stage]] = field(default_factory=list)

    @property
    def lives(self) -> int:
        return self.terms[-1].lives if self.terms else 0


def _days(rng: np.random.Generator, low: int, high: int) -> timedelta:
    return timedelta(days=int(rng.integers(low, high + 1)))


def _lives(rng: np.random.Generator, profile: SegmentProfile) -> int:
    """Log-uniform inside the band, so each band is itself skewed towards its small end."""
    return round(np.exp(rng.uniform(np.log(profile.low), np.log(profile.high))))


def _clip_lives(value: float) -> int:
    return int(min(MAX_LIVES, max(1, round(value))))


def _simulate(rng: np.random.Generator, plan: _Plan, start: date, lives: int, pepm: int, today: date) -> None:
    """Contract terms from ``start`` until a term runs past ``today`` or the customer leaves for good."""
    profile = PROFILES[plan.segment]
    risk = 0.3 + 0.7 * (1 - plan.fit) / 0.286  # 1 at the average fit of Beta(5, 2)
    spell, t = 0, start
    plan.signed = start - _days(rng, 14, 60)
    plan.stages = []
    launch = t + _days(rng, 45, 120)
    plan.stages += [(launch, Stage.LAUNCH), (launch + _days(rng, 60, 150), Stage.ADOPTION)]
    while True:
        years = int(rng.choice([2, 3])) if rng.random() < profile.multi_year else 1
        end = anniversary(t, years) - timedelta(days=1)
        escalator = (
            Decimal(str(rng.choice([2.5, 3, 3.5]))) if years > 1 and rng.random() < 0.6 else Decimal(0)
        )
        first = len(plan.terms)
        plan.terms.append(_Term(t, end, lives, pepm, escalator))
        plan.renewals.append((t, end, spell))
        if (end - t).days > 200 and rng.random() < 0.18 * years * (0.5 + plan.fit):
            effective = t + _days(rng, 120, (end - t).days - 30)
            if effective <= today:
                grown = rng.random() < 0.75 + 0.2 * plan.fit
                if not grown:
                    plan.shocks.append((effective, float(rng.uniform(0.1, 0.25))))
                lives = _clip_lives(
                    lives * (1 + rng.uniform(0.1, 0.35) if grown else 1 - rng.uniform(0.1, 0.3))
                )
                plan.terms[first].end = effective - timedelta(days=1)
                plan.terms.append(_Term(effective, end, lives, pepm, escalator, amends=first))
        if end >= today:
            if end - timedelta(days=90) > plan.stages[-1][0]:
                plan.stages.append((end - timedelta(days=89), Stage.RENEWAL))
            return
        renewal = end + timedelta(days=1)
        if renewal - timedelta(days=90) > plan.stages[-1][0]:
            plan.stages.append((renewal - timedelta(days=90), Stage.RENEWAL))
        churn_p = 1 - (1 - profile.churn_per_renewal * risk) ** (years**0.7)
        if rng.random() < churn_p:
            plan.churns.append(renewal)
            plan.shocks.append((renewal, float(rng.uniform(0.4, 0.75))))
            plan.stages.append((renewal, Stage.CHURNED))
            back = renewal + _days(rng, 90, 420)
            if rng.random() < 0.2 and back <= today - timedelta(days=30):
                spell, t = spell + 1, back
                lives = _clip_lives(lives * rng.uniform(0.7, 1.1))
                launch = t + _days(rng, 30, 90)
                plan.stages += [
                    (t, Stage.IMPLEMENTATION),
                    (launch, Stage.LAUNCH),
                    (launch + _days(rng, 60, 120), Stage.ADOPTION),
                ]
                continue
            return
        outcome = rng.random()
        grow, shrink = 0.45 + 0.4 * plan.fit, 0.08 + 0.3 * (1 - plan.fit)
        if outcome < grow:
            lives = _clip_lives(lives * (1 + rng.uniform(0.1, 0.5)))
        elif outcome < grow + shrink:
            lives = _clip_lives(lives * (1 - rng.uniform(0.08, 0.35)))
            plan.shocks.append((renewal, float(rng.uniform(0.1, 0.3))))
        if rng.random() < 0.5:
            pepm = round(pepm * 1.03)
        plan.stages.append((renewal, Stage.ADOPTION))
        t = renewal


def _child(rng: np.random.Generator, parent: _Plan, parent_index: int, today: date) -> _Plan | None:
    """A subsidiary co-termed with its parent from one of the parent's renewals until the parent leaves."""
    spans = [r for r in parent.renewals if r[0] <= today - timedelta(days=60)]
    if not spans:
        return None
    chosen = spans[int(rng.integers(len(spans)))]
    segment = int(rng.choice([0, 1, 2], p=[0.3, 0.5, 0.2]))
    child = _Plan(
        segment=segment, fit=float(np.clip(parent.fit + rng.normal(0, 0.08), 0, 1)), parent=parent_index
    )
    lives, pepm = (
        _lives(rng, PROFILES[segment]),
        int(PROFILES[parent.segment].pepm_cents * rng.uniform(0.9, 1.1)),
    )
    child.signed = chosen[0] - _days(rng, 14, 45)
    launch = chosen[0] + _days(rng, 30, 90)
    child.stages = [(launch, Stage.LAUNCH), (launch + _days(rng, 60, 120), Stage.ADOPTION)]
    for start, end, spell in parent.renewals:
        if start < chosen[0] or spell != chosen[2]:
            continue
        if child.terms:
            if rng.random() < 0.45:
                lives = _clip_lives(lives * (1 + rng.uniform(0.05, 0.3)))
            child.stages.append((start, Stage.ADOPTION))
        child.terms.append(_Term(start, end, lives, pepm, Decimal(0)))
        child.renewals.append((start, end, 0))
        renewal = end + timedelta(days=1)
        if renewal in parent.churns:
            child.churns.append(renewal)
            child.shocks.append((renewal, float(rng.uniform(0.4, 0.75))))
            child.stages.append((renewal, Stage.CHURNED))
    return child


def _plans(rng: np.random.Generator, count: int, today: date) -> list[_Plan]:
    history_start = anniversary(today, -HISTORY_YEARS)
    span = (today - timedelta(days=60) - history_start).days
    children = round(count * CHILD_SHARE)
    roots = count - children
    shares = np.array([p.share for p in PROFILES])
    plans: list[_Plan] = []
    for _ in range(roots):
        segment = int(rng.choice(len(PROFILES), p=shares / shares.sum()))
        # Two in five were already customers when the history starts; the rest are three years of growth.
        offset = int(rng.integers(-330, 0)) if rng.random() < 0.4 else int(rng.integers(0, span))
        plan = _Plan(segment=segment, fit=float(rng.beta(5, 2)))
        profile = PROFILES[segment]
        pepm = round(profile.pepm_cents * rng.uniform(0.85, 1.15))
        _simulate(rng, plan, history_start + timedelta(days=offset), _lives(rng, profile), pepm, today)
        plans.append(plan)
    hosts = [i for i, p in enumerate(plans) if p.segment >= 2]
    while len(plans) < count and hosts:
        index = int(rng.choice(hosts))
        child = _child(rng, plans[index], index, today)
        if child is not None:
            plans.append(child)
    return plans


def _clean_stages(plan: _Plan, today: date) -> list[tuple[date, Stage]]:
    """Transitions in date order up to today, each one a real change of stage."""
    out: list[tuple[date, Stage]] = []
    current = Stage.IMPLEMENTATION
    for on, stage in sorted(plan.stages, key=lambda s: s[0]):
        if on > today or stage is current or on <= plan.signed:
            continue
        out.append((on, stage))
        current = stage
    return out


def _at(day: date, hour: int = 15) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _month_starts(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _utilisation(rng: np.random.Generator, plan: _Plan, account_id: int, today: date) -> list[dict[str, Any]]:
    """Completed months with a live contract: a ramp after each go-live, a level set by fit, and a slide
    in the months before each loss."""
    base = 0.02 + 0.28 * plan.fit  # most benefits programmes engage 10-25 % of covered lives
    rows: list[dict[str, Any]] = []
    restarts = [plan.terms[0].start] + [
        start
        for (start, _end, spell), (_s, _e, before) in zip(plan.renewals[1:], plan.renewals, strict=False)
        if spell != before
    ]
    last_complete = today.replace(day=1) - timedelta(days=1)
    for month in _month_starts(plan.terms[0].start, last_complete):
        middle = month + timedelta(days=14)
        if not any(t.start <= middle <= t.end for t in plan.terms):
            continue
        began = max(r for r in restarts if r <= middle)
        ramp = min(1.0, ((middle - began).days / 30 + 1) / 4)
        slide = 1.0
        for when, depth in plan.shocks:
            ahead = (when - middle).days
            if 0 <= ahead <= DECLINE_DAYS:
                slide *= 1 - depth * (1 - ahead / DECLINE_DAYS)
        rate = float(np.clip(base * ramp * slide * (1 + rng.normal(0, 0.06)), 0, 1))
        # Counted against the covered lives on the account record, the figure the product reads the
        # engagement rate against, so the rate it shows is the simulated one.
        lives = plan.lives
        engaged = round(rate * lives)
        rows.append(
            {
                "account_id": account_id,
                "month": month,
                "engaged_members": engaged,
                "sessions": round(engaged * rng.uniform(1.6, 3.2)),
                "programme_uptake_pct": Decimal(
                    str(round(min(100.0, rate * 100 * rng.uniform(0.5, 0.9)), 2))
                ),
            }
        )
    return rows


def _scoring_dates(today: date) -> list[date]:
    """The first of each of the last twelve months, then yesterday (today's run has not happened yet)."""
    firsts, month = [], today.replace(day=1)
    for _ in range(12):
        month = (month - timedelta(days=1)).replace(day=1)
        firsts.append(month)
    return [*sorted(firsts), today - timedelta(days=1)]


def _owners(plans: list[_Plan], csm_ids: list[int]) -> list[int | None]:
    """Books balanced by segment: each segment's accounts dealt out by first-year ARR, snaking across
    the CSMs so every book gets a similar mix of large and small; children stay with their parent."""
    owners: list[int | None] = [None] * len(plans)
    if not csm_ids:
        return owners
    for segment in range(len(PROFILES)):
        members = [i for i, p in enumerate(plans) if p.parent is None and p.segment == segment]
        members.sort(key=lambda i: -plans[i].terms[0].lives * plans[i].terms[0].pepm_cents)
        for rank, index in enumerate(members):
            lap, seat = divmod(rank, len(csm_ids))
            owners[index] = csm_ids[seat if lap % 2 == 0 else len(csm_ids) - 1 - seat]
    for index, plan in enumerate(plans):
        if plan.parent is not None:
            owners[index] = owners[plan.parent]
    return owners


def create_success_book(
    session: Session,
    *,
    rng: np.random.Generator,
    now: datetime,
    csms: list[User],
    organisation_ids: np.ndarray,
    accounts: int,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Load the book; ``progress`` is told of each of its five steps."""
    today = now.date()
    step = progress or (lambda _n: None)
    segments = segmenting.ensure_default_segments(session, clock=FixedClock(now))
    rules = [SegmentRules(s.name, s.priority, s.rules) for s in segments]
    segment_ids = {s.name: s.id for s in segments}
    plans = _plans(rng, accounts, today)
    owners = _owners(plans, sorted(u.id for u in csms))
    step(1)

    first_account = next_id(session, Account)
    linked = rng.permutation(len(plans))[: min(len(organisation_ids), round(len(plans) * LINKED_SHARE))]
    org_of = dict(
        zip(
            linked.tolist(),
            rng.choice(organisation_ids, size=len(linked), replace=False).tolist(),
            strict=True,
        )
    )
    org_names = (
        dict(
            session.execute(
                select(Organisation.id, Organisation.name).where(Organisation.id.in_(list(org_of.values())))
            ).all()
        )
        if org_of
        else {}
    )
    fresh_names = iter(company_names(rng, len(plans)))
    industry_names, industry_p = zip(*INDUSTRIES, strict=True)
    region_names, region_p = zip(*REGIONS, strict=True)

    account_rows: list[dict[str, Any]] = []
    contact_rows: list[dict[str, Any]] = []
    term_rows: list[dict[str, Any]] = []
    usage_rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    first_contact, first_sub = next_id(session, Contact), next_id(session, Subscription)

    def event(at: datetime, account_id: int, type_: str, actor: int | None, data: dict[str, Any]) -> None:
        events.append(
            {
                "at": min(at, now),
                "actor_id": actor,
                "subject_type": "account",
                "subject_id": account_id,
                "type": type_,
                "data": data,
            }
        )

    for index, plan in enumerate(plans):
        account_id = first_account + index
        org_id = org_of.get(index)
        name = org_names.get(org_id, "") if org_id is not None else ""
        name = name or next(fresh_names)
        parent_id = first_account + plan.parent if plan.parent is not None else None
        industry = (
            str(rng.choice(industry_names, p=industry_p))
            if plan.parent is None
            else account_rows[plan.parent]["industry"]
        )
        region = str(rng.choice(region_names, p=region_p))
        segment = matching_segment(
            rules, {"covered_lives": plan.lives, "industry": industry, "region": region}
        )
        stages = _clean_stages(plan, today)
        created = _at(plan.signed, 10)
        last_change = _at(stages[-1][0]) if stages else created
        account_rows.append(
            {
                "id": account_id,
                "external_id": f"ACC-{account_id:05d}",
                "name": name,
                "parent_id": parent_id,
                "covered_lives": plan.lives,
                "industry": industry,
                "region": region,
                "owner_id": owners[index],
                "stage": stages[-1][1] if stages else Stage.IMPLEMENTATION,
                "stage_since": stages[-1][0] if stages else plan.signed,
                "segment_id": segment_ids.get(segment) if segment else None,
                "segment_override_id": None,
                "organisation_id": org_id,
                "created_at": created,
                "updated_at": last_change,
            }
        )
        event(
            created,
            account_id,
            "account_created",
            None,
            {"stage": Stage.IMPLEMENTATION.value, "parent_id": parent_id, "segment": segment},
        )
        previous = Stage.IMPLEMENTATION
        for on, stage in stages:
            event(
                _at(on),
                account_id,
                "account_stage_changed",
                owners[index],
                {"from": previous.value, "to": stage.value, "on": on.isoformat()},
            )
            previous = stage

        roles = [ContactRole.HR_LEADER, ContactRole.BENEFITS_LEADER, ContactRole.EXECUTIVE]
        roles += [r for r in (ContactRole.CHAMPION, ContactRole.BILLING) if rng.random() < 0.35]
        domain = f"{slug(name)}.example"
        for role in roles:
            person = person_name(rng)
            contact_id = first_contact + len(contact_rows)
            contact_rows.append(
                {
                    "id": contact_id,
                    "external_id": None,
                    "account_id": account_id,
                    "name": person,
                    "email": f"{slug(person)}@{domain}",
                    "title": str(rng.choice(CONTACT_TITLES[role])),
                    "role": role,
                    "created_at": created,
                }
            )
            event(created, account_id, "contact_saved", None, {"contact_id": contact_id, "role": role.value})

        term_ids: list[int] = []
        for term in plan.terms:
            sub_id = first_sub + len(term_rows)
            term_ids.append(sub_id)
            amends = term_ids[term.amends] if term.amends is not None else None
            term_rows.append(
                {
                    "id": sub_id,
                    "external_id": None,
                    "account_id": account_id,
                    "start_date": term.start,
                    "end_date": term.end,
                    "price_model": PriceModel.PEPM,
                    "pepm_cents": term.pepm_cents,
                    "covered_lives": term.lives,
                    "flat_annual_cents": None,
                    "escalator_pct": term.escalator_pct,
                    "amends_id": amends,
                    "created_at": min(_at(term.start, 9) - timedelta(days=14), now),
                }
            )
            if amends is None:
                event(
                    _at(term.start, 9) - timedelta(days=14),
                    account_id,
                    "subscription_created",
                    owners[index],
                    {"subscription_id": sub_id, "start": term.start.isoformat(), "end": term.end.isoformat()},
                )
            else:
                event(
                    _at(term.start, 9),
                    account_id,
                    "subscription_amended",
                    owners[index],
                    {"subscription_id": amends, "amendment_id": sub_id, "effective": term.start.isoformat()},
                )
        usage_rows += _utilisation(rng, plan, account_id, today)
    step(1)

    _segment_families(account_rows, rules, segment_ids)
    bulk_insert(session, Account, account_rows)
    bulk_insert(session, Contact, contact_rows)
    bulk_insert(session, Subscription, term_rows)
    first_usage = next_id(session, Utilisation)
    bulk_insert(session, Utilisation, [{"id": first_usage + i, **row} for i, row in enumerate(usage_rows)])
    events.sort(key=lambda e: e["at"])
    first_event = next_id(session, Event)
    bulk_insert(session, Event, [{"id": first_event + i, **row} for i, row in enumerate(events)])
    surveyed = create_nps_history(
        session, rng=rng, now=now, segment_ids=segment_ids, accounts=account_rows,
        fit=[p.fit for p in plans], contacts=contact_rows,
    )  # fmt: skip
    step(1)
    roots = [row["id"] for row in account_rows if row["parent_id"] is None]
    movements = contracts.rebuild_movements(session, roots)
    step(1)
    # Monthly health snapshots for the last year, each as the scoring job would have stored it that
    # night, so health history and the backtest have something to read.
    scored = 0
    for as_of in _scoring_dates(today):
        scored += health_actions.score_accounts(session, as_of=as_of, clock=FixedClock(_at(as_of, 23))).scored
    # Last, so its draws leave everything above as it was.
    worked = create_csm_work(
        session, rng=rng, now=now, accounts=account_rows, segment_names={i: n for n, i in segment_ids.items()}
    )
    step(1)
    return {
        "success accounts": len(account_rows),
        "contacts": len(contact_rows),
        "subscriptions": len(term_rows),
        "ARR movements": movements,
        "utilisation months": len(usage_rows),
        "health snapshots": scored,
        **surveyed,
        **worked,
    }


def _segment_families(
    rows: list[dict[str, Any]], rules: list[SegmentRules], segment_ids: dict[str, int]
) -> None:
    """A parent is segmented on its family's covered lives, as ``segmenting.resegment`` does: segmented
    on its own lives, the demo's parents moved segment at the first unrelated save of any segment rule."""
    family = {row["id"]: row["covered_lives"] for row in rows}
    for row in sorted(rows, key=lambda r: r["id"], reverse=True):  # a child comes after its parent
        if row["parent_id"] is not None:
            family[row["parent_id"]] += family[row["id"]]
    for row in rows:
        if family[row["id"]] != row["covered_lives"]:
            name = matching_segment(
                rules,
                {"covered_lives": family[row["id"]], "industry": row["industry"], "region": row["region"]},
            )
            row["segment_id"] = segment_ids.get(name) if name else None
