"""Accounts from a Salesforce-style account report, keyed by "Account ID"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import Role, User
from opsdesk.success import actions, segmenting
from opsdesk.success.imports.base import CellError, Checks, Row, RowError, check_rows
from opsdesk.success.models import Account, Segment, Stage
from opsdesk.success.segments import DEFAULT_BANDS

REQUIRED = ["Account ID", "Account Name", "Covered Lives"]
OPTIONAL = [
    "Parent Account ID",
    "Industry",
    "Billing Region",
    "Account Owner Email",
    "Stage",
    "Stage Date",
    "Segment",
]


@dataclass
class PlannedAccount:
    line: int
    external_id: str
    name: str
    parent_external_id: str | None
    covered_lives: int
    industry: str | None
    region: str | None
    owner: User | None
    stage: Stage | None
    stage_date: date | None
    segment: str | None
    existing: Account | None
    present: frozenset[str]  # the optional columns the file has; the others leave stored values alone
    unchanged: bool = False  # an existing account the row would not change


def parse_stage(column: str, value: str | None) -> Stage | None:
    if value is None:
        return None
    try:
        return Stage(value.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in Stage)
        raise CellError(column, f"unknown stage {value!r} (one of {choices})") from None


def validate(
    session: Session, rows: list[Row], *, clock: Clock
) -> tuple[list[PlannedAccount], list[RowError]]:
    existing = {
        a.external_id: a for a in session.scalars(select(Account).where(Account.external_id.is_not(None)))
    }
    segment_ids = {name: id_ for name, id_ in session.execute(select(Segment.name, Segment.id))}
    segment_names = set(segment_ids) or {b.name for b in DEFAULT_BANDS}
    users: dict[str, User | None] = {}
    first_line: dict[str, int] = {}

    def owner_for(email: str | None) -> User | None:
        if email is None:
            return None
        key = email.lower()
        if key not in users:
            users[key] = session.scalar(select(User).where(User.email == key))
        user = users[key]
        if user is None:
            raise CellError("Account Owner Email", f"unknown owner {email}")
        if user.role is not Role.CSM:
            raise CellError("Account Owner Email", f"owner {email} is not a CSM")
        return user

    def check(row: Row) -> PlannedAccount:
        checks = Checks()
        external_id = checks(lambda: row.required("Account ID"))
        if external_id is not None and external_id in first_line:
            checks.fail(
                "Account ID", f"duplicate Account ID {external_id} (first on line {first_line[external_id]})"
            )
        elif external_id is not None:
            first_line[external_id] = row.line
        name = checks(lambda: row.required("Account Name"))
        lives = checks(lambda: row.whole("Covered Lives", required=True))
        parent = row.text("Parent Account ID")
        if parent is not None and parent == external_id:
            checks.fail("Parent Account ID", "an account cannot be its own parent")
        segment = row.text("Segment")
        if segment is not None and segment not in segment_names:
            checks.fail("Segment", f"unknown segment {segment!r} (known: {', '.join(sorted(segment_names))})")
        stage_date = checks(lambda: row.day("Stage Date"))
        if stage_date is not None and stage_date > clock.now().date():
            checks.fail("Stage Date", f"{stage_date} is in the future")
        owner = checks(lambda: owner_for(row.text("Account Owner Email")))
        stage = checks(lambda: parse_stage("Stage", row.text("Stage")))
        checks.settle()
        assert external_id is not None and name is not None and lives is not None
        plan = PlannedAccount(
            line=row.line,
            external_id=external_id,
            name=name,
            parent_external_id=parent,
            covered_lives=lives,
            industry=row.text("Industry"),
            region=row.text("Billing Region"),
            owner=owner,
            stage=stage,
            stage_date=stage_date,
            segment=segment,
            existing=existing.get(external_id),
            present=frozenset(c for c in OPTIONAL if row.present(c)),
        )
        plan.unchanged = plan.existing is not None and not account_changes(plan, plan.existing, segment_ids)
        return plan

    planned, errors = check_rows(rows, check)
    # Parents may be in the database or anywhere in the file; a rejected parent rejects its children,
    # and the hierarchy after the import must have no loops.
    id_on_line = {row.line: (row.cells.get("Account ID") or "").strip() for row in rows}
    while True:
        in_file = {p.external_id: p for p in planned}
        rejected = {id_on_line.get(e.line): e.line for e in reversed(errors)}
        bad = {}
        for plan in planned:
            ref = plan.parent_external_id
            if ref is not None and ref not in in_file and ref not in existing:
                why = (
                    f"parent row (line {rejected[ref]}) was rejected" if ref in rejected else "unknown parent"
                )
                bad[plan.line] = RowError(plan.line, "Parent Account ID", f"{why}: {ref}")
        for plan in planned:
            if plan.line not in bad and _loops(plan, in_file, existing):
                bad[plan.line] = RowError(plan.line, "Parent Account ID", "this parent would make a loop")
        if not bad:
            return planned, errors
        errors.extend(bad.values())
        planned = [p for p in planned if p.line not in bad]


def account_changes(plan: PlannedAccount, account: Account, segment_ids: dict[str, int]) -> dict[str, object]:
    """The stored fields the row would change: required columns always count, optional ones only when
    the file has the column."""
    wanted: dict[str, object] = {"name": plan.name, "covered_lives": plan.covered_lives}
    stored: dict[str, object] = {"name": account.name, "covered_lives": account.covered_lives}
    if "Industry" in plan.present:
        wanted["industry"], stored["industry"] = plan.industry, account.industry
    if "Billing Region" in plan.present:
        wanted["region"], stored["region"] = plan.region, account.region
    if "Account Owner Email" in plan.present:
        wanted["owner"], stored["owner"] = plan.owner.id if plan.owner else None, account.owner_id
    if "Segment" in plan.present:
        wanted["segment"] = segment_ids.get(plan.segment, -1) if plan.segment else None
        stored["segment"] = account.segment_override_id
    if "Stage" in plan.present and plan.stage is not None:
        wanted["stage"], stored["stage"] = plan.stage, account.stage
    if "Parent Account ID" in plan.present:
        wanted["parent"] = plan.parent_external_id
        stored["parent"] = account.parent.external_id if account.parent is not None else None
    return {k: v for k, v in wanted.items() if stored[k] != v}


def _loops(
    plan: PlannedAccount, in_file: dict[str, PlannedAccount], existing: dict[str | None, Account]
) -> bool:
    seen = {plan.external_id}
    ref = plan.parent_external_id
    while ref is not None:
        if ref in seen:
            return True
        seen.add(ref)
        if ref in in_file:
            ref = in_file[ref].parent_external_id
        elif ref in existing and existing[ref].parent is not None:
            ref = existing[ref].parent.external_id  # type: ignore[union-attr]
        else:
            return False
    return False


def apply(
    session: Session, planned: list[PlannedAccount], *, clock: Clock, progress: Callable[[int], None]
) -> tuple[int, int]:
    """Upsert every account first, then wire the parents, so a child may come before its parent."""
    segments = {s.name: s for s in segmenting.ensure_default_segments(session, clock=clock)}
    by_external: dict[str, Account] = {}
    created = updated = 0
    for plan in planned:
        override = segments[plan.segment] if plan.segment else None
        if plan.existing is None:
            account = actions.create_account(
                session,
                name=plan.name,
                external_id=plan.external_id,
                covered_lives=plan.covered_lives,
                industry=plan.industry,
                region=plan.region,
                owner=plan.owner,
                stage=plan.stage or Stage.IMPLEMENTATION,
                stage_since=plan.stage_date,
                segment_override=override,
                clock=clock,
            )
            created += 1
        elif plan.unchanged:
            account = plan.existing
        else:
            account = plan.existing
            optional: dict[str, tuple[str, Any]] = {
                "industry": ("Industry", plan.industry),
                "region": ("Billing Region", plan.region),
                "owner": ("Account Owner Email", plan.owner),
                "segment_override": ("Segment", override),
            }
            actions.update_account(
                session,
                account=account,
                name=plan.name,
                covered_lives=plan.covered_lives,
                clock=clock,
                **{field: value for field, (column, value) in optional.items() if column in plan.present},
            )
            if plan.stage is not None:
                actions.change_stage(
                    session,
                    account=account,
                    to=plan.stage,
                    on=plan.stage_date or clock.now().date(),
                    clock=clock,
                )
            updated += 1
        by_external[plan.external_id] = account
        progress(1)
    for plan in planned:
        if plan.existing is not None and "Parent Account ID" not in plan.present:
            continue
        account = by_external[plan.external_id]
        ref = plan.parent_external_id
        parent = None
        if ref is not None:
            parent = by_external.get(ref) or session.scalar(select(Account).where(Account.external_id == ref))
        if parent is not account.parent:
            actions.update_account(session, account=account, parent=parent, clock=clock)
    return created, updated
