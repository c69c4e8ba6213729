"""Opportunities with their stage history, from a Salesforce-style opportunity history report: one row
per stage change, keyed by "Opportunity ID". The rows of one opportunity, in "Stage Changed At" order,
become its dated history (so past forecasts, accuracy and stage calibration start with data); the latest
row is its current state. A deal imported as won books no contract: its term comes from the contracts
import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import Role, User
from opsdesk.success.imports.base import DATE_FORMATS, CellError, Checks, Row, RowError, check_rows
from opsdesk.success.models import Account
from opsdesk.success.pipeline.actions import MAX_CENTS
from opsdesk.success.pipeline.history import PastState, save_with_history
from opsdesk.success.pipeline.models import Opportunity, OpportunityKind, OpportunityStage

REQUIRED = ["Opportunity ID", "Type", "Amount", "Stage", "Close Date", "Stage Changed At"]
OPTIONAL = ["Account ID", "Account Name", "Opportunity Name", "Owner Email"]
KIND_ALIASES = {
    "renewal": OpportunityKind.RENEWAL,
    "expansion": OpportunityKind.EXPANSION,
    "upsell": OpportunityKind.UPSELL,
    "up-sell": OpportunityKind.UPSELL,
    "cross-sell": OpportunityKind.CROSS_SELL,
    "cross sell": OpportunityKind.CROSS_SELL,
    "cross_sell": OpportunityKind.CROSS_SELL,
}
STAGE_ALIASES = {
    **{s.value.replace("_", " "): s for s in OpportunityStage},
    "qualification": OpportunityStage.QUALIFY,
    "discovery": OpportunityStage.DISCOVER,
    "proposal": OpportunityStage.PROPOSE,
    "negotiation": OpportunityStage.NEGOTIATE,
    "closed won": OpportunityStage.CLOSED_WON,
    "won": OpportunityStage.CLOSED_WON,
    "closed lost": OpportunityStage.CLOSED_LOST,
    "lost": OpportunityStage.CLOSED_LOST,
}
STAFF_ROLES = (Role.CSM, Role.CS_LEAD, Role.ADMIN)


@dataclass(frozen=True)
class Step:
    """One history row of an opportunity."""

    line: int
    external_id: str
    account: Account
    kind: OpportunityKind
    name: str | None
    owner: User | None
    at: datetime
    stage: OpportunityStage
    amount_cents: int
    close_date: date


@dataclass
class PlannedOpportunity:
    line: int  # the first line of the opportunity in the file
    external_id: str
    steps: list[Step] = field(default_factory=list)
    existing: bool = False
    unchanged: bool = False

    @property
    def last(self) -> Step:
        return self.steps[-1]


def parse_moment(column: str, value: str) -> datetime:
    """A date (midnight UTC) or an ISO date and time (UTC unless an offset is given)."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CellError(column, f"{value!r} is not a date or date and time (YYYY-MM-DD[ HH:MM])") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def validate(
    session: Session, rows: list[Row], *, clock: Clock
) -> tuple[list[PlannedOpportunity], list[RowError]]:
    by_id = {
        a.external_id: a for a in session.scalars(select(Account).where(Account.external_id.is_not(None)))
    }
    by_name: dict[str, list[Account]] = {}
    for account in session.scalars(select(Account)):
        by_name.setdefault(account.name.strip().lower(), []).append(account)
    users = {u.email.lower(): u for u in session.scalars(select(User)) if u.email}
    now = clock.now()

    def check(row: Row) -> Step:
        checks = Checks()
        external_id = checks(lambda: row.required("Opportunity ID"))
        account = checks(lambda: _account(row, by_id, by_name))
        kind_text = checks(lambda: row.required("Type"))
        kind = KIND_ALIASES.get(kind_text.strip().lower()) if kind_text else None
        if kind_text is not None and kind is None:
            checks.fail("Type", f"unknown type {kind_text!r} (Renewal, Expansion, Upsell or Cross-Sell)")
        stage_text = checks(lambda: row.required("Stage"))
        stage = (
            STAGE_ALIASES.get(" ".join(stage_text.lower().replace("_", " ").split())) if stage_text else None
        )
        if stage_text is not None and stage is None:
            checks.fail(
                "Stage", f"unknown stage {stage_text!r} (Qualify ... Negotiate, Closed Won, Closed Lost)"
            )
        amount = checks(lambda: row.cents("Amount", required=True))
        if amount is not None and not 0 <= amount <= MAX_CENTS:
            checks.fail("Amount", "must be between 0 and 10^13 dollars")
        close_date = checks(lambda: row.day("Close Date", required=True))
        at = checks(lambda: parse_moment("Stage Changed At", row.required("Stage Changed At")))
        if at is not None and at > now:
            checks.fail("Stage Changed At", f"{at.isoformat()} is in the future")
        owner: User | None = None
        email = row.text("Owner Email")
        if email is not None:
            owner = users.get(email.lower())
            if owner is None:
                checks.fail("Owner Email", f"unknown user {email}")
            elif owner.role not in STAFF_ROLES:
                checks.fail("Owner Email", f"{email} is not in customer success")
        checks.settle()
        assert external_id and account and kind and stage and amount is not None and close_date and at
        return Step(
            row.line,
            external_id,
            account,
            kind,
            row.text("Opportunity Name"),
            owner,
            at,
            stage,
            amount,
            close_date,
        )

    steps, errors = check_rows(rows, check)
    grouped: dict[str, PlannedOpportunity] = {}
    for step in steps:
        grouped.setdefault(step.external_id, PlannedOpportunity(step.line, step.external_id)).steps.append(
            step
        )
    planned: list[PlannedOpportunity] = []
    known = {
        o.external_id: o
        for o in session.scalars(select(Opportunity).where(Opportunity.external_id.in_(list(grouped))))
    }
    for plan in grouped.values():
        problems = _consistency(plan)
        if problems:
            errors.extend(problems)
            continue
        plan.steps.sort(key=lambda s: s.at)
        stored = known.get(plan.external_id)
        plan.existing = stored is not None
        plan.unchanged = stored is not None and _state(stored) == _planned_state(plan)
        planned.append(plan)
    return planned, errors


def _account(row: Row, by_id: dict[str | None, Account], by_name: dict[str, list[Account]]) -> Account:
    ref, name = row.text("Account ID"), row.text("Account Name")
    if ref is not None:
        if ref not in by_id:
            raise CellError("Account ID", f"unknown account {ref} (import accounts first)")
        return by_id[ref]
    if name is None:
        raise CellError("Account ID", "an Account ID or an Account Name is required")
    matches = by_name.get(name.lower(), [])
    if not matches:
        raise CellError("Account Name", f"unknown account {name!r}")
    if len(matches) > 1:
        raise CellError("Account Name", f"{len(matches)} accounts are named {name!r}: give the Account ID")
    return matches[0]


def _consistency(plan: PlannedOpportunity) -> list[RowError]:
    """The rows of one opportunity must agree on its account and type, and not repeat a moment."""
    first = plan.steps[0]
    problems: list[RowError] = []
    seen: dict[datetime, int] = {}
    for step in plan.steps:
        if step.account.id != first.account.id:
            problems.append(
                RowError(
                    step.line,
                    "Account ID",
                    f"opportunity {plan.external_id} is on another account on line {first.line}",
                )
            )
        if step.kind is not first.kind:
            problems.append(
                RowError(
                    step.line,
                    "Type",
                    f"opportunity {plan.external_id} is a {first.kind.value} on line {first.line}",
                )
            )
        if step.at in seen:
            problems.append(
                RowError(
                    step.line,
                    "Stage Changed At",
                    f"same moment as line {seen[step.at]} of {plan.external_id}",
                )
            )
        seen.setdefault(step.at, step.line)
    return problems


def _history_state(rows: list[tuple[datetime, OpportunityStage, int, date]]) -> list[tuple[object, ...]]:
    return [
        (at.astimezone(UTC).replace(microsecond=0), stage, amount, close) for at, stage, amount, close in rows
    ]


def _planned_state(plan: PlannedOpportunity) -> tuple[object, ...]:
    last = plan.last
    return (
        last.account.id,
        last.kind,
        _name(plan),
        last.owner.id if last.owner else None,
        _history_state([(s.at, s.stage, s.amount_cents, s.close_date) for s in plan.steps]),
    )


def _state(stored: Opportunity) -> tuple[object, ...]:
    return (
        stored.account_id,
        stored.kind,
        stored.name,
        stored.owner_id,
        _history_state([(h.at, h.stage, h.amount_cents, h.close_date) for h in stored.history]),
    )


def _name(plan: PlannedOpportunity) -> str:
    named = next((s.name for s in reversed(plan.steps) if s.name), None)
    last = plan.last
    return (named or f"{last.kind.value.replace('_', '-').capitalize()}: {last.account.name}")[:200]


def apply(
    session: Session, planned: list[PlannedOpportunity], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    """Create or update each opportunity and replace its history with the file's, dated as in the file."""
    for plan in planned:
        if not plan.unchanged:
            last = plan.last
            save_with_history(
                session,
                account=last.account,
                kind=last.kind,
                name=_name(plan),
                states=[PastState(s.at, s.stage, s.amount_cents, s.close_date) for s in plan.steps],
                owner=last.owner,
                external_id=plan.external_id,
                opportunity=session.scalar(
                    select(Opportunity).where(Opportunity.external_id == plan.external_id)
                ),
                clock=clock,
            )
        progress(len(plan.steps))
    updated = sum(p.existing and not p.unchanged for p in planned)
    return sum(not p.existing for p in planned), updated
