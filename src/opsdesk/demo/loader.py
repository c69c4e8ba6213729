"""`opsdesk demo`: build the demo organisation in one transaction, with a progress bar."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from rich.progress import Progress
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock, FixedClock
from opsdesk.core.models import User
from opsdesk.core.settings import Settings
from opsdesk.demo.automation import create_automation_demo
from opsdesk.demo.chats import create_chat_history
from opsdesk.demo.email import create_email_conversation
from opsdesk.demo.opportunities import create_opportunities
from opsdesk.demo.people import create_people
from opsdesk.demo.quality import create_quality_demo
from opsdesk.demo.routing import create_routing_demo
from opsdesk.demo.sla import create_sla_setup
from opsdesk.demo.social import create_social_history
from opsdesk.demo.success import create_success_book
from opsdesk.demo.success_work import create_success_work
from opsdesk.demo.surveys import create_csat_history
from opsdesk.demo.tickets import generate_tickets
from opsdesk.demo.workforce import build_demo_plan, build_demo_scenarios
from opsdesk.desk.models import UNSOLVED, Ticket
from opsdesk.desk.sla.tracking import refresh_ticket_sla

HISTORY_DAYS = 182
# SQLite's page cache for the load, in KiB: the default 2 MB cannot hold the indexes of half a year of
# events, so each batch insert re-reads B-tree pages; 256 MB makes the tickets step about a quarter faster.
SQLITE_LOAD_CACHE_KIB = 262_144


def database_is_empty(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is None


def load_demo(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    organisations: int = 20_000,
    tickets_per_day: int = 800,
    history_days: int = HISTORY_DAYS,
    seed: int = 7,
    success_accounts: int = 800,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> dict[str, int]:
    """Load everything in one transaction: a half-loaded demo is never left behind. With ``settings``
    (for the attachment store) the demo customer also has an email conversation filed as real mail."""
    rng = np.random.default_rng(seed)
    now = clock.now().replace(microsecond=0)
    start = now - timedelta(days=history_days)
    counts: dict[str, int] = {}
    with factory() as session, session.begin():
        sqlite = session.connection().dialect.name == "sqlite"
        if sqlite:
            session.execute(text(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}"))
        task = progress.add_task("people and customers", total=1) if progress else None
        people = create_people(session, rng=rng, start=start, organisations=organisations)
        counts["organisations"] = len(people.org_ids)
        counts["requesters"] = len(people.requester_ids)
        if progress and task is not None:
            progress.update(task, completed=1)
            task = progress.add_task("six months of tickets", total=history_days + 1)

        def advance(n: int) -> None:
            if progress and task is not None:
                progress.advance(task, n)

        policies = create_sla_setup(session, admin=people.admin, clock=FixedClock(start))
        counts["tickets"] = generate_tickets(
            session,
            people=people,
            rng=rng,
            start=start,
            end=now,
            tickets_per_day=tickets_per_day,
            policies=policies,
            progress=advance,
        )
        if settings is not None and len(people.requester_ids):
            create_email_conversation(session, agent=people.staff["agent"], settings=settings, now=now)
        counts["tickets in flight"] = refresh_open_tickets(session, clock=FixedClock(now))
        counts["chats"] = create_chat_history(session, rng=rng, now=now)
        # Its own generator: the threads' draws leave the rest of the demo as it was.
        counts["social threads"] = create_social_history(
            session, rng=np.random.default_rng(seed + 5), now=now
        )
        counts.update(create_routing_demo(session, people=people, clock=FixedClock(now)))
        # Its own generator: the survey draws leave the rest of the demo as it was. Before QA,
        # whose sampling picks low-rated tickets.
        counts.update(create_csat_history(session, rng=np.random.default_rng(seed + 2), now=now))
        # Its own generator: the QA team's draws leave the rest of the demo as it was.
        qa_rng = np.random.default_rng(seed + 1)
        counts.update(create_quality_demo(session, staff=people.staff, rng=qa_rng, now=now))
        success_task = progress.add_task("customer success book", total=5) if progress else None

        def advance_success(n: int) -> None:
            if progress and success_task is not None:
                progress.advance(success_task, n)

        counts.update(
            create_success_book(
                session,
                rng=rng,
                now=now,
                csms=[u for key, u in people.staff.items() if key.startswith("csm")],
                organisation_ids=people.org_ids,
                accounts=success_accounts,
                progress=advance_success,
            )
        )
        # Its own generator: the CS team's work leaves the rest of the demo as it was.
        counts.update(
            create_success_work(
                session, rng=np.random.default_rng(seed + 4), now=now, lead=people.staff["cslead"]
            )
        )
        # Its own generator: the pipeline's draws leave the rest of the demo as it was.
        counts.update(create_opportunities(session, rng=np.random.default_rng(seed + 5), now=now))
        plan = build_demo_plan(session, lead=people.staff["lead"], clock=FixedClock(now), progress=progress)
        counts["workforce plans"] = 0 if plan is None else 1
        scenarios = build_demo_scenarios(
            session, lead=people.staff["lead"], clock=FixedClock(now), progress=progress
        )
        counts["planning scenarios"] = len(scenarios)
        # Its own generator: the automation's draws leave the rest of the demo as it was.
        counts.update(
            create_automation_demo(session, rng=np.random.default_rng(seed + 3), now=now, admin=people.admin)
        )
        if sqlite:
            # The connection goes back to the pool: give the memory back with it (SQLite's default).
            session.execute(text("PRAGMA cache_size=-2000"))
    return counts


def refresh_open_tickets(session: Session, *, clock: Clock) -> int:
    """The live SLA tracker sets the due times (and any breaches) of the tickets still in flight."""
    session.expire_all()
    tickets = session.scalars(select(Ticket).where(Ticket.status.in_(UNSOLVED))).all()
    for ticket in tickets:
        refresh_ticket_sla(session, ticket=ticket, clock=clock)
    return len(tickets)
