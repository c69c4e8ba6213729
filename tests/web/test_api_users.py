"""The users API over real HTTP: who may list, read, create and merge people."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role, Tier, User
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


@pytest.fixture
def people(db: Session, clock: FixedClock) -> dict[str, tuple[User, str]]:
    org = core_actions.create_organisation(db, name="Acme", clock=clock)
    specs = {
        "admin": (Role.ADMIN, None),
        "agent": (Role.AGENT, Tier.L1),
        "analyst": (Role.ANALYST, None),
        "pat": (Role.REQUESTER, None),
        "kim": (Role.REQUESTER, None),
    }
    out = {}
    for name, (role, tier) in specs.items():
        user = make_user(
            db, clock, role, tier=tier, email=f"{name}@acme.test", organisation=org, password=None
        )
        out[name] = (user, make_token(db, clock, user))
    db.commit()
    return out


def test_me_returns_the_signed_in_person(
    live_server: LiveServer, people: dict[str, tuple[User, str]]
) -> None:
    pat, token = people["pat"]
    me = live_server.client(token).get("/api/v1/users/me")
    assert me.status_code == 200
    body = me.json()
    assert (body["id"], body["role"], body["email"]) == (pat.id, "requester", "pat@acme.test")
    assert body["identities"] == [{"kind": "email", "value": "pat@acme.test"}]
    assert live_server.client("od_not-a-token").get("/api/v1/users/me").status_code == 401


def test_only_staff_list_people_and_requesters_see_only_themselves(
    live_server: LiveServer, people: dict[str, tuple[User, str]]
) -> None:
    listing = live_server.client(people["analyst"][1]).get("/api/v1/users", params={"role": "requester"})
    assert listing.status_code == 200
    assert {u["email"] for u in listing.json()["items"]} == {"pat@acme.test", "kim@acme.test"}
    page = live_server.client(people["agent"][1]).get("/api/v1/users", params={"limit": 2}).json()
    rest = (
        live_server.client(people["agent"][1])
        .get("/api/v1/users", params={"cursor": page["next_cursor"]})
        .json()
    )
    assert len(page["items"]) + len(rest["items"]) == 5 and rest["next_cursor"] is None
    pat_client = live_server.client(people["pat"][1])
    assert pat_client.get("/api/v1/users").status_code == 403
    assert pat_client.get(f"/api/v1/users/{people['pat'][0].id}").status_code == 200
    other = pat_client.get(f"/api/v1/users/{people['kim'][0].id}")
    assert other.status_code == 404 and "kim" not in other.text
    assert (
        live_server.client(people["agent"][1]).get(f"/api/v1/users/{people['kim'][0].id}").status_code == 200
    )


def test_only_an_admin_creates_users(live_server: LiveServer, people: dict[str, tuple[User, str]]) -> None:
    body = {"email": "New.Agent@Desk.test", "name": "New Agent", "role": "agent", "tier": "L2"}
    assert live_server.client(people["agent"][1]).post("/api/v1/users", json=body).status_code == 403
    created = live_server.client(people["admin"][1]).post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    assert (created.json()["email"], created.json()["tier"]) == ("new.agent@desk.test", "L2")
    again = live_server.client(people["admin"][1]).post("/api/v1/users", json=body)
    assert again.status_code == 409 and again.json()["error"]["field"] == "email"
    no_tier = live_server.client(people["admin"][1]).post(
        "/api/v1/users", json={**body, "email": "x@desk.test", "tier": None}
    )
    assert no_tier.status_code == 422 and no_tier.json()["error"]["field"] == "tier"


def test_admins_link_identities_and_merge_requesters(
    live_server: LiveServer, people: dict[str, tuple[User, str]]
) -> None:
    admin = live_server.client(people["admin"][1])
    pat, kim = people["pat"][0], people["kim"][0]
    phone = {"kind": "phone", "value": "+1 415 555 0199"}
    assert (
        live_server.client(people["agent"][1])
        .post(f"/api/v1/users/{kim.id}/identities", json=phone)
        .status_code
        == 403
    )
    linked = admin.post(f"/api/v1/users/{kim.id}/identities", json=phone)
    assert linked.status_code == 201
    assert {"kind": "phone", "value": "+14155550199"} in linked.json()["identities"]
    taken = admin.post(f"/api/v1/users/{pat.id}/identities", json={"kind": "phone", "value": "+14155550199"})
    assert taken.status_code == 409
    assert (
        live_server.client(people["pat"][1])
        .post(f"/api/v1/users/{kim.id}/merge", json={"into": pat.id})
        .status_code
        == 404
    )
    assert (
        live_server.client(people["agent"][1])
        .post(f"/api/v1/users/{kim.id}/merge", json={"into": pat.id})
        .status_code
        == 403
    )
    merged = admin.post(f"/api/v1/users/{kim.id}/merge", json={"into": pat.id})
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == pat.id
    values = {i["value"] for i in merged.json()["identities"]}
    assert {"pat@acme.test", "kim@acme.test", "+14155550199"} <= values
    gone = admin.get(f"/api/v1/users/{kim.id}").json()
    assert (gone["merged_into_id"], gone["active"]) == (pat.id, False)
    # A merged person's token no longer signs in.
    assert live_server.client(people["kim"][1]).get("/api/v1/users/me").status_code == 401
    staff = admin.post(f"/api/v1/users/{people['analyst'][0].id}/merge", json={"into": pat.id})
    assert staff.status_code == 422
