"""Drives an import: parse everything first (pure), then write people, then tickets in committed
batches. A run that is killed loses at most its open batch, whose tickets the next run writes; tickets
committed before are found in ``imported_records`` and skipped, so re-running is always safe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import Clock, FixedClock
from opsdesk.core.database import transaction
from opsdesk.insights.imports import event_csv, zendesk
from opsdesk.insights.imports.history import Company, Person, Problem, Team, TicketHistory
from opsdesk.insights.imports.models import ImportedRecord
from opsdesk.insights.imports.ticket_writer import write_ticket
from opsdesk.insights.imports.writer import Counts, Mappings, write_companies, write_people, write_teams

BATCH = 200


@dataclass
class ImportReport:
    source: str
    counts: Counts = field(default_factory=Counts)
    problems: list[Problem] = field(default_factory=list)
    metrics: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def new_records(self) -> int:
        return sum(self.counts.new.values())


@dataclass
class Parsed:
    companies: list[Company] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    tickets: list[TicketHistory] = field(default_factory=list)
    metrics: list[zendesk.Line] = field(default_factory=list)
    people_file: str = "users.jsonl"


def read_zendesk(folder: Path, problems: list[Problem]) -> Parsed:
    """Every file of a Zendesk export folder; a missing required file is an error before any write."""
    missing = [f"{name}.jsonl" for name in zendesk.FILES if not (folder / f"{name}.jsonl").is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)}")

    def lines(name: str) -> list[zendesk.Line]:
        with (folder / f"{name}.jsonl").open(encoding="utf-8-sig") as handle:
            return list(zendesk.read_lines(f"{name}.jsonl", handle, problems))

    parsed = Parsed(
        companies=zendesk.organisations(lines("organizations"), problems),
        teams=zendesk.groups(lines("groups"), problems),
        people=zendesk.users(lines("users"), problems),
        tickets=zendesk.tickets(lines("tickets"), lines("ticket_events"), problems),
    )
    if (folder / "ticket_metrics.jsonl").is_file():
        parsed.metrics = lines("ticket_metrics")
    return parsed


def read_event_csv(path: Path, problems: list[Problem]) -> Parsed:
    text = path.read_text(encoding="utf-8-sig")
    people, tickets = event_csv.parse(path.name, text, problems)
    names = {h.group for h in tickets} | {
        str(s.value) for h in tickets for s in h.steps if s.kind == "group" and s.value
    }
    teams = [Team(line=0, external_id=name, name=name[:100]) for name in sorted(n for n in names if n)]
    return Parsed(teams=teams, people=people, tickets=tickets, people_file=path.name)


def run(
    factory: sessionmaker[Session],
    parsed: Parsed,
    *,
    source: str,
    clock: Clock,
    problems: Sequence[Problem] = (),
    batch: int = BATCH,
    after_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Write what was parsed. ``after_batch`` is told how many tickets are done after each commit. The
    mappings are read once: later batches only add to them, and a failed batch ends the run."""
    report = ImportReport(source=source, problems=list(problems))
    now = FixedClock(clock.now())
    with transaction(factory) as session:
        maps = Mappings(session, source)
        write_companies(session, parsed.companies, maps, report.counts, now)
        write_teams(session, parsed.teams, maps, report.counts, now)
        write_people(session, parsed.people, maps, report.counts, report.problems, parsed.people_file, now)
    done = 0
    for start in range(0, len(parsed.tickets), batch):
        with transaction(factory) as session:
            for history in parsed.tickets[start : start + batch]:
                write_ticket(session, history, maps, report.counts, report.problems, now)
        done += len(parsed.tickets[start : start + batch])
        if after_batch is not None:
            after_batch(done)
    return report


def check_metrics(
    factory: sessionmaker[Session], parsed: Parsed, report: ImportReport, *, now: datetime
) -> None:
    """Zendesk's ticket metrics against the KPI engine's, over every ticket of the source imported so
    far (this run's and earlier runs'), read in a transaction of their own."""
    from opsdesk.insights.imports.metrics_check import compare

    with transaction(factory, write=False) as session:
        rows = session.execute(
            select(ImportedRecord.external_id, ImportedRecord.local_id).where(
                ImportedRecord.source == report.source, ImportedRecord.kind == "ticket"
            )
        )
        local = {external_id: local_id for external_id, local_id in rows}
        report.metrics = compare(session, parsed.metrics, local, report.problems, now=now, notes=report.notes)
