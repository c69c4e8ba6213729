"""The ticket page lists the requester's recent tickets on every channel, following merged people, and
only those the reader may see: a sensitive ticket of the same person is left out for readers without
sensitive access, and listed (and audited as a read) for those with it."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import AuditEntry, IdentityKind, Role, User
from opsdesk.desk import actions
from opsdesk.desk.models import Channel, Ticket
from opsdesk.desk.requesters import find_or_create_requester, merge_requesters
from opsdesk.web.deps import SESSION_COOKIE
from tests.conftest import LiveServer
from tests.desk.test_access_matrix import build_world
from tests.factories import make_token, make_user


def _listed(server: LiveServer, db: Session, clock: FixedClock, reader: User, ticket_id: int) -> list[int]:
    _row, cookie = core_actions.start_browser_session(db, user=reader, clock=clock)
    db.commit()
    client = httpx.Client(base_url=server.url, timeout=10)
    client.cookies.set(SESSION_COOKIE, cookie)
    answer = client.get(f"/tickets/{ticket_id}")
    assert answer.status_code == 200, answer.text
    return [int(n) for n in re.findall(r'data-testid="recent-ticket"><a href="/tickets/(\d+)"', answer.text)]


def test_recent_tickets_on_every_channel_follow_merges_and_need_to_know(
    db: Session, clock: FixedClock, live_server: LiveServer, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(db, clock)
    person = world.people["requester_own"]  # has the world's four web tickets, two of them sensitive

    def ticket(requester: User, channel: Channel, subject: str) -> Ticket:
        clock.advance(timedelta(minutes=5))
        return actions.create_ticket(
            db, requester=requester, subject=subject, body_text="...", channel=channel, clock=clock
        )

    by_channel = {c: ticket(person, c, f"By {c.value}") for c in (Channel.EMAIL, Channel.CHAT, Channel.API)}
    # The same person reached us by phone and on social before anyone knew: two records, then merged.
    caller = find_or_create_requester(
        db, kind=IdentityKind.PHONE, value="+1 312 555 0100", name="Own", clock=clock
    )
    handle = find_or_create_requester(
        db, kind=IdentityKind.SOCIAL, value="@own_on_x", name="Own", clock=clock
    )
    phoned, posted = ticket(caller, Channel.PHONE, "By phone"), ticket(handle, Channel.SOCIAL, "By social")
    merge_requesters(db, keep=person, merge=caller, actor=None, clock=clock)
    # A record merged earlier whose ticket stayed on it (an import): still the same person.
    handle.merged_into_id = person.id
    stranger = make_user(db, clock, Role.REQUESTER, email="someone.else@example.com")
    ticket(stranger, Channel.EMAIL, "Not theirs")
    db.commit()

    everyone = [posted.id, phoned.id, *(t.id for t in reversed(by_channel.values()))]
    world_normal = [world.normal_target.id, world.normal.id]
    world_sensitive = [world.sensitive_target.id, world.sensitive.id]
    shown_to_l1 = _listed(live_server, db, clock, world.people["agent_l1"], by_channel[Channel.EMAIL].id)
    assert shown_to_l1 == [i for i in everyone if i != by_channel[Channel.EMAIL].id] + world_normal
    shown_to_l2 = _listed(live_server, db, clock, world.people["agent_l2"], by_channel[Channel.EMAIL].id)
    # Newest first; the world's four were created together, so by number.
    assert shown_to_l2 == [i for i in everyone if i != by_channel[Channel.EMAIL].id] + sorted(
        world_normal + world_sensitive, reverse=True
    )

    with session_factory() as fresh:
        listed = fresh.execute(
            select(AuditEntry.actor_id, AuditEntry.subject_id).where(AuditEntry.action == "ticket_listed")
        ).all()
    assert sorted(listed) == sorted((world.people["agent_l2"].id, i) for i in world_sensitive)

    # The same list over the API, under the same rules.
    url = f"/api/v1/tickets/{by_channel[Channel.EMAIL].id}/requester-tickets"
    tokens = {name: make_token(db, clock, world.people[name]) for name in ("agent_l1", "agent_l2")}
    db.commit()
    for name, shown in (("agent_l1", shown_to_l1), ("agent_l2", shown_to_l2)):
        answer = live_server.client(tokens[name]).get(url)
        assert [t["number"] for t in answer.json()] == shown, answer.text
    assert {t["channel"] for t in answer.json()} == {"social", "phone", "api", "chat", "web"}
