from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core.clock import FixedClock
from opsdesk.core.database import transaction
from opsdesk.core.models import Event, Role
from opsdesk.success import queries
from opsdesk.success.imports import ImportFailed, import_csv
from opsdesk.success.models import Account, ArrMovement, Contact, Stage, Subscription, Utilisation
from tests.factories import make_user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "import"
ORDER = ["accounts", "contacts", "contracts", "utilisation"]


def _csms(session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    with transaction(session_factory) as s:
        make_user(s, clock, Role.CSM, email="maria.lopez@example.com", password=None)
        make_user(s, clock, Role.CSM, email="sam.okafor@example.com", password=None)
        make_user(s, clock, Role.AGENT, email="agent@example.com", password=None)


def _count(session_factory: sessionmaker[Session], model: type) -> int:
    with session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _rejections(exc: pytest.ExceptionInfo[ImportFailed]) -> list[tuple[int, str | None]]:
    return [(e.line, e.column) for e in exc.value.report.rejected]


def test_example_files_import_and_reimport_updates_in_place(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    for kind in ORDER:
        with transaction(session_factory) as s:
            report = import_csv(s, kind, (EXAMPLES / f"{kind}.csv").read_text(), clock=clock)
        assert report.written and not report.rejected and report.updated == 0, kind
    counts = [_count(session_factory, m) for m in (Account, Contact, Subscription, Utilisation, ArrMovement)]
    assert counts[:4] == [6, 6, 8, 6]
    with session_factory() as s:
        child = queries.account_by_external_id(s, "0015e00001NWH02")
        assert (
            child is not None and child.parent is not None and child.parent.name == "Northwind Health System"
        )
        assert child.stage is Stage.ADOPTION and child.segment is not None and child.segment.name == "Large"
        wwi = queries.account_by_external_id(s, "0015e00001WWI01")
        assert wwi is not None and wwi.owner is not None and wwi.owner.email == "sam.okafor@example.com"
        # 24,000 lives x $3.10 x 12 = $892,800, escalated 3 % on 1 Feb 2024 and 2025: x 1.0609
        northwind = queries.account_by_external_id(s, "0015e00001NWH01")
        assert northwind is not None
        assert queries.arr_on(s, northwind.id, date(2025, 3, 1)) == 94_717_152
    events = _count(session_factory, Event)
    for kind in ORDER:
        with transaction(session_factory) as s:
            report = import_csv(s, kind, (EXAMPLES / f"{kind}.csv").read_text(), clock=clock)
        assert (report.created, report.updated) == (0, 0), kind  # identical: nothing to update
    assert [
        _count(session_factory, m) for m in (Account, Contact, Subscription, Utilisation, ArrMovement)
    ] == counts
    assert _count(session_factory, Event) == events  # and nothing written


def test_a_reimport_without_some_optional_columns_leaves_those_fields_alone(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    for kind in ("accounts", "contacts", "contracts"):
        with transaction(session_factory) as s:
            import_csv(s, kind, (EXAMPLES / f"{kind}.csv").read_text(), clock=clock)
    with session_factory() as s:
        before = {
            a.external_id: (a.industry, a.region, a.owner_id, a.parent_id, a.segment_override_id)
            for a in s.scalars(select(Account))
        }
        contacts_before = {c.external_id: (c.email, c.title) for c in s.scalars(select(Contact))}
        escalators = {c.external_id: c.escalator_pct for c in s.scalars(select(Subscription))}
    assert any(v[0] for v in before.values()) and any(v[2] for v in before.values())

    # A report with the required columns and only Industry (changed for one account, blank for another).
    rows = ["Account ID,Account Name,Covered Lives,Industry"]
    with session_factory() as s:
        accounts = list(s.scalars(select(Account).order_by(Account.id)))
        for n, a in enumerate(accounts):
            industry = "Changed" if n == 0 else ("" if n == 1 else a.industry or "")
            rows.append(f"{a.external_id},{a.name},{a.covered_lives},{industry}")
    with session_factory() as s:
        last_event = s.scalar(select(func.max(Event.id)))
    with transaction(session_factory) as s:
        report = import_csv(s, "accounts", "\n".join(rows) + "\n", clock=clock)
    assert report.updated == (2 if before[accounts[1].external_id][0] else 1)
    with session_factory() as s:
        after = {
            a.external_id: (a.industry, a.region, a.owner_id, a.parent_id, a.segment_override_id)
            for a in s.scalars(select(Account))
        }
        changed_events = [
            e.data
            for e in s.scalars(select(Event).where(Event.type == "account_updated", Event.id > last_event))
        ]
    first, second = accounts[0].external_id, accounts[1].external_id
    assert after[first] == ("Changed", *before[first][1:])
    assert after[second] == (None, *before[second][1:])
    for key in before.keys() - {first, second}:
        assert after[key] == before[key]
    assert all(set(data) <= {"industry"} for data in changed_events)

    # Contacts without Email/Title and contracts without the escalator keep theirs.
    contact_rows = ["Contact ID,Account ID,Contact Role,First Name,Last Name"]
    contract_rows = [
        "Contract ID,Account ID,Contract Start Date,Contract End Date,Pricing Model,PEPM Price,"
        "Covered Lives,Annual Contract Value"
    ]
    with session_factory() as s:
        for c in s.scalars(select(Contact)):
            first_name, _, last_name = c.name.partition(" ")
            contact_rows.append(
                f"{c.external_id},{c.account.external_id},{c.role.value},{first_name},{last_name}"
            )
        for sub in s.scalars(select(Subscription)):
            price = f"{sub.pepm_cents / 100:.2f}" if sub.pepm_cents is not None else ""
            flat = f"{sub.flat_annual_cents / 100:.2f}" if sub.flat_annual_cents is not None else ""
            model = "PEPM" if sub.pepm_cents is not None else "Flat Annual"
            contract_rows.append(
                f"{sub.external_id},{sub.account.external_id},{sub.start_date},{sub.end_date},{model},"
                f"{price},{sub.covered_lives or ''},{flat}"
            )
    with transaction(session_factory) as s:
        assert import_csv(s, "contacts", "\n".join(contact_rows) + "\n", clock=clock).updated == 0
        assert import_csv(s, "contracts", "\n".join(contract_rows) + "\n", clock=clock).updated == 0
    with session_factory() as s:
        assert {c.external_id: (c.email, c.title) for c in s.scalars(select(Contact))} == contacts_before
        assert {c.external_id: c.escalator_pct for c in s.scalars(select(Subscription))} == escalators


def test_every_error_of_a_row_is_reported_not_only_the_first(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    text = (
        "Account ID,Account Name,Covered Lives,Account Owner Email,Stage,Segment,Stage Date\n"
        "A1,,-3,nobody@example.com,onboarding,Platinum,2999-01-01\n"
    )
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "accounts", text, clock=clock)
    assert sorted(column or "" for _line, column in _rejections(exc)) == sorted(
        ["Account Name", "Covered Lives", "Account Owner Email", "Stage", "Segment", "Stage Date"]
    )
    contracts = (
        "Contract ID,Account ID,Contract Start Date,Contract End Date,Pricing Model,PEPM Price,"
        "Covered Lives\nC1,NOPE,2025-02-01,2025-01-01,PEPM,-1,x\n"
    )
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "contracts", contracts, clock=clock)
    assert sorted(column or "" for _line, column in _rejections(exc)) == sorted(
        ["Account ID", "Contract End Date", "PEPM Price", "Covered Lives"]
    )


ACCOUNT_HEADER = "Account ID,Account Name,Parent Account ID,Covered Lives,Industry,Billing Region,"
BAD_ACCOUNTS = (
    ACCOUNT_HEADER
    + """Account Owner Email,Stage,Segment
A1,Good Parent,,500,Retail,EMEA,maria.lopez@example.com,adoption,
A2,Good Child,A1,50,Retail,EMEA,,,
A3,Unknown segment,,10,Retail,EMEA,,,Platinum
A4,Unknown parent,ZZ,10,Retail,EMEA,,,
A1,Duplicate,,10,Retail,EMEA,,,
A5,Unknown owner,,10,Retail,EMEA,nobody@example.com,,
A6,Not a CSM,,10,Retail,EMEA,agent@example.com,,
A7,Negative lives,,-4,Retail,EMEA,,,
A8,Bad stage,,10,Retail,EMEA,,onboarding,
A9,Child of rejected,A3,10,Retail,EMEA,,,
,No id,,10,Retail,EMEA,,,
"""
)


def test_bad_account_rows_are_each_reported_and_nothing_is_written(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "accounts", BAD_ACCOUNTS, clock=clock)
    assert _rejections(exc) == [
        (4, "Segment"),
        (5, "Parent Account ID"),
        (6, "Account ID"),
        (7, "Account Owner Email"),
        (8, "Account Owner Email"),
        (9, "Covered Lives"),
        (10, "Stage"),
        (11, "Parent Account ID"),
        (12, "Account ID"),
    ]
    messages = {e.line: e.message for e in exc.value.report.rejected}
    assert "unknown segment 'Platinum'" in messages[4] and "unknown parent: ZZ" in messages[5]
    assert "first on line 2" in messages[6] and "unknown owner" in messages[7] and "not a CSM" in messages[8]
    assert "parent row (line 4) was rejected" in messages[11]
    assert _count(session_factory, Account) == 0


def test_skip_invalid_writes_the_good_rows_and_dry_run_writes_nothing(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    with transaction(session_factory) as s:
        dry = import_csv(s, "accounts", BAD_ACCOUNTS, clock=clock, dry_run=True)
    assert (dry.created, dry.rejected_lines, dry.written) == (2, 9, False)
    assert _count(session_factory, Account) == 0
    with transaction(session_factory) as s:
        report = import_csv(s, "accounts", BAD_ACCOUNTS, clock=clock, skip_invalid=True)
    assert (report.created, report.rejected_lines, report.written) == (2, 9, True)
    assert _count(session_factory, Account) == 2


def test_bad_contract_rows_are_each_reported_and_nothing_is_written(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    with transaction(session_factory) as s:
        import_csv(s, "accounts", (EXAMPLES / "accounts.csv").read_text(), clock=clock)
    bad = (
        "Contract ID,Account ID,Contract Start Date,Contract End Date,Pricing Model,PEPM Price,Covered Lives,"
        "Annual Contract Value,Annual Escalator %\n"
        "K1,0015e00001CTL01,2025-01-01,2025-12-31,Flat Annual,,,1000,\n"
        "K2,0015e00001CTL01,2025-01-01,2024-12-31,Flat Annual,,,1000,\n"
        "K3,0015e00001CTL01,2025-01-01,2025-12-31,Flat Annual,,,-1000,\n"
        "K4,NOPE,2025-01-01,2025-12-31,Flat Annual,,,1000,\n"
        "K1,0015e00001CTL01,2025-01-01,2025-12-31,Flat Annual,,,1000,\n"
        "K5,0015e00001CTL01,2025-01-01,2025-12-31,Barter,,,1000,\n"
        "K6,0015e00001CTL01,2025-01-01,2025-12-31,PEPM,,100,,\n"
        "K7,0015e00001CTL01,2025-13-01,2025-12-31,PEPM,$3,100,,\n"
        "K8,0015e00001CTL01,2025-01-01,2025-12-31,PEPM,$3,100,,150\n"
        "K9,0015e00001CTL01,2025-01-01\n"
    )
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "contracts", bad, clock=clock)
    assert _rejections(exc) == [
        (3, "Contract End Date"),
        (4, "Annual Contract Value"),
        (5, "Account ID"),
        (6, "Contract ID"),
        (7, "Pricing Model"),
        (8, "PEPM Price"),
        (9, "Contract Start Date"),
        (10, "Annual Escalator %"),
        (11, None),
    ]
    assert "ARR cannot be negative" in exc.value.report.rejected[1].message
    assert _count(session_factory, Subscription) == 0 and _count(session_factory, ArrMovement) == 0


def test_missing_columns_and_bad_utilisation_rows(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "contacts", "Contact ID,Account ID\nx,y\n", clock=clock)
    assert _rejections(exc) == [(1, "Contact Role")]
    with transaction(session_factory) as s:
        import_csv(s, "accounts", (EXAMPLES / "accounts.csv").read_text(), clock=clock)
    text = (
        "Account ID,Month,Engaged Members,Sessions,Programme Uptake %\n"
        "0015e00001FAB01,2025-10,1,2,3\n"
        "0015e00001FAB01,2025-10-15,1,2,3\n"
        "0015e00001FAB01,2025-11,many,2,3\n"
        "0015e00001FAB01,2025-12,1,2,130\n"
    )
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "utilisation", text, clock=clock)
    assert _rejections(exc) == [(3, "Month"), (4, "Engaged Members"), (5, "Programme Uptake %")]
    assert _count(session_factory, Utilisation) == 0


def test_a_stage_date_in_the_future_is_rejected(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    text = "Account ID,Account Name,Covered Lives,Stage,Stage Date\nA1,Acme,10,launch,2030-01-01\n"
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "accounts", text, clock=clock)
    assert _rejections(exc) == [(2, "Stage Date")]


def test_reimporting_a_changed_contract_rebuilds_the_customers_arr(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    _csms(session_factory, clock)
    for kind in ("accounts", "contracts"):
        with transaction(session_factory) as s:
            import_csv(s, kind, (EXAMPLES / f"{kind}.csv").read_text(), clock=clock)
    changed = (EXAMPLES / "contracts.csv").read_text().replace('"$102,000.00"', '"$110,000.00"')
    with transaction(session_factory) as s:
        report = import_csv(s, "contracts", changed, clock=clock)
    assert (report.created, report.updated) == (0, 1)  # only the changed contract
    with session_factory() as s:
        contoso = queries.account_by_external_id(s, "0015e00001CTL01")
        assert contoso is not None
        daily = queries.arr_per_day(s, [contoso.id], date(2025, 11, 29), date(2025, 12, 2))
        assert daily[contoso.id].tolist() == [9_600_000, 9_600_000, 11_000_000, 11_000_000]
        moves = s.execute(
            select(ArrMovement.kind, ArrMovement.amount_cents)
            .where(ArrMovement.customer_id == contoso.id, ArrMovement.effective_on == date(2025, 12, 1))
            .order_by(ArrMovement.kind)
        ).all()
        assert [(k.value, a) for k, a in moves] == [("expansion", 1_400_000), ("renewal", 0)]


def test_unreadable_csv_is_reported_not_raised(
    session_factory: sessionmaker[Session], clock: FixedClock
) -> None:
    text = 'Account ID,Account Name,Covered Lives\nA1,Acme,10\nA2,"Bad"name,10\n'
    with pytest.raises(ImportFailed) as exc, transaction(session_factory) as s:
        import_csv(s, "accounts", text, clock=clock)
    assert _rejections(exc) == [(3, None)] and "not readable as CSV" in exc.value.report.rejected[0].message
    assert _count(session_factory, Account) == 0
