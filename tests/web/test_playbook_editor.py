"""The playbook editor page: only CS leads and admins create or change a playbook; its trigger and its
steps are saved as typed (committed and read back); a mistake comes back on the page with the step it is
in, never a 500. In a real browser, a lead adds a step to a playbook and pauses it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.success.playbooks import actions
from opsdesk.success.playbooks.actions import TemplateSpec
from opsdesk.success.playbooks.models import OwnerRule, Playbook, TriggerKind
from opsdesk.success.playbooks.triggers import params_as_text, params_from_text
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user
from tests.web.browsing import sign_in
from tests.web.signin_http import page_csrf, signed_in_client


def _steps(*rows: dict[str, str]) -> dict[str, list[str]]:
    keys = ("title", "due", "owner", "description", "subject", "body", "approval")
    return {f"step_{k}": [row.get(k, "") for row in rows] for k in keys}


def test_trigger_parameters_round_trip_as_lines() -> None:
    params = params_from_text(TriggerKind.ESCALATION_OPENED, "severities sev2, sev1\n")
    assert params == {"severities": ["sev1", "sev2"]}
    assert params_from_text(TriggerKind.UTILISATION_BELOW, params_as_text({"pct": 20, "months": 2})) == {
        "pct": 20,
        "months": 2,
    }


def test_leads_create_and_edit_playbooks_from_the_page(
    live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    make_user(db, clock, Role.CSM, email="cleo@cs.test")
    lead = make_user(db, clock, Role.CS_LEAD, email="lee@cs.test")
    lead_id = lead.id
    db.commit()
    with signed_in_client(live_server, "cleo@cs.test") as csm:
        assert csm.get("/playbooks/new").status_code == 403
        assert 'data-testid="new-playbook"' not in csm.get("/playbooks").text
        token = page_csrf(csm, "/playbooks")
        refused = csm.post(
            "/playbooks/new",
            data={
                "csrf_token": token,
                "name": "Mine",
                "trigger_kind": "health_red",
                **_steps({"title": "Call"}),
            },
        )
        assert refused.status_code == 403
    with signed_in_client(live_server, "lee@cs.test") as lead_client:
        token = page_csrf(lead_client, "/playbooks/new")
        form = {
            "csrf_token": token,
            "name": "Renewal prep",
            "trigger_kind": "renewal_within",
            "trigger": "days 120",
        }
        bad_placeholder = lead_client.post(
            "/playbooks/new",
            data={
                **form,
                **_steps(
                    {"title": "Call", "due": "0"}, {"title": "Write", "subject": "Hi {nobody}", "body": "x"}
                ),
            },
        )
        assert bad_placeholder.status_code == 422
        assert "Step 2:" in bad_placeholder.text and "unknown placeholder" in bad_placeholder.text
        assert 'value="Hi {nobody}"' in bad_placeholder.text  # the typed steps are kept
        bad_trigger = lead_client.post(
            "/playbooks/new", data={**form, "trigger": "days lots", **_steps({"title": "Call"})}
        )
        assert bad_trigger.status_code == 422 and 'data-field="days"' in bad_trigger.text
        no_steps = lead_client.post("/playbooks/new", data={**form, **_steps({"title": "  "})})
        assert no_steps.status_code == 422 and "at least one task template" in no_steps.text
        note = {"subject": "Your renewal, {account_name}", "body": "Dear {account_name}", "approval": "0"}
        created = lead_client.post(
            "/playbooks/new",
            data={
                **form,
                **_steps(
                    {"title": "Review the account", "due": "0", "owner": "account_csm"},
                    {"title": "Send the renewal note", "due": "7", "owner": f"user:{lead_id}", **note},
                    {},
                ),
            },
        )  # fmt: skip
        assert created.status_code == 303, created.text
        playbook_id = db.scalars(select(Playbook.id).where(Playbook.name == "Renewal prep")).one()
        edit = f"/playbooks/{playbook_id}/edit"
        page = lead_client.get(edit)
        assert page.status_code == 200 and "Send the renewal note" in page.text and "days 120" in page.text
        changed = lead_client.post(
            edit,
            data={"csrf_token": token, "name": "Renewal prep", "trigger": "days 90", "active": "0",
                  **_steps({"title": "Send the renewal note", "due": "3", "owner": "cs_lead"})},
        )  # fmt: skip
        assert changed.status_code == 303, changed.text

    db.expire_all()
    playbook = db.get_one(Playbook, playbook_id)
    assert playbook.trigger_params == {"days": 90} and playbook.active is False
    assert [(t.title, t.due_offset_days, t.owner_rule) for t in playbook.templates] == [
        ("Send the renewal note", 3, OwnerRule.CS_LEAD)
    ]
    assert db.scalars(select(Playbook.name)).all() == ["Renewal prep"]  # nothing from the refused forms


@pytest.mark.browser
def test_a_lead_adds_a_step_and_pauses_a_playbook_in_the_browser(
    browser: Any, live_server: LiveServer, db: Session, clock: FixedClock
) -> None:
    core_actions.create_user(
        db, email="lee@cs.test", name="Lee Lead", role=Role.CS_LEAD, password=PASSWORD, clock=clock
    )
    playbook = actions.create_playbook(
        db, name="Red health", trigger_kind=TriggerKind.HEALTH_RED, trigger_params={},
        templates=[TemplateSpec(title="Call the sponsor", due_offset_days=2)], clock=clock,
    )  # fmt: skip
    playbook_id = playbook.id
    db.commit()

    page = browser.new_page()
    sign_in(page, live_server, "lee@cs.test")
    page.goto(f"{live_server.url}/playbooks")
    page.get_by_test_id(f"edit-playbook-{playbook_id}").click()
    new_step = page.get_by_test_id("step-2")
    new_step.get_by_test_id("step-title").fill("Agree a recovery plan")
    new_step.get_by_test_id("step-due").fill("5")
    new_step.get_by_test_id("step-owner").select_option(label="Lee Lead")
    page.get_by_test_id("playbook-active").select_option("0")
    page.get_by_test_id("save-playbook").click()
    page.wait_for_url(f"{live_server.url}/playbooks#playbook-{playbook_id}")
    shown = page.get_by_test_id(f"playbook-{playbook_id}").inner_text()
    assert "Agree a recovery plan" in shown and "paused" in shown and "Lee Lead" in shown
    page.close()

    db.expire_all()
    saved = db.get_one(Playbook, playbook_id)
    assert [t.title for t in saved.templates] == ["Call the sponsor", "Agree a recovery plan"]
    assert saved.active is False
