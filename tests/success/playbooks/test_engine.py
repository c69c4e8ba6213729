"""The playbook engine on real databases: each condition episode fires once, across reruns, restarts and
racing runs; a condition that lapses and holds again fires again; event triggers ignore older events."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.events import append_event
from opsdesk.core.models import Event, Role
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import Account, ContactRole, PriceModel, Stage
from opsdesk.success.playbooks import actions
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.engine import apply_run, plan_run, run_playbooks
from opsdesk.success.playbooks.models import OwnerRule, PlaybookEpisode, Task, TriggerKind
from opsdesk.success.voice import actions as voice
from opsdesk.success.voice.models import Severity
from tests.factories import make_user

RENEWAL_EMAIL = TemplateSpec(
    title="Renewal call with {account_name}",
    due_offset_days=7,
    email_subject="Your renewal on {renewal_date}",
    email_body="Dear {contact_name},\n{account_name} renews on {renewal_date} ({covered_lives} lives)."
    "\n{csm_name}",
)


def book(db: Session, clock: FixedClock) -> Account:
    csm = make_user(db, clock, Role.CSM, email="csm@example.com")
    account = success.create_account(db, name="Acme Health", covered_lives=1000, owner=csm, clock=clock)
    success.save_contact(
        db, account=account, name="Hana HR", role=ContactRole.HR_LEADER, email="h@acme.test", clock=clock
    )
    contracts.save_subscription(
        db,
        account=account,
        start=date(2025, 5, 1),
        end=date(2026, 4, 30),
        price_model=PriceModel.PEPM,
        pepm_cents=300,
        covered_lives=1000,
        clock=clock,
    )
    return account


def tasks(db: Session) -> list[Task]:
    return list(db.scalars(select(Task).order_by(Task.id)))


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_renewal_fires_once_across_rerun_restart_and_race(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    account = book(db, clock)
    lead = make_user(db, clock, Role.CS_LEAD, email="lead@example.com")
    actions.create_playbook(
        db,
        name="Renewal 90",
        trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 90},
        templates=[RENEWAL_EMAIL, TemplateSpec(title="Review pricing", owner_rule=OwnerRule.CS_LEAD)],
        clock=clock,
    )
    db.commit()

    # Two workers plan against the same state before either fires.
    racer_a, racer_b = session_factory(), session_factory()
    plan_a = plan_run(racer_a, now=clock.now())
    plan_b = plan_run(racer_b, now=clock.now())
    assert [f.episode.key for f in plan_a] == ["renewal:2026-04-30"] == [f.episode.key for f in plan_b]
    first = apply_run(racer_a, plan_a, now=clock.now())
    racer_a.commit()
    second = apply_run(racer_b, plan_b, now=clock.now())  # loses on the UNIQUE key, cleanly
    racer_b.commit()
    racer_a.close(), racer_b.close()
    assert (first.fired, first.tasks_created, first.lost_races) == (1, 2, 0)
    assert (second.fired, second.tasks_created, second.lost_races) == (0, 0, 1)

    db.expire_all()
    made = tasks(db)
    assert [t.title for t in made] == ["Renewal call with Acme Health", "Review pricing"]
    call, pricing = made
    assert call.owner_id == account.owner_id and pricing.owner_id == lead.id
    assert call.due_on == date(2026, 3, 9) and pricing.due_on == date(2026, 3, 2)
    assert call.email_subject == "Your renewal on 2026-04-30"
    assert call.email_body == "Dear Hana HR,\nAcme Health renews on 2026-04-30 (1000 lives).\ncsm"
    created = db.scalars(select(Event).where(Event.type == "task_created")).all()
    assert sorted(e.data["task_id"] for e in created) == [call.id, pricing.id]
    assert all(e.subject_type == "account" and e.subject_id == account.id for e in created)

    # A restart: a fresh session (as a new process would open) a day later finds the episode fired.
    clock.advance(timedelta(days=1))
    with session_factory() as restarted:
        rerun = run_playbooks(restarted, now=clock.now())
        restarted.commit()
    assert rerun.fired == 0 and rerun.lost_races == 0
    assert count(db, Task) == 2 and count(db, PlaybookEpisode) == 1

    # The renewed contract has a new end date: a new episode when it comes within 90 days.
    contracts.save_subscription(
        db,
        account=account,
        start=date(2026, 5, 1),
        end=date(2027, 4, 30),
        price_model=PriceModel.PEPM,
        pepm_cents=300,
        covered_lives=1000,
        clock=clock,
    )
    db.commit()
    clock.set(clock.now().replace(year=2027, month=2, day=15))
    assert run_playbooks(db, now=clock.now()).fired == 1
    db.commit()
    assert count(db, Task) == 4


def test_health_red_episode_leaves_and_reenters(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)

    def band(to: str, frm: str) -> None:
        append_event(
            db,
            subject_type="account",
            subject_id=account.id,
            type="health_changed",
            at=clock.now(),
            data={"from_band": frm, "to_band": to, "score": 40},
        )

    band("red", "amber")  # before the playbook: history it must not replay
    clock.advance(timedelta(hours=1))
    actions.create_playbook(
        db,
        name="Red rescue",
        trigger_kind=TriggerKind.HEALTH_RED,
        trigger_params={},
        templates=[TemplateSpec(title="Rescue plan for {account_name}", due_offset_days=2)],
        clock=clock,
    )
    db.commit()
    assert run_playbooks(db, now=clock.now()).fired == 0

    clock.advance(timedelta(days=1))
    band("amber", "red")
    clock.advance(timedelta(days=1))
    band("red", "amber")
    assert run_playbooks(db, now=clock.now()).fired == 1
    db.commit()
    clock.advance(timedelta(days=1))
    band("red", "red")  # a rescore that stays red is the same stretch
    assert run_playbooks(db, now=clock.now()).fired == 0
    clock.advance(timedelta(days=1))
    band("green", "red")
    assert run_playbooks(db, now=clock.now()).fired == 0
    clock.advance(timedelta(days=1))
    # The health helper's own event shape ("from"/"to") is read as well.
    append_event(
        db,
        subject_type="account",
        subject_id=account.id,
        type="health_changed",
        at=clock.now(),
        data={"from": "green", "to": "red", "score": 30},
    )
    again = run_playbooks(db, now=clock.now())
    db.commit()
    assert again.fired == 1
    keys = db.scalars(select(PlaybookEpisode.episode_key).order_by(PlaybookEpisode.id)).all()
    assert len(keys) == 2 and keys[0] != keys[1]
    assert count(db, Task) == 2


def test_utilisation_below_for_months(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    actions.create_playbook(
        db,
        name="Low engagement",
        trigger_kind=TriggerKind.UTILISATION_BELOW,
        trigger_params={"pct": 10, "months": 3},
        templates=[TemplateSpec(title="Engagement campaign")],
        clock=clock,
    )

    def month(day: date, engaged: int) -> None:
        success.record_utilisation(
            db,
            account=account,
            month=day,
            engaged_members=engaged,
            sessions=engaged,
            programme_uptake_pct=Decimal(5),
        )

    month(date(2025, 11, 1), 200)
    month(date(2025, 12, 1), 50)
    month(date(2026, 1, 1), 60)
    month(date(2026, 3, 1), 10)  # the month in progress does not count
    db.commit()
    assert run_playbooks(db, now=clock.now()).fired == 0  # February missing: the run does not reach now
    month(date(2026, 2, 1), 90)
    db.commit()
    result = run_playbooks(db, now=clock.now())
    db.commit()
    assert result.fired == 1
    episode = db.scalar(select(PlaybookEpisode))
    assert episode is not None and episode.episode_key == "utilisation_below:10:2025-12-01"
    clock.set(clock.now().replace(month=4, day=3))  # March, still low: the same episode goes on
    assert run_playbooks(db, now=clock.now()).fired == 0
    month(date(2026, 4, 1), 300)
    for m in (5, 6, 7):
        month(date(2026, m, 1), 20)
    db.commit()
    clock.set(clock.now().replace(month=8, day=1))
    assert run_playbooks(db, now=clock.now()).fired == 1  # lapsed in April, a new run since May
    db.commit()
    assert count(db, PlaybookEpisode) == 2


def test_stage_nps_and_escalation_triggers(db: Session, clock: FixedClock) -> None:
    account = book(db, clock)
    success.change_stage(db, account=account, to=Stage.LAUNCH, on=clock.now().date(), clock=clock)
    clock.advance(timedelta(minutes=5))
    for name, kind, params in (
        ("Post-launch hand-off", TriggerKind.STAGE_CHANGED, {"from": "launch", "to": "adoption"}),
        ("Detractor call", TriggerKind.NPS_DETRACTOR, {}),
        ("Exec escalation", TriggerKind.ESCALATION_OPENED, {"severities": ["sev1", "sev2"]}),
    ):
        actions.create_playbook(
            db,
            name=name,
            trigger_kind=kind,
            trigger_params=params,
            templates=[TemplateSpec(title=f"{name}: {{trigger_reason}}")],
            clock=clock,
        )
    db.commit()
    clock.advance(timedelta(minutes=5))
    success.change_stage(db, account=account, to=Stage.ADOPTION, on=clock.now().date(), clock=clock)
    voice.record_nps_response(db, account=account, score=9, responded_at=clock.now(), clock=clock)
    voice.record_nps_response(db, account=account, score=4, responded_at=clock.now(), clock=clock)
    voice.open_escalation(db, account=account, severity=Severity.SEV3, title="Slow portal", clock=clock)
    voice.open_escalation(db, account=account, severity=Severity.SEV1, title="Claims down", clock=clock)
    db.commit()
    result = run_playbooks(db, now=clock.now())
    db.commit()
    assert result.by_playbook == {"Post-launch hand-off": 1, "Detractor call": 1, "Exec escalation": 1}
    assert sorted(t.title for t in tasks(db)) == [
        "Detractor call: NPS response of 4",
        "Exec escalation: sev1 escalation opened: Claims down",
        "Post-launch hand-off: stage changed from launch to adoption",
    ]
    assert run_playbooks(db, now=clock.now()).fired == 0


def test_inactive_and_future_playbooks_do_not_run(db: Session, clock: FixedClock) -> None:
    book(db, clock)
    playbook = actions.create_playbook(
        db,
        name="Renewal",
        trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 90},
        templates=[TemplateSpec(title="Call")],
        clock=clock,
        active=False,
    )
    db.commit()
    assert run_playbooks(db, now=clock.now()).fired == 0
    actions.update_playbook(db, playbook=playbook, active=True, clock=clock)
    assert run_playbooks(db, now=clock.now() - timedelta(days=1)).fired == 0  # did not exist yet
    assert run_playbooks(db, now=clock.now()).fired == 1


def test_renewal_outside_window_does_not_fire(db: Session, clock: FixedClock) -> None:
    book(db, clock)
    actions.create_playbook(
        db,
        name="Renewal 30",
        trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 30},
        templates=[TemplateSpec(title="Call")],
        clock=clock,
    )
    assert run_playbooks(db, now=clock.now()).fired == 0  # 59 days out


def test_racing_runs_in_threads_make_one_set_of_tasks(
    db: Session, clock: FixedClock, session_factory: sessionmaker[Session]
) -> None:
    """Two runs planned together and firing at the same moment: the second insert of a key waits for the
    writer that holds it and then fails on the constraint, which the engine absorbs."""
    for n in range(5):
        account = success.create_account(db, name=f"Employer {n}", covered_lives=100, clock=clock)
        contracts.save_subscription(
            db,
            account=account,
            start=date(2025, 5, 1),
            end=date(2026, 4, 30),
            price_model=PriceModel.PEPM,
            pepm_cents=300,
            covered_lives=100,
            clock=clock,
        )
    actions.create_playbook(
        db,
        name="Renewal 90",
        trigger_kind=TriggerKind.RENEWAL_WITHIN,
        trigger_params={"days": 90},
        templates=[TemplateSpec(title="Call"), TemplateSpec(title="Deck")],
        clock=clock,
    )
    db.commit()
    planned = threading.Barrier(2)
    results: list[tuple[int, int]] = []

    def worker() -> None:
        with session_factory() as session:
            firings = plan_run(session, now=clock.now())
            planned.wait(timeout=30)
            result = apply_run(session, firings, now=clock.now())
            session.commit()
            results.append((result.fired, result.lost_races))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(fired for fired, _ in results) == 5 and sum(lost for _, lost in results) == 5
    if db.get_bind().dialect.name == "postgresql":  # the loser waits on the winner's first key
        assert sorted(results) == [(0, 5), (5, 0)]
    assert count(db, PlaybookEpisode) == 5 and count(db, Task) == 10
