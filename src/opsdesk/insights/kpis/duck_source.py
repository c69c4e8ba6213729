"""Where DuckDB reads the KPI frames from: data frames already loaded from the database (SQLite or
PostgreSQL, through the loader's SQL, which picks the payload fields out in the database), or the Parquet
files that ``opsdesk export parquet`` writes. Either way the same four views exist, with the columns and
types of :mod:`frames`, so the SQL definitions read one shape.

DuckDB's own ``sqlite`` and ``postgres`` extensions are downloaded on first use, and OpsDesk downloads
nothing at run time; so the database is read through the loader (one query per table, JSON picked out
in the database) and large histories go through Parquet, which DuckDB scans in parallel without loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from opsdesk.insights.kpis import duck_facts
from opsdesk.insights.kpis.duck_facts import Facts
from opsdesk.insights.kpis.frames import KpiFrames
from opsdesk.insights.kpis.request import KpiRequest

if TYPE_CHECKING:
    import duckdb

TYPES: dict[str, dict[str, str]] = {
    "tickets": {
        "ticket_id": "BIGINT", "created_at": "TIMESTAMPTZ", "status": "VARCHAR", "channel": "VARCHAR",
        "priority": "VARCHAR", "tier": "VARCHAR", "group": "VARCHAR", "site": "VARCHAR", "agent": "VARCHAR",
        "segment": "VARCHAR", "merged": "BOOLEAN", "sensitive": "BOOLEAN", "schedule_id": "BIGINT",
        "policy_id": "BIGINT",
    },
    "events": {
        "ticket_id": "BIGINT", "seq": "BIGINT", "at": "TIMESTAMPTZ", "type": "VARCHAR",
        "status": "VARCHAR", "from_status": "VARCHAR", "public": "BOOLEAN", "author_kind": "VARCHAR",
        "created_by_agent": "BOOLEAN", "agent_id": "BIGINT", "rating": "VARCHAR", "score": "DOUBLE",
        "scale": "VARCHAR", "by": "VARCHAR",
    },
    "tags": {"ticket_id": "BIGINT", "tag": "VARCHAR"},
    "calls": {
        "ticket_id": "BIGINT", "seq": "BIGINT", "at": "TIMESTAMPTZ", "agent_id": "BIGINT", "wait_s": "DOUBLE",
        "talk_s": "DOUBLE", "hold_s": "DOUBLE", "wrap_s": "DOUBLE", "abandoned": "BOOLEAN",
        "voicemail": "BOOLEAN",
    },
    "agents": {"agent_id": "BIGINT", "email": "VARCHAR"},
}  # fmt: skip
"""The column types of each view (and of the Parquet files)."""
TABLES = tuple(TYPES)


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB whose calendar is UTC (days, weeks and months are UTC's)."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")  # row order is set by ORDER BY where it matters
    return con


LOG_ORDER = 'epoch_us("at")::HUGEINT * 4294967296 + seq'
"""The log's order (time, then the order written) as one number, so finding a ticket's first or last
event compares integers rather than (time, seq) pairs; ``seq`` is below 2^32 (the log's row id)."""


def _view(con: duckdb.DuckDBPyConnection, table: str, relation: str) -> None:
    columns = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in TYPES[table].items())
    if table == "events":
        columns += f", {LOG_ORDER} AS log_order"
    con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {columns} FROM {relation}")


@dataclass
class DuckSource:
    """A DuckDB connection with the views ``tickets``, ``events``, ``tags``, ``calls`` and ``agents``."""

    con: duckdb.DuckDBPyConnection
    loaded: KpiFrames | None = field(default=None)
    facts: Facts | None = field(default=None)
    """The folder's per-ticket facts (``ticket_facts.parquet``), when it has them and they fit its log."""

    @classmethod
    def of_frames(cls, frames: KpiFrames) -> DuckSource:
        import pandas as pd

        con = connect()
        agents = pd.DataFrame({"agent_id": frames.agents.index, "email": frames.agents.to_numpy()})
        for table, frame in (
            ("tickets", frames.tickets),
            ("events", frames.events),
            ("tags", frames.tags),
            ("calls", frames.calls),
            ("agents", agents),
        ):
            con.register(f"{table}_frame", frame)
            _view(con, table, f"{table}_frame")
        return cls(con, frames)

    @classmethod
    def of_parquet(cls, directory: Path) -> DuckSource:
        """Views over ``DIR/<table>.parquet`` (as ``opsdesk export parquet`` writes them), and the
        folder's ticket facts when it has them (:mod:`duck_facts`)."""
        missing = [t for t in TABLES if not (directory / f"{t}.parquet").is_file()]
        if missing:
            raise FileNotFoundError(f"{directory}: no {', '.join(t + '.parquet' for t in missing)}")
        con = connect()
        for table in TABLES:
            path = str(directory / f"{table}.parquet").replace("'", "''")
            _view(con, table, f"read_parquet('{path}')")
        return cls(con, facts=duck_facts.find(con, directory))

    def frames(self, request: KpiRequest) -> KpiFrames:
        """The frames of the tickets the period can involve, for the metrics computed over frames: those
        created before it ends that are created in it, unsolved now, or have an event in it or later
        (the loader's rule for the database)."""
        if self.loaded is not None:
            return self.loaded
        import pandas as pd

        since = datetime.combine(request.start, time(), UTC)
        until = datetime.combine(request.end + timedelta(days=1), time(), UTC)
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE involved AS
            SELECT ticket_id FROM tickets
            WHERE created_at < $until AND (
                created_at >= $since OR status IN ('new', 'open', 'pending', 'on_hold')
                OR ticket_id IN (SELECT ticket_id FROM events WHERE "at" >= $since)
                OR ticket_id IN (SELECT ticket_id FROM calls WHERE "at" >= $since))
            """,
            {"since": since, "until": until},
        )

        def read(table: str, order: str) -> pd.DataFrame:
            query = (
                f"SELECT * FROM {table} WHERE ticket_id IN (SELECT ticket_id FROM involved) ORDER BY {order}"
            )
            return self.con.execute(query).df()

        agents = self.con.execute("SELECT agent_id, email FROM agents").df()
        return KpiFrames(
            tickets=read("tickets", "ticket_id"),
            tags=read("tags", "ticket_id, tag"),
            events=read("events", "seq"),
            calls=read("calls", "seq"),
            agents=pd.Series(agents["email"].to_numpy(), index=agents["agent_id"].to_numpy(), dtype="object"),
        )
