"""Accounts, contracts and segment rules edited over the API (issue 14: "not only by CSV"): what each role
may change, what a change does downstream (segment, ARR, events), and a 4xx naming the field for bad
input. Every change is committed by the request and read back in a fresh session."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Event, Role
from opsdesk.success import actions, contracts, queries
from opsdesk.success.models import Account, PriceModel, Subscription
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def test_leads_create_csms_edit_their_book_and_contracts_move_arr(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    lead = make_user(db, clock, Role.CS_LEAD, email="lee@cs.test")
    csm = make_user(db, clock, Role.CSM, email="cam@cs.test")
    other = make_user(db, clock, Role.CSM, email="oli@cs.test")
    agent = make_user(db, clock, Role.AGENT, email="ann@desk.test")
    tokens = {u.email: make_token(db, clock, u) for u in (lead, csm, other, agent)}
    csm_id, other_id = csm.id, other.id
    db.commit()
    with live_server.client(tokens["lee@cs.test"]) as as_lead:
        created = as_lead.post(
            "/api/v1/accounts",
            json={"name": "Acme Health", "covered_lives": 120, "owner_id": csm_id, "region": "US"},
        )
        assert created.status_code == 201, created.text
        account_id = created.json()["id"]
        unknown = as_lead.post("/api/v1/accounts", json={"name": "X", "owner_id": 999_999})
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "owner_id", unknown.text
    with live_server.client(tokens["cam@cs.test"]) as as_csm:
        assert as_csm.post("/api/v1/accounts", json={"name": "Mine"}).status_code == 403
        changed = as_csm.patch(
            f"/api/v1/accounts/{account_id}", json={"covered_lives": 15_000, "industry": None}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["covered_lives"] == 15_000
        moved = as_csm.patch(f"/api/v1/accounts/{account_id}", json={"owner_id": other_id})
        assert moved.status_code == 403  # another book: the lead decides
        cleared = as_csm.patch(f"/api/v1/accounts/{account_id}", json={"name": None})
        assert cleared.status_code == 422 and cleared.json()["error"]["field"] == "name"
        contract = as_csm.post(
            f"/api/v1/accounts/{account_id}/subscriptions",
            json={
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "price_model": "pepm",
                "pepm_cents": 500,
                "covered_lives": 15_000,
            },
        )
        assert contract.status_code == 201, contract.text
        bad = as_csm.post(
            f"/api/v1/accounts/{account_id}/subscriptions",
            json={"start_date": "2026-05-01", "end_date": "2026-01-01", "price_model": "flat_annual"},
        )
        assert bad.status_code == 422
    with live_server.client(tokens["oli@cs.test"]) as as_other:
        assert as_other.patch(f"/api/v1/accounts/{account_id}", json={"region": "EU"}).status_code == 403
        assert as_other.get(f"/api/v1/accounts/{account_id}").json()["region"] == "US"  # reading stays open
    with live_server.client(tokens["ann@desk.test"]) as as_agent:
        assert as_agent.get(f"/api/v1/accounts/{account_id}").status_code == 403

    db.expire_all()
    account = db.get(Account, account_id)
    assert account is not None and account.covered_lives == 15_000 and account.owner_id == csm_id
    # 15,000 lives x $5.00 a month x 12.
    assert queries.arr_on(db, account_id, date(2026, 6, 1)) == 15_000 * 500 * 12
    kinds = db.scalars(
        select(Event.type)
        .where(Event.subject_type == "account", Event.subject_id == account_id)
        .order_by(Event.id)
    ).all()
    assert kinds[0] == "account_created" and "account_updated" in kinds and "subscription_created" in kinds


def test_segment_rules_are_led_and_re_segment_every_account(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    lead = make_user(db, clock, Role.CS_LEAD, email="lee@cs.test")
    csm = make_user(db, clock, Role.CSM, email="cam@cs.test")
    tokens = {u.email: make_token(db, clock, u) for u in (lead, csm)}
    db.commit()
    rules = [{"field": "covered_lives", "op": "gte", "value": 10_000}]
    with live_server.client(tokens["cam@cs.test"]) as as_csm:
        assert as_csm.post("/api/v1/segments", json={"name": "Jumbo", "rules": rules}).status_code == 403
    with live_server.client(tokens["lee@cs.test"]) as as_lead:
        big = as_lead.post("/api/v1/accounts", json={"name": "Big Co", "covered_lives": 20_000}).json()["id"]
        segment = as_lead.post("/api/v1/segments", json={"name": "Jumbo", "priority": 0, "rules": rules})
        assert segment.status_code == 201, segment.text
        names = [s["name"] for s in as_lead.get("/api/v1/segments").json()]
        assert names[0] == "Jumbo"
        assert as_lead.get(f"/api/v1/accounts/{big}").json()["segment_id"] == segment.json()["id"]
        raised = as_lead.patch(
            f"/api/v1/segments/{segment.json()['id']}",
            json={"rules": [{"field": "covered_lives", "op": "gte", "value": 25_000}]},
        )
        assert raised.status_code == 200, raised.text
        assert as_lead.get(f"/api/v1/accounts/{big}").json()["segment_id"] != segment.json()["id"]
        assert as_lead.patch("/api/v1/segments/999999", json={"priority": 1}).status_code == 404


def test_the_running_term_is_amended_by_its_csm_or_a_lead(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    lead = make_user(db, clock, Role.CS_LEAD, email="lee@cs.test")
    csm = make_user(db, clock, Role.CSM, email="cam@cs.test")
    other = make_user(db, clock, Role.CSM, email="oli@cs.test")
    tokens = {u.email: make_token(db, clock, u) for u in (lead, csm, other)}
    account = actions.create_account(db, name="Acme", covered_lives=100, owner=csm, clock=clock)
    elsewhere = actions.create_account(db, name="Other", covered_lives=10, owner=csm, clock=clock)
    term = contracts.save_subscription(
        db, account=account, start=date(2026, 1, 1), end=date(2026, 12, 31), price_model=PriceModel.PEPM,
        pepm_cents=500, covered_lives=100, clock=clock,
    )  # fmt: skip
    account_id, elsewhere_id, term_id = account.id, elsewhere.id, term.id
    db.commit()
    path = f"/api/v1/accounts/{account_id}/subscriptions/{term_id}/amendments"
    with live_server.client(tokens["oli@cs.test"]) as as_other:
        assert as_other.post(path, json={"effective": "2026-07-01", "covered_lives": 200}).status_code == 403
    with live_server.client(tokens["cam@cs.test"]) as as_csm:
        outside = as_csm.post(path, json={"effective": "2027-02-01", "covered_lives": 200})
        assert outside.status_code == 422 and outside.json()["error"]["field"] == "effective", outside.text
        flat = as_csm.post(path, json={"effective": "2026-07-01", "flat_annual_cents": 100})
        assert flat.status_code == 422 and flat.json()["error"]["field"] == "flat_annual_cents", flat.text
        nothing = as_csm.post(path, json={"effective": "2026-07-01"})
        assert nothing.status_code == 422, nothing.text
        negative = as_csm.post(path, json={"effective": "2026-07-01", "covered_lives": -1})
        assert negative.status_code == 422 and negative.json()["error"]["field"] == "covered_lives"
        wrong = f"/api/v1/accounts/{elsewhere_id}/subscriptions/{term_id}/amendments"
        assert as_csm.post(wrong, json={"effective": "2026-07-01", "covered_lives": 200}).status_code == 404
        amended = as_csm.post(path, json={"effective": "2026-07-01", "covered_lives": 200})
        assert amended.status_code == 201, amended.text
        assert amended.json()["start_date"] == "2026-07-01" and amended.json()["covered_lives"] == 200
    with live_server.client(tokens["lee@cs.test"]) as as_lead:
        later = f"/api/v1/accounts/{account_id}/subscriptions/{amended.json()['id']}/amendments"
        priced = as_lead.post(later, json={"effective": "2026-10-01", "pepm_cents": 600})
        assert priced.status_code == 201, priced.text

    db.expire_all()
    terms = db.scalars(
        select(Subscription).where(Subscription.account_id == account_id).order_by(Subscription.start_date)
    ).all()
    assert [(t.start_date, t.end_date, t.covered_lives, t.pepm_cents) for t in terms] == [
        (date(2026, 1, 1), date(2026, 6, 30), 100, 500),
        (date(2026, 7, 1), date(2026, 9, 30), 200, 500),
        (date(2026, 10, 1), date(2026, 12, 31), 200, 600),
    ]
    assert queries.arr_on(db, account_id, date(2026, 11, 1)) == 200 * 600 * 12
