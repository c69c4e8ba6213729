"""The event log and the audit log refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) in the
database itself, so a plain SQL statement cannot rewrite history the ORM's flush hook never sees.

The triggers are attached to the tables' ``after_create``, so ``metadata.create_all`` builds them;
migration 0005 runs the same statements (copied there, as migrations do).
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from opsdesk.core.models import AuditEntry, Event

APPEND_ONLY_TABLES = ("events", "audit_log")

_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION opsdesk_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION USING ERRCODE = 'restrict_violation', "
    "MESSAGE = TG_TABLE_NAME || ' rows are append-only: ' || TG_OP || ' refused'; END $$"
)


def _pg(table: str) -> list[str]:
    # Statement triggers: even a DELETE or UPDATE that matches no row is refused, and cost nothing per row.
    return [
        _PG_FUNCTION,
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION opsdesk_refuse_rewrite()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION opsdesk_refuse_rewrite()",
    ]


def _sqlite(table: str) -> list[str]:
    # A table with a DELETE trigger is never emptied by SQLite's truncate shortcut: every row fires it.
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: UPDATE refused'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: DELETE refused'); END",
    ]


_BY_DIALECT = {"postgresql": _pg, "sqlite": _sqlite}


def append_only_ddl(dialect: str, table: str) -> list[str]:
    """The statements that make ``table`` append-only, in order."""
    return _BY_DIALECT[dialect](table)


def sqlite_trigger_names(table: str) -> list[str]:
    """SQLite has no switch that suspends triggers: a test's cleanup drops these and recreates them."""
    return [f"{table}_no_update", f"{table}_no_delete"]


def _install() -> None:
    for name, table in zip(APPEND_ONLY_TABLES, (Event.__table__, AuditEntry.__table__), strict=True):
        for dialect in _BY_DIALECT:
            for statement in append_only_ddl(dialect, name):
                event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))


_install()
