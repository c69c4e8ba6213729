"""The account lifecycle over HTTP: /api/v1/accounts/{id}/lifecycle (owners, history, next stages),
PUT .../phase-owners, POST .../hand-offs (a stage change with its checklist and the next owner's
tasks), /api/v1/lifecycle/checklists/{from}/{to} (GET; PUT and DELETE by CS leads and admins) and
/api/v1/lifecycle/report (time in stage and to launch per account, medians per segment)."""

from __future__ import annotations

from fastapi import APIRouter

from opsdesk.core import permissions
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import User
from opsdesk.success import queries as success_queries
from opsdesk.success.lifecycle import actions, queries
from opsdesk.success.lifecycle.actions import require_checklist_editor
from opsdesk.success.lifecycle.phases import PHASE_LABELS, Phase, next_stages
from opsdesk.success.lifecycle.queries import LifecycleReport
from opsdesk.success.lifecycle.schemas import (
    AccountTimingOut,
    AnswerOut,
    ChecklistIn,
    ChecklistOut,
    HandOffIn,
    HandOffOut,
    ItemOut,
    LifecycleOut,
    LifecycleReportOut,
    PhaseOwnerOut,
    PhaseOwnersIn,
    SegmentTimingOut,
    SpellOut,
)
from opsdesk.success.models import Account, Stage
from opsdesk.success.playbooks.schemas import TaskOut
from opsdesk.web.api.params import OptionalFilter, PathId, QueryId
from opsdesk.web.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(tags=["lifecycle"])


def lifecycle_out(session: SessionDep, account: Account, clock: ClockDep) -> LifecycleOut:
    today = clock.now().date()
    history, timing = queries.account_lifecycle(session, account, today)
    owners = queries.phase_owners(session, account)
    return LifecycleOut(
        account_id=account.id,
        stage=account.stage,
        stage_since=account.stage_since,
        owners=[
            PhaseOwnerOut(
                phase=phase,
                role=PHASE_LABELS[phase],
                user_id=user.id if user else None,
                name=user.name if user else None,
            )
            for phase, user in owners.items()
        ],
        next_stages=next_stages(account.stage),
        history=[SpellOut(stage=s.stage, start=s.start, end=s.end, days=s.days(today)) for s in history],
        time_to_launch_days=timing.time_to_launch,
    )


def report_out(report: LifecycleReport) -> LifecycleReportOut:
    return LifecycleReportOut(
        segments=[
            SegmentTimingOut(
                segment=s.segment,
                accounts=s.accounts,
                median_days={k.value: v for k, v in s.median_days.items()},
                finished={k.value: v for k, v in s.finished.items()},
                running={k.value: v for k, v in s.running.items()},
                median_time_to_launch_days=s.median_time_to_launch,
                launched=s.launched,
            )
            for s in report.segments
        ],
        accounts=[
            AccountTimingOut(
                account_id=a.account_id,
                name=a.name,
                segment=a.segment,
                csm=a.csm,
                stage=a.timing.stage,
                since=a.timing.since,
                days_in_stage=a.timing.days_in_stage,
                days_by_stage={k.value: v for k, v in a.timing.days_by_stage.items()},
                time_to_launch_days=a.timing.time_to_launch,
                implementing_for_days=a.timing.implementing_for,
            )
            for a in report.accounts
        ],
    )


@router.get("/accounts/{account_id}/lifecycle", response_model=LifecycleOut)
def get_lifecycle(
    account_id: PathId, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> LifecycleOut:
    permissions.require(user, permissions.SUCCESS_READ)
    return lifecycle_out(session, success_queries.account(session, account_id), clock)


@router.put("/accounts/{account_id}/phase-owners", response_model=LifecycleOut)
def put_phase_owners(
    account_id: PathId, body: PhaseOwnersIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> LifecycleOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    account = success_queries.account(session, account_id)
    for field in sorted(body.model_fields_set):
        user_id = getattr(body, field)
        owner = session.get(User, user_id) if user_id is not None else None
        if user_id is not None and owner is None:
            raise ValidationFailed(f"no user {user_id}", field=field)
        actions.set_phase_owner(
            session, account=account, phase=Phase(field), user=owner, clock=clock, actor=user
        )
    session.commit()
    return lifecycle_out(session, account, clock)


@router.post("/accounts/{account_id}/hand-offs", status_code=201, response_model=HandOffOut)
def post_hand_off(
    account_id: PathId, body: HandOffIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> HandOffOut:
    permissions.require(user, permissions.SUCCESS_WRITE)
    account = success_queries.account(session, account_id)
    done = actions.hand_off(
        session,
        account=account,
        to=body.to,
        on=body.on or clock.now().date(),
        checked=set(body.checked),
        note=body.note,
        clock=clock,
        actor=user,
    )
    session.commit()
    return HandOffOut(
        account_id=account.id,
        from_stage=done.from_stage,
        to=done.to,
        on=done.on,
        next_owner_id=done.next_owner.id if done.next_owner else None,
        checklist=[AnswerOut(**a) for a in done.answers],
        tasks=[TaskOut.model_validate(t) for t in done.tasks],
    )


def _checklist_out(session: SessionDep, from_stage: Stage, to: Stage) -> ChecklistOut:
    items, default = queries.checklist(session, from_stage, to)
    return ChecklistOut(
        from_stage=from_stage,
        to=to,
        default=default,
        items=[ItemOut(kind=i.kind, text=i.text, required=i.required, due_days=i.due_days) for i in items],
    )


@router.get("/lifecycle/checklists/{from_stage}/{to}", response_model=ChecklistOut)
def get_checklist(from_stage: Stage, to: Stage, user: CurrentUser, session: SessionDep) -> ChecklistOut:
    permissions.require(user, permissions.SUCCESS_READ)
    return _checklist_out(session, from_stage, to)


@router.put("/lifecycle/checklists/{from_stage}/{to}", response_model=ChecklistOut)
def put_checklist(
    from_stage: Stage, to: Stage, body: ChecklistIn, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> ChecklistOut:
    require_checklist_editor(user)
    actions.save_checklist(
        session,
        from_stage=from_stage,
        to=to,
        items=[i.model_dump() for i in body.items],
        clock=clock,
        actor=user,
    )
    session.commit()
    return _checklist_out(session, from_stage, to)


@router.delete("/lifecycle/checklists/{from_stage}/{to}", response_model=ChecklistOut)
def reset_checklist(
    from_stage: Stage, to: Stage, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> ChecklistOut:
    """Back to the default checklist of the transition."""
    require_checklist_editor(user)
    actions.save_checklist(session, from_stage=from_stage, to=to, items=None, clock=clock, actor=user)
    session.commit()
    return _checklist_out(session, from_stage, to)


@router.get("/lifecycle/report", response_model=LifecycleReportOut)
def get_report(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    segment: OptionalFilter = None,
    csm_id: QueryId = None,
) -> LifecycleReportOut:
    permissions.require(user, permissions.SUCCESS_READ)
    report = queries.lifecycle_report(session, clock.now().date(), segment=segment or None, csm_id=csm_id)
    return report_out(report)
