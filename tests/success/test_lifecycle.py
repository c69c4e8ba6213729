"""The account lifecycle on the database: phase owners, hand-offs with their checklist (refused while a
required check is open, nothing written), the next owner's tasks and the events, configured checklists,
and time in stage / to launch from the stage-change history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.models import Event, Role, User
from opsdesk.success import actions as success
from opsdesk.success.lifecycle import actions, queries
from opsdesk.success.lifecycle.handoff import as_lines, from_lines, parse_items
from opsdesk.success.lifecycle.phases import Phase
from opsdesk.success.lifecycle.timing import Entered, spells, time_to_launch
from opsdesk.success.models import Account, Stage
from opsdesk.success.playbooks.models import Task
from tests.factories import make_user


def test_spells_and_time_to_launch_from_entries_alone() -> None:
    I, L, A, C = Stage.IMPLEMENTATION, Stage.LAUNCH, Stage.ADOPTION, Stage.CHURNED  # noqa: E741
    history = spells(
        [
            Entered(1, I, date(2024, 1, 1), 1),
            Entered(1, A, date(2024, 5, 1), 4),  # dated after the launch, recorded before it
            Entered(1, L, date(2024, 3, 1), 5),
            Entered(1, C, date(2025, 1, 1), 6),
            Entered(1, I, date(2025, 6, 1), 7),
            Entered(1, I, date(2025, 6, 2), 8),  # the same stage again continues the spell
            Entered(1, A, date(2025, 7, 1), 9),  # straight to adoption: live too
        ]
    )[1]
    assert [(s.stage, s.start, s.end) for s in history] == [
        (I, date(2024, 1, 1), date(2024, 3, 1)),
        (L, date(2024, 3, 1), date(2024, 5, 1)),
        (A, date(2024, 5, 1), date(2025, 1, 1)),
        (C, date(2025, 1, 1), date(2025, 6, 1)),
        (I, date(2025, 6, 1), date(2025, 7, 1)),
        (A, date(2025, 7, 1), None),
    ]
    assert time_to_launch(history) == 30  # the latest implementation, not the first (60 days)
    assert time_to_launch(history[:1]) is None  # still implementing


@dataclass
class Team:
    csm: User
    manager: User
    renewals: User
    agent: User
    account: Account


def _team(db: Session, clock: FixedClock) -> Team:
    csm = make_user(db, clock, Role.CSM, email="cleo@example.com")
    return Team(
        csm=csm,
        manager=make_user(db, clock, Role.CSM, email="ivan@example.com"),
        renewals=make_user(db, clock, Role.CS_LEAD, email="rae@example.com"),
        agent=make_user(db, clock, Role.AGENT, email="ana@example.com"),
        account=success.create_account(
            db, name="Acme", covered_lives=800, owner=csm, stage_since=date(2026, 1, 5), clock=clock
        ),
    )


def test_hand_off_checks_the_list_gives_the_next_owner_tasks_and_records_both(
    db: Session, session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    team = _team(db, clock)
    account, csm = team.account, team.csm
    actions.set_phase_owner(db, account=account, phase=Phase.RENEWAL, user=team.renewals, clock=clock)
    with pytest.raises(ValidationFailed) as refused:
        actions.set_phase_owner(db, account=account, phase=Phase.IMPLEMENTATION, user=team.agent, clock=clock)
    assert refused.value.field == "implementation"
    with pytest.raises(ValidationFailed):
        actions.set_phase_owner(db, account=account, phase=Phase.POST_LAUNCH, user=team.manager, clock=clock)
    db.commit()

    items, default = queries.checklist(db, Stage.IMPLEMENTATION, Stage.LAUNCH)
    assert default and sum(i.kind == "check" for i in items) == 5
    with pytest.raises(ValidationFailed) as incomplete:
        actions.hand_off(
            db,
            account=account,
            to=Stage.LAUNCH,
            on=date(2026, 3, 1),
            checked={0, 1, 2},
            clock=clock,
            actor=csm,
        )
    assert incomplete.value.field == "checked" and "HR and benefits contacts" in incomplete.value.message
    db.rollback()

    done = actions.hand_off(
        db, account=account, to=Stage.LAUNCH, on=date(2026, 3, 1), checked={0, 1, 2, 3},
        note="Go-live went well", clock=clock, actor=csm,
    )  # fmt: skip
    assert done.next_owner is csm  # no implementation manager named: post-launch is the CSM anyway
    db.commit()

    with session_factory() as fresh:
        stored = fresh.get_one(Account, account.id)
        assert (stored.stage, stored.stage_since) == (Stage.LAUNCH, date(2026, 3, 1))
        events = fresh.execute(
            select(Event.type, Event.data).where(
                Event.subject_type == "account", Event.subject_id == account.id
            )
        ).all()
        kinds = [e.type for e in events]
        assert kinds.count("account_stage_changed") == 1 and kinds.count("handoff_completed") == 1
        answers = next(e.data for e in events if e.type == "handoff_completed")
        assert answers["from"] == "implementation" and answers["to"] == "launch"
        assert answers["note"] == "Go-live went well"
        assert [a["done"] for a in answers["checklist"]] == [True, True, True, True, False]
        tasks = fresh.scalars(select(Task).where(Task.account_id == account.id).order_by(Task.id)).all()
        assert [(t.title, t.owner_id, t.due_on) for t in tasks] == [
            ("Introduce yourself to the customer as their CSM", csm.id, date(2026, 3, 5)),
            ("Review the implementation notes and open issues", csm.id, date(2026, 3, 9)),
        ]
        assert sorted(answers["task_ids"]) == [t.id for t in tasks]

    success.change_stage(db, account=account, to=Stage.ADOPTION, on=date(2026, 3, 2), clock=clock)
    with pytest.raises(ValidationFailed):  # already there
        actions.hand_off(
            db, account=account, to=Stage.ADOPTION, on=date(2026, 3, 2), checked=set(), clock=clock
        )
    renewal = actions.hand_off(
        db, account=account, to=Stage.RENEWAL, on=date(2026, 3, 2), checked={0, 1}, clock=clock, actor=csm
    )
    db.commit()
    assert renewal.next_owner is team.renewals
    assert {t.owner_id for t in renewal.tasks} == {team.renewals.id}
    assert [t.title for t in renewal.tasks] == [
        "Plan the renewal conversation",
        "Prepare the value review for the customer",
    ]


def test_a_configured_checklist_replaces_the_default_until_reset(db: Session, clock: FixedClock) -> None:
    team = _team(db, clock)
    account, lead = team.account, team.renewals
    items = [
        {"kind": "check", "text": "Kick-off deck sent"},
        {"kind": "check", "text": "Payroll integration tested", "required": False},
        {"kind": "task", "text": "Book the launch review", "due_days": 2},
    ]
    with pytest.raises(ValidationFailed) as bad:
        actions.save_checklist(
            db,
            from_stage=Stage.IMPLEMENTATION,
            to=Stage.LAUNCH,
            items=[{"kind": "poem", "text": "x"}],
            clock=clock,
        )
    assert bad.value.field == "items.0.kind"
    actions.save_checklist(
        db, from_stage=Stage.IMPLEMENTATION, to=Stage.LAUNCH, items=items, clock=clock, actor=lead
    )
    db.commit()
    stored, default = queries.checklist(db, Stage.IMPLEMENTATION, Stage.LAUNCH)
    assert not default and [i.text for i in stored] == [i["text"] for i in items]
    done = actions.hand_off(
        db, account=account, to=Stage.LAUNCH, on=date(2026, 3, 2), checked={0}, clock=clock
    )
    assert [(t.title, t.due_on) for t in done.tasks] == [("Book the launch review", date(2026, 3, 4))]
    actions.save_checklist(db, from_stage=Stage.IMPLEMENTATION, to=Stage.LAUNCH, items=None, clock=clock)
    db.commit()
    assert queries.checklist(db, Stage.IMPLEMENTATION, Stage.LAUNCH)[1] is True
    saved = db.scalars(
        select(Event.type).where(Event.subject_type == "handoff_checklist").order_by(Event.id)
    ).all()
    assert saved == ["handoff_checklist_saved", "handoff_checklist_reset"]


def test_time_in_stage_and_to_launch_per_account_and_segment_medians(db: Session, clock: FixedClock) -> None:
    """Three small accounts launched after 30, 40 and 90 days; one is still implementing; the large
    one launched after 100 days. Medians count finished stays only."""
    csm = make_user(db, clock, Role.CSM, email="cleo@example.com")
    launched = {}
    for name, lives, start, launch in (
        ("A", 50, date(2025, 1, 1), date(2025, 1, 31)),
        ("B", 50, date(2025, 1, 1), date(2025, 2, 10)),
        ("C", 50, date(2025, 1, 1), date(2025, 4, 1)),
        ("D", 50, date(2026, 1, 1), None),
        ("E", 8_000, date(2025, 1, 1), date(2025, 4, 11)),
    ):
        account = success.create_account(
            db, name=name, covered_lives=lives, owner=csm, stage_since=start, clock=clock
        )
        if launch is not None:
            success.change_stage(db, account=account, to=Stage.LAUNCH, on=launch, clock=clock)
        launched[name] = account
    success.change_stage(db, account=launched["A"], to=Stage.ADOPTION, on=date(2025, 3, 2), clock=clock)
    db.commit()

    report = queries.lifecycle_report(db, date(2026, 3, 2))
    rows = {a.name: a.timing for a in report.accounts}
    assert rows["A"].time_to_launch == 30 and rows["A"].stage is Stage.ADOPTION
    assert rows["A"].days_by_stage == {Stage.IMPLEMENTATION: 30, Stage.LAUNCH: 30, Stage.ADOPTION: 365}
    assert rows["D"].time_to_launch is None and rows["D"].implementing_for == 60
    small, large = (next(s for s in report.segments if s.segment == n) for n in ("Small business", "Large"))
    assert small.accounts == 4 and small.median_time_to_launch == 40 and small.launched == 3
    assert small.median_days[Stage.IMPLEMENTATION] == 40 and small.running[Stage.IMPLEMENTATION] == 1
    assert small.median_days[Stage.LAUNCH] == 30 and small.finished[Stage.LAUNCH] == 1
    assert large.median_time_to_launch == 100
    only_large = queries.lifecycle_report(db, date(2026, 3, 2), segment="Large")
    assert [a.name for a in only_large.accounts] == ["E"]


def test_the_checklist_page_text_reads_back_as_the_items() -> None:
    items = parse_items(
        from_lines(
            "check: Contract signed\n\noptional:  Exit interview offered \nTask 14: Close out open work"
        )
    )
    assert [(i.kind, i.text, i.required, i.due_days) for i in items] == [
        ("check", "Contract signed", True, 7),
        ("check", "Exit interview offered", False, 7),
        ("task", "Close out open work", True, 14),
    ]
    assert (
        as_lines(items)
        == "check: Contract signed\noptional: Exit interview offered\ntask 14: Close out open work"
    )
    for bad, line in (
        ("check: a\nmaybe: b", "line 2"),
        ("task soon: call", "line 1"),
        ("no colon", "line 1"),
    ):
        with pytest.raises(ValidationFailed, match=line):
            from_lines(bad)
