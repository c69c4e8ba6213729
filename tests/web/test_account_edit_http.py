"""Accounts, contract terms and segment rules edited from the pages over plain HTTP (issue 14: "editable
in pages and API"): the same permissions as the API (leads create and move books and change rules, a
CSM edits their own book), CSRF as every form, and a refused form shown again with the message beside
the field, never a 500. What a form stores is committed and read back."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, User
from opsdesk.success import actions, contracts, queries
from opsdesk.success.models import Account, PriceModel, Segment, Subscription
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.web.signin_http import page_csrf, signed_in_client


def _people(db: Session, clock: FixedClock) -> dict[str, User]:
    return {
        "cleo": make_user(db, clock, Role.CSM, email="cleo@cs.test"),
        "otto": make_user(db, clock, Role.CSM, email="otto@cs.test"),
        "lee": make_user(db, clock, Role.CS_LEAD, email="lee@cs.test"),
        "al": make_user(db, clock, Role.ANALYST, email="al@ops.test"),
    }


def test_a_lead_creates_an_account_and_a_blank_name_is_shown_on_the_form(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    people = _people(db, clock)
    cleo_id = people["cleo"].id
    db.commit()
    with signed_in_client(live_server, "cleo@cs.test") as csm:
        assert csm.get("/customers/new").status_code == 403
        token = page_csrf(csm, "/customers")
        refused = csm.post("/customers/new", data={"csrf_token": token, "name": "Mine", "stage": "adoption"})
        assert refused.status_code == 403
    with signed_in_client(live_server, "lee@cs.test") as lead:
        token = page_csrf(lead, "/customers/new")
        form = {"csrf_token": token, "stage": "adoption", "covered_lives": "1,200", "owner_id": str(cleo_id)}
        blank = lead.post("/customers/new", data={**form, "name": "   "})
        assert blank.status_code == 422
        assert 'data-testid="error-name"' in blank.text and "needs a name" in blank.text
        assert 'value="1,200"' in blank.text  # what was typed is kept
        bad_lives = lead.post("/customers/new", data={**form, "name": "Acme", "covered_lives": "lots"})
        assert bad_lives.status_code == 422 and 'data-testid="error-covered_lives"' in bad_lives.text
        no_token = lead.post("/customers/new", data={**form, "csrf_token": "forged", "name": "Acme"})
        assert no_token.status_code in (400, 403)
        created = lead.post("/customers/new", data={**form, "name": "Acme Health", "region": "US"})
        assert created.status_code == 303, created.text
        account_id = int(created.headers["location"].rsplit("/", 1)[1])

    db.expire_all()
    names = db.scalars(select(Account.name)).all()
    assert names == ["Acme Health"]  # nothing from the refused forms
    account = db.get_one(Account, account_id)
    assert (account.covered_lives, account.owner_id, account.region) == (1200, cleo_id, "US")
    assert account.segment is not None and account.segment.name == "Upper mid-market"


def test_the_accounts_csm_or_a_lead_edits_it_and_its_contract_terms(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    people = _people(db, clock)
    account = actions.create_account(db, name="Acme", covered_lives=90, owner=people["cleo"], clock=clock)
    term = contracts.save_subscription(
        db, account=account, start=date(2026, 1, 1), end=date(2026, 12, 31), price_model=PriceModel.PEPM,
        pepm_cents=500, covered_lives=90, clock=clock,
    )  # fmt: skip
    account_id, term_id, otto_id = account.id, term.id, people["otto"].id
    db.commit()
    edit = f"/customers/{account_id}/edit"
    with signed_in_client(live_server, "otto@cs.test") as other:
        assert other.get(edit).status_code == 403  # another CSM's book
    with signed_in_client(live_server, "al@ops.test") as analyst:
        assert analyst.get(edit).status_code == 403
    with signed_in_client(live_server, "cleo@cs.test") as csm:
        token = page_csrf(csm, edit)
        page = csm.get(edit).text
        assert 'name="owner_id"' not in page  # a CSM does not move books
        fields = {"csrf_token": token, "name": "Acme Health", "covered_lives": "150", "region": "EU"}
        moved = csm.post(edit, data={**fields, "owner_id": str(otto_id)})
        assert moved.status_code == 403
        blank = csm.post(edit, data={**fields, "name": ""})
        assert blank.status_code == 422 and 'data-testid="error-name"' in blank.text
        saved = csm.post(edit, data=fields)
        assert saved.status_code == 303, saved.text
        amend = f"/customers/{account_id}/terms/{term_id}/amend"
        outside = csm.post(
            amend, data={"csrf_token": token, "effective": "2027-03-01", "covered_lives": "150"}
        )
        assert outside.status_code == 422 and 'data-testid="error-effective"' in outside.text
        amended = csm.post(
            amend, data={"csrf_token": token, "effective": "2026-07-01", "covered_lives": "150"}
        )
        assert amended.status_code == 303, amended.text
        bad_term = csm.post(
            f"/customers/{account_id}/terms",
            data={"csrf_token": token, "start_date": "2027-01-01", "end_date": "2027-12-31",
                  "price_model": "pepm", "pepm": "five", "covered_lives": "150"},
        )  # fmt: skip
        assert bad_term.status_code == 422 and 'data-testid="error-pepm"' in bad_term.text
        added = csm.post(
            f"/customers/{account_id}/terms",
            data={"csrf_token": token, "start_date": "2027-01-01", "end_date": "2027-12-31",
                  "price_model": "pepm", "pepm": "5.25", "covered_lives": "150", "escalator_pct": "3"},
        )  # fmt: skip
        assert added.status_code == 303, added.text
    with signed_in_client(live_server, "lee@cs.test") as lead:
        token = page_csrf(lead, edit)
        handed = lead.post(edit, data={**fields, "csrf_token": token, "owner_id": str(otto_id)})
        assert handed.status_code == 303, handed.text

    db.expire_all()
    account = db.get_one(Account, account_id)
    assert (account.name, account.covered_lives, account.region, account.owner_id) == (
        "Acme Health", 150, "EU", otto_id,
    )  # fmt: skip
    assert account.segment is not None and account.segment.name == "Lower mid-market"
    terms = db.scalars(
        select(Subscription).where(Subscription.account_id == account_id).order_by(Subscription.start_date)
    ).all()
    assert [(t.start_date, t.end_date, t.covered_lives, t.pepm_cents) for t in terms] == [
        (date(2026, 1, 1), date(2026, 6, 30), 90, 500),
        (date(2026, 7, 1), date(2026, 12, 31), 150, 500),
        (date(2027, 1, 1), date(2027, 12, 31), 150, 525),
    ]
    assert queries.arr_on(db, account_id, date(2026, 8, 1)) == 150 * 500 * 12


def test_only_leads_save_segment_rules_typed_as_lines(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    _people(db, clock)
    big = actions.create_account(db, name="Big Co", covered_lives=20_000, clock=clock)
    big_id = big.id
    enterprise = db.scalars(select(Segment).where(Segment.name == "Enterprise")).one()
    enterprise_id = enterprise.id
    db.commit()
    path = f"/customers/segments/{enterprise_id}"
    with signed_in_client(live_server, "cleo@cs.test") as csm:
        page = csm.get("/customers/segments")
        assert page.status_code == 200 and "covered_lives gte 15000" in page.text
        assert 'name="rules"' not in page.text  # read only
        token = page_csrf(csm, "/customers")
        refused = csm.post(path, data={"csrf_token": token, "priority": "1", "rules": "covered_lives gte 1"})
        assert refused.status_code == 403
    with signed_in_client(live_server, "lee@cs.test") as lead:
        token = page_csrf(lead, "/customers/segments")
        wrong = lead.post(
            path, data={"csrf_token": token, "priority": "1004", "rules": "covered_lives gte many"}
        )
        assert wrong.status_code == 422 and 'data-testid="error-rules"' in wrong.text
        assert "covered_lives gte many" in wrong.text  # the typed text is kept
        empty = lead.post(path, data={"csrf_token": token, "priority": "1004", "rules": " \n"})
        assert empty.status_code == 422 and "at least one rule" in empty.text
        saved = lead.post(
            path,
            data={
                "csrf_token": token,
                "priority": "1004",
                "rules": "covered_lives gte 25,000\nregion in US, EU",
            },
        )
        assert saved.status_code == 303, saved.text
        added = lead.post(
            "/customers/segments",
            data={"csrf_token": token, "name": "Jumbo", "priority": "0", "rules": "covered_lives gte 18000"},
        )
        assert added.status_code == 303, added.text
        again = lead.post(
            "/customers/segments",
            data={"csrf_token": token, "name": "Jumbo", "priority": "0", "rules": "covered_lives gte 1"},
        )
        assert again.status_code == 422 and 'data-testid="error-name"' in again.text

    db.expire_all()
    rules = db.get_one(Segment, enterprise_id).rules
    assert rules == [
        {"field": "covered_lives", "op": "gte", "value": 25_000},
        {"field": "region", "op": "in", "value": ["US", "EU"]},
    ]
    account = db.get_one(Account, big_id)
    assert account.segment is not None and account.segment.name == "Jumbo"
