"""The database's own plan for the statements behind the pages (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's
EXPLAIN): My tickets walks the agent's index, not the primary key; tickets solved per day reads a range
of the solved_at index; the portfolio's latest snapshots and search use indexes, never a scan of the
table. PostgreSQL plans by statistics, so its tables are analysed first, as autovacuum does; and on
tables this small a sequential scan is cheaper than any index, so its plans are asked for with
sequential scans priced out (``enable_seqscan = off``): one still planned means no index can serve."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Group, Role, Tier, User
from opsdesk.desk import queries, search
from opsdesk.desk.models import Status
from opsdesk.insights.desk_overview import desk_overview
from opsdesk.success import actions as success_actions
from opsdesk.success import portfolio
from opsdesk.success.health import queries as health_queries
from tests.history import add_daily_scores, add_tickets, make_cast


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plans_of(db: Session, engine: Engine, run: Callable[[], object], marker: str) -> list[str]:
    """The plans of the statements ``run`` executes whose SQL holds ``marker``."""
    with captured(engine) as statements:
        run()
    chosen = [(sql, params) for sql, params in statements if marker in sql]
    assert chosen, [sql for sql, _ in statements]
    connection = db.connection()
    if engine.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plans = []
    for sql, params in chosen:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            plans.append("\n".join(str(row[-1]) for row in rows))
        else:
            rows = connection.exec_driver_sql(f"EXPLAIN {sql}", params).all()
            plans.append("\n".join(row[0] for row in rows))
    return plans


def plan_of(db: Session, engine: Engine, run: Callable[[], object], marker: str) -> str:
    """The plan of the one statement ``run`` executes whose SQL holds ``marker``."""
    plans = plans_of(db, engine, run, marker)
    assert len(plans) == 1, plans
    return plans[0]


@pytest.fixture
def history(db: Session, engine: Engine, clock: FixedClock) -> dict[str, Any]:
    """3,000 tickets over 30 agents, most solved long ago; one agent with three; 5 accounts with
    400 daily health snapshots each."""
    now = clock.now()
    cast = make_cast(db, clock, size=30)
    few = core_actions.create_user(
        db, email="few@desk.test", name="Fay Few", role=Role.AGENT, tier=Tier.L1, clock=clock
    )
    add_tickets(
        db,
        cast,
        count=2900,
        created=now - timedelta(days=300),
        status=Status.CLOSED,
        solved=now - timedelta(days=299),
    )
    add_tickets(db, cast, count=97, created=now - timedelta(days=3), body="A rare word: zanzibar")
    add_tickets(db, cast, count=3, created=now - timedelta(days=2), assignee=few)
    accounts = [success_actions.create_account(db, name=f"A{i}", clock=clock) for i in range(5)]
    add_daily_scores(db, [a.id for a in accounts], last=now.date(), days=400)
    db.commit()
    if engine.dialect.name == "postgresql":
        db.execute(text("ANALYZE"))
    return {"few": few, "lead": core_actions.create_user(
        db, email="lead@desk.test", name="Lee", role=Role.SUPPORT_LEAD, clock=clock
    )}  # fmt: skip


def full_scans(plan: str, table: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [
            line for line in plan.splitlines() if line.startswith(f"SCAN {table}") and "INDEX" not in line
        ]
    return [line for line in plan.splitlines() if f"Seq Scan on {table} " in line + " "]


@pytest.mark.parametrize("view", ["mine", None])
def test_my_tickets_walk_the_agents_index_not_the_primary_key(
    db: Session, engine: Engine, clock: FixedClock, history: dict[str, Any], view: str | None
) -> None:
    """My tickets (unsolved) and an agent's whole list (the API's assignee filter), newest first."""
    few: User = history["few"]
    filters = queries.TicketFilters(view=view, assignee_id=None if view else few.id)
    page = queries.list_tickets(db, user=few, filters=filters, clock=clock, breaching_soon_minutes=60)
    assert len(page.items) == 3
    plan = plan_of(
        db,
        engine,
        lambda: queries.list_tickets(db, user=few, filters=filters, clock=clock, breaching_soon_minutes=60),
        "ORDER BY tickets.id DESC",
    )
    assert "ix_tickets_assignee_" in plan, plan
    assert "tickets_pkey" not in plan and "USING INTEGER PRIMARY KEY" not in plan, plan
    assert not full_scans(plan, "tickets", engine.dialect.name), plan
    if view is None and engine.dialect.name == "sqlite":  # the index gives the order too
        assert "ix_tickets_assignee_newest" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize("view", queries.VIEWS)
def test_each_views_count_reads_an_index_not_the_history(
    db: Session, engine: Engine, clock: FixedClock, history: dict[str, Any], view: str
) -> None:
    """Every ticket list page counts each built-in view for its bar: no count may read the whole table,
    or every list page slows down as history grows (My groups once counted solved tickets too)."""
    agent = db.scalars(select(User).where(User.email == "c-agent0@desk.test")).one()
    group = db.scalars(select(Group).where(Group.name == "c Group 0")).one()
    core_actions.add_to_group(db, user=agent, group=group, clock=clock)
    db.commit()
    count = queries.count_tickets(
        db, user=agent, filters=queries.TicketFilters(view=view), clock=clock, breaching_soon_minutes=60
    )
    if view == "my_group":
        assert 0 < count < 10  # its unsolved tickets, not the closed ones (about 97)
    plan = plan_of(
        db,
        engine,
        lambda: queries.count_tickets(
            db, user=agent, filters=queries.TicketFilters(view=view), clock=clock, breaching_soon_minutes=60
        ),
        "count(",
    )
    assert not full_scans(plan, "tickets", engine.dialect.name), plan


def test_solved_per_day_reads_a_range_of_the_solved_at_index(
    db: Session, engine: Engine, clock: FixedClock, history: dict[str, Any]
) -> None:
    plan = plan_of(
        db,
        engine,
        lambda: desk_overview(db, user=history["lead"], clock=clock, soon_minutes=60),
        "tickets.solved_at >=",
    )
    assert "ix_tickets_solved_at" in plan, plan
    assert not full_scans(plan, "tickets", engine.dialect.name), plan


def test_the_latest_health_snapshots_are_read_by_index(
    db: Session, engine: Engine, history: dict[str, Any]
) -> None:
    latest = health_queries.latest_scores(db)
    assert len(latest) == 5 and {float(s.effective_score or 0) for s in latest.values()} == {80.0}
    plan = plan_of(db, engine, lambda: health_queries.latest_scores(db), "success_health_scores")
    assert not full_scans(plan, "success_health_scores", engine.dialect.name), plan


def test_the_books_health_mix_reads_the_latest_snapshots_by_index(
    db: Session, engine: Engine, clock: FixedClock, history: dict[str, Any]
) -> None:
    """The customers page's books (their health mix) once grouped every snapshot ever taken."""
    today = clock.now().date()
    assert len(portfolio.latest_health_bands(db, today)) == 5
    plan = plan_of(db, engine, lambda: portfolio.latest_health_bands(db, today), "success_health_scores")
    # Snapshots are found by account, each a seek: never a range over every account's days.
    if engine.dialect.name == "sqlite":
        assert not [line for line in plan.splitlines() if line.startswith("SCAN success_health_scores")], plan
    else:
        by_day = [line for line in plan.splitlines() if "Cond:" in line and "scored_on" in line]
        assert by_day and all("account_id" in line for line in by_day), plan


@pytest.mark.parametrize("q", ["zanzibar", "invoice"])
def test_search_reads_the_text_index_not_the_tickets(
    db: Session, engine: Engine, history: dict[str, Any], q: str
) -> None:
    results = search.search_tickets(db, user=history["lead"], q=q)
    assert len(results.hits) == 50
    if q == "zanzibar":
        assert (results.total, results.more) == (97, False)
    else:  # every ticket matches: the count stops at the cap and says so
        assert results.total >= search.MATCH_CAP and results.more
    marker = "ticket_subject_fts" if engine.dialect.name == "sqlite" else "to_tsvector"
    plans = plans_of(db, engine, lambda: search.search_tickets(db, user=history["lead"], q=q), marker)
    assert len(plans) >= 2  # the count and the page
    for plan in plans:
        for table in ("tickets", "messages"):
            assert not full_scans(plan, table, engine.dialect.name), plan
