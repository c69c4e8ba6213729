"""One requester across channels, API side: a ticket created through the API finds its requester by
any identity (email, phone in any format, social handle), the same person the webhooks found."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.models import IdentityKind, Role, User
from opsdesk.desk.requesters import find_or_create_requester, link_identity
from tests.conftest import LiveServer
from tests.factories import make_token, make_user


def test_api_creations_find_the_requester_by_any_identity(
    db: Session, clock: FixedClock, live_server: LiveServer
) -> None:
    agent = make_user(db, clock, Role.AGENT, email="ana@opsdesk.test", password=None)
    token = make_token(db, clock, agent)
    caller = find_or_create_requester(
        db, kind=IdentityKind.PHONE, value="+1 415 555 0100", name="Pat", clock=clock
    )
    link_identity(
        db, user=caller, kind=IdentityKind.SOCIAL, value="twitter:@PatTweets", actor=None, clock=clock
    )
    other = find_or_create_requester(
        db, kind=IdentityKind.EMAIL, value="kim@example.com", name="Kim", clock=clock
    )
    db.commit()
    people = db.scalar(select(func.count()).select_from(User))

    def create(**who: str):  # type: ignore[no-untyped-def]
        with live_server.client(token) as client:
            return client.post("/api/v1/tickets", json={"subject": "Help", "body_text": "Please", **who})

    assert create(requester_phone="(415) 555-0100").json()["requester"]["id"] == caller.id
    assert create(requester_handle="twitter:pattweets").json()["requester"]["id"] == caller.id
    # A new address beside a known number: the known person, not a new one.
    assert (
        create(requester_email="pat@new.example", requester_phone="+14155550100").json()["requester"]["id"]
        == caller.id
    )
    clash = create(requester_email="kim@example.com", requester_phone="+14155550100")
    assert clash.status_code == 409 and clash.json()["error"]["field"] == "requester_email"
    bad = create(requester_phone="call me maybe")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "requester_phone"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(User)) == people
    fresh = create(requester_handle="instagram:@newbie")
    assert fresh.status_code == 201 and fresh.json()["requester"]["id"] not in (caller.id, other.id)
