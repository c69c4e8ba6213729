"""The CSM work pages over plain HTTP (no browser): who may read and act on which book, the portfolio's
paging and sorting, overdue in the reader's zone, and escalations ranked by ARR and covered lives, opened
and resolved from the page. What a form stores is committed and read back."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, User
from opsdesk.success import actions as success
from opsdesk.success import contracts
from opsdesk.success.models import Account, PriceModel, Stage
from opsdesk.success.playbooks import actions as playbooks
from opsdesk.success.playbooks.models import Task, TaskStatus
from opsdesk.success.voice.models import Escalation, EscalationStatus, Severity
from tests.conftest import LiveServer
from tests.factories import make_token, make_user
from tests.web.signin_http import page_csrf, sign_in_http, signed_in_client


def _client(server: LiveServer, email: str) -> httpx.Client:
    client = server.client()
    sign_in_http(client, email)
    return client


def _listed(page: httpx.Response) -> list[str]:
    """The customers linked from a page's rows, in order."""
    return re.findall(r'<a href="/customers/\d+">([^<]+)</a>', page.text)


def _people(db: Session, clock: FixedClock) -> dict[str, User]:
    return {
        "cleo": make_user(db, clock, Role.CSM, email="cleo@cs.test"),
        "otto": make_user(db, clock, Role.CSM, email="otto@cs.test"),
        "lee": make_user(db, clock, Role.CS_LEAD, email="lee@cs.test"),
        "ana": make_user(db, clock, Role.AGENT, email="ana@desk.test"),
        "al": make_user(db, clock, Role.ANALYST, email="al@ops.test"),
    }


def _paying(db: Session, clock: FixedClock, name: str, owner: User, lives: int, arr: int) -> Account:
    account = success.create_account(db, name=name, covered_lives=lives, owner=owner, clock=clock)
    contracts.save_subscription(
        db, account=account, start=date(2026, 1, 1), end=date(2026, 12, 31),
        price_model=PriceModel.FLAT_ANNUAL, flat_annual_cents=arr * 100, clock=clock,
    )  # fmt: skip
    return account


def test_task_pages_keep_to_the_book(live_server: LiveServer, db: Session, clock: FixedClock) -> None:
    people = _people(db, clock)
    acme = success.create_account(db, name="Acme", covered_lives=10, owner=people["cleo"], clock=clock)
    task = playbooks.create_task(
        db, account=acme, title="Call Acme", owner=people["cleo"], due_on=date(2026, 3, 1), clock=clock
    )
    db.commit()
    ana = _client(live_server, "ana@desk.test")
    for path in ("/tasks", "/tasks/overdue", f"/tasks/{task.id}", "/playbooks", "/escalations", "/feedback"):
        assert ana.get(path).status_code in (403, 404), path
    token = page_csrf(ana, "/tickets")
    assert ana.post(f"/tasks/{task.id}/complete", data={"csrf_token": token}).status_code == 403
    otto = _client(live_server, "otto@cs.test")
    assert otto.get(f"/tasks/{task.id}").status_code == 404
    token = page_csrf(otto, "/tasks")
    assert otto.post(f"/tasks/{task.id}/complete", data={"csrf_token": token}).status_code == 404
    assert "Call Acme" not in otto.get("/tasks/overdue").text
    db.expire_all()
    assert db.get_one(Task, task.id).status is TaskStatus.OPEN

    analyst = _client(live_server, "al@ops.test").get("/tasks/overdue").text  # reads the team's, works none
    assert "Call Acme" in analyst and f"complete-{task.id}" not in analyst
    lee = _client(live_server, "lee@cs.test")
    overdue = lee.get("/tasks/overdue").text
    assert "Call Acme" in overdue and people["cleo"].name in overdue  # the team's, with owners
    assert f"complete-{task.id}" in overdue
    assert lee.post(f"/tasks/{task.id}/complete", data={"csrf_token": "stale"}).status_code in (400, 403)
    token = page_csrf(lee, "/tasks/overdue")
    done = lee.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "next": "//evil.test/"})
    assert done.status_code == 303 and done.headers["location"] == "/tasks"
    db.expire_all()
    assert db.get_one(Task, task.id).status is TaskStatus.DONE


def test_overdue_is_counted_in_the_readers_zone(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    people = _people(db, clock)
    acme = success.create_account(db, name="Acme", covered_lives=10, owner=people["cleo"], clock=clock)
    playbooks.create_task(
        db, account=acme, title="Send the deck", owner=people["cleo"], due_on=date(2026, 3, 2), clock=clock
    )
    db.commit()
    clock.set(datetime(2026, 3, 2, 20, 0, tzinfo=UTC))  # 04:00 on 3 March in Manila
    cleo = _client(live_server, "cleo@cs.test")
    assert "Send the deck" not in cleo.get("/tasks/overdue").text
    db.merge(people["cleo"]).timezone = "Asia/Manila"
    db.commit()
    page = cleo.get("/tasks").text
    assert "1 day overdue" in page and "today 2026-03-03" in page
    assert "Send the deck" in cleo.get("/tasks/overdue").text


def test_customers_list_pages_sorts_and_defaults_to_the_csms_book(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    people = _people(db, clock)
    for n in range(12):
        success.create_account(
            db, name=f"Cleo {n:02d}", covered_lives=100 + n, owner=people["cleo"], clock=clock
        )
    success.create_account(db, name="Otto 00", covered_lives=5, owner=people["otto"], clock=clock)
    db.commit()
    cleo = _client(live_server, "cleo@cs.test")
    mine = cleo.get("/customers", params={"sort": "lives", "order": "asc", "per_page": 10, "page": 2})
    names = re.findall(r'<a href="/customers/\d+">([^<]+)</a>', mine.text)
    assert names == ["Cleo 10", "Cleo 11"] and "11–12 of 12" in mine.text and 'rel="prev"' in mine.text
    everyone = cleo.get("/customers", params={"csm": "", "sort": "lives", "order": "asc", "per_page": 10})
    names = re.findall(r'<a href="/customers/\d+">([^<]+)</a>', everyone.text)
    assert names[0] == "Otto 00" and len(names) == 10 and "1–10 of 13" in everyone.text
    assert 'rel="next"' in everyone.text and "13 customers" in everyone.text
    for bad in ({"sort": "colour"}, {"per_page": 100_000}, {"page": 0}):  # a page's bad filter: 400
        answer = cleo.get("/customers", params=bad)
        assert answer.status_code == 400 and next(iter(bad)) in answer.text
    lee = _client(live_server, "lee@cs.test")
    assert "Otto 00" in lee.get("/customers", params={"sort": "lives", "order": "asc"}).text
    # The list counts churned customers too, the CSM books above it only active ones: the demo showed
    # "63 customers" under a book of 60. The total says how many of the listed have churned.
    gone = db.scalars(select(Account).where(Account.name == "Cleo 00")).one()
    success.change_stage(db, account=gone, to=Stage.CHURNED, on=clock.now().date(), clock=clock)
    db.commit()
    total = re.search(r'data-testid="accounts-total">([^<]+)<', cleo.get("/customers").text)
    assert total is not None and total.group(1).startswith("12 customers (1 churned: ")


def test_escalations_ranked_by_arr_and_lives_opened_and_resolved(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    people = _people(db, clock)
    small = _paying(db, clock, "Small Co", people["cleo"], lives=5000, arr=10_000)
    large = _paying(db, clock, "Large Co", people["otto"], lives=200, arr=250_000)
    twin = _paying(db, clock, "Twin Co", people["cleo"], lives=9000, arr=10_000)
    db.commit()
    cleo = _client(live_server, "cleo@cs.test")
    token = page_csrf(cleo, "/escalations")
    for account, severity in ((small, "sev1"), (twin, "sev4")):
        opened = cleo.post(
            "/escalations",
            data={"csrf_token": token, "account_id": account.id, "severity": severity, "title": "Files late"},
        )
        assert opened.status_code == 303
    refused = cleo.post(
        "/escalations", data={"csrf_token": token, "account_id": large.id, "severity": "sev2", "title": "x"}
    )
    assert refused.status_code == 403  # not Cleo's book
    lee = _client(live_server, "lee@cs.test")
    token_lee = page_csrf(lee, "/escalations")
    assert lee.post(
        "/escalations",
        data={"csrf_token": token_lee, "account_id": large.id, "severity": "sev3", "title": "Outage"},
    ).status_code == 303  # fmt: skip
    assert _listed(lee.get("/escalations")) == ["Large Co", "Twin Co", "Small Co"]  # ARR, then lives
    assert _listed(cleo.get("/escalations")) == ["Twin Co", "Small Co"]  # a CSM lands on their book
    bad = cleo.post("/escalations", data={"csrf_token": token, "account_id": twin.id, "severity": "sev9"})
    assert bad.status_code == 400 and "severity" in bad.text

    escalation = db.scalars(select(Escalation).where(Escalation.account_id == twin.id)).one()
    otto = _client(live_server, "otto@cs.test")
    otto_token = page_csrf(otto, "/escalations")
    assert otto.post(
        f"/escalations/{escalation.id}/resolve", data={"csrf_token": otto_token}
    ).status_code == 403  # fmt: skip
    resolved = cleo.post(
        f"/escalations/{escalation.id}/resolve", data={"csrf_token": token, "note": "Files re-sent"}
    )
    assert resolved.status_code == 303
    db.expire_all()
    row = db.get_one(Escalation, escalation.id)
    assert row.status is EscalationStatus.RESOLVED and row.resolved_at is not None
    assert row.severity is Severity.SEV4 and "Files re-sent" in row.entries[-1].note
    assert _listed(cleo.get("/escalations")) == ["Small Co"]
    assert _listed(cleo.get("/escalations", params={"status": "all"})) == ["Twin Co", "Small Co"]


def test_the_api_approves_and_queues_a_task_email(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    people = _people(db, clock)
    acme = success.create_account(db, name="Acme", covered_lives=10, owner=people["cleo"], clock=clock)
    task = playbooks.create_task(db, account=acme, title="Write", due_on=date(2026, 3, 9), clock=clock)
    playbooks.update_task(db, task=task, clock=clock, email_subject="Hello", email_body="Hi there")
    tokens = {name: make_token(db, clock, people[name]) for name in ("cleo", "otto")}
    db.commit()
    body = {"to": "hana@acme.test", "subject": "Hello from us"}
    assert (
        live_server.client(tokens["otto"]).post(f"/api/v1/tasks/{task.id}/email", json=body).status_code
        == 403
    )
    bad = live_server.client(tokens["cleo"]).post(f"/api/v1/tasks/{task.id}/email", json={"to": "nobody"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "email_to"
    sent = live_server.client(tokens["cleo"]).post(f"/api/v1/tasks/{task.id}/email", json=body)
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "pending" and sent.json()["approved_by_id"] == people["cleo"].id
    again = live_server.client(tokens["cleo"]).post(f"/api/v1/tasks/{task.id}/email", json=body)
    assert again.status_code == 409
    db.expire_all()
    assert [(e.to, e.subject, e.body) for e in db.get_one(Task, task.id).emails] == [
        ("hana@acme.test", "Hello from us", "Hi there")
    ]


def test_the_escalations_api_ranks_by_arr_then_covered_lives(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    """Issue 14: escalations ranked by ARR and covered lives, in the API as on the page (the API listed
    them most severe first, so a small customer's sev1 led a large customer's sev3)."""
    from opsdesk.success.voice import actions as voice

    people = _people(db, clock)
    small = _paying(db, clock, "Small Co", people["cleo"], lives=5000, arr=10_000)
    large = _paying(db, clock, "Large Co", people["otto"], lives=200, arr=250_000)
    twin = _paying(db, clock, "Twin Co", people["cleo"], lives=9000, arr=10_000)
    for account, severity in ((small, Severity.SEV1), (twin, Severity.SEV4), (large, Severity.SEV3)):
        voice.open_escalation(db, account=account, severity=severity, title="Files late", clock=clock)
    token = make_token(db, clock, people["lee"])
    db.commit()
    with live_server.client(token) as api:
        listed = api.get("/api/v1/escalations")
        assert listed.status_code == 200, listed.text
        assert [e["account_id"] for e in listed.json()] == [large.id, twin.id, small.id]


def test_a_refused_task_email_comes_back_in_its_form_and_says_when_mail_is_off(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    """A walk of the demo (no OPSDESK_SMTP_URL) found an approved email "Queued for sending" for ever
    with nothing saying why, and a mistyped address answered by a bare error page that lost the
    edited email."""
    people = _people(db, clock)
    acme = success.create_account(db, name="Acme", covered_lives=10, owner=people["cleo"], clock=clock)
    task = playbooks.create_task(db, account=acme, title="Write", due_on=date(2026, 3, 9), clock=clock)
    playbooks.update_task(db, task=task, clock=clock, email_subject="Hello", email_body="Hi")
    task.email_to = "hana@acme.test"
    db.commit()
    with signed_in_client(live_server, "cleo@cs.test") as cleo:
        form = cleo.get(f"/tasks/{task.id}")
        assert 'data-testid="mail-not-configured"' in form.text  # said before approving
        typed = {"email_to": "hana-at-acme", "email_subject": "Edited subject", "email_body": "Edited"}
        refused = cleo.post(
            f"/tasks/{task.id}/email", data={**typed, "csrf_token": page_csrf(cleo, f"/tasks/{task.id}")}
        )
        assert refused.status_code == 422
        assert re.search(r'data-testid="error-email_to">[^<]*hana-at-acme', refused.text)
        assert 'value="Edited subject"' in refused.text and ">Edited</textarea>" in refused.text
        db.expire_all()
        assert db.get_one(Task, task.id).emails == [] and db.get_one(Task, task.id).email_subject == "Hello"
        sent = cleo.post(
            f"/tasks/{task.id}/email",
            data={**typed, "email_to": "hana@acme.test", "csrf_token": page_csrf(cleo, f"/tasks/{task.id}")},
        )
        assert sent.status_code == 303
        after = cleo.get(f"/tasks/{task.id}")
        assert "Queued for sending" in after.text and "OPSDESK_SMTP_URL" in after.text
    db.expire_all()
    assert [(e.to, e.subject) for e in db.get_one(Task, task.id).emails] == [
        ("hana@acme.test", "Edited subject")
    ]


def test_the_feedback_page_links_the_csv_sent_to_product(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    """The feedback page had no way to the export README promises product: a signed-in CS lead follows
    the page's link and gets the CSV with the ARR behind each request, as the page ranks it."""
    from opsdesk.success.voice import actions as voice

    people = _people(db, clock)
    acme = _paying(db, clock, "Acme", people["cleo"], lives=500, arr=120_000)
    ask = voice.create_request(db, title="SFTP eligibility files", product_area_name="Files", clock=clock)
    voice.add_ask(db, request=ask, account=acme, clock=clock)
    db.commit()
    with signed_in_client(live_server, "lee@cs.test") as lee:
        page = lee.get("/feedback")
        link = re.search(r'href="([^"]+)"[^>]*data-testid="feedback-export"', page.text)
        assert link is not None and "$120,000" in page.text
        csv = lee.get(link.group(1).replace("&amp;", "&"))
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        rows = csv.text.splitlines()
        assert rows[0].startswith("rank,request_id,title")
        assert rows[1].split(",")[2:] == ["SFTP eligibility files", "Files", "new", "1", "12000000", "500"]
