"""Saved views: any list filter and any sort (SLA due time included) saved personal or shared; a view's
count equals the length of its list, paged to the end, for the person looking (need-to-know holds)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from opsdesk.core.models import Role, Tier, User
from opsdesk.desk import actions as desk_actions
from opsdesk.desk import queries as desk_queries
from opsdesk.desk.models import Channel, Priority, Ticket
from opsdesk.desk.ticket_sort import SORTS, parse
from opsdesk.desk.views import actions, queries
from opsdesk.desk.views.filters import to_filters
from tests.factories import make_user

BREACHING = 60


def _all_pages(
    db: Session, user: User, clock: FixedClock, view_filters: dict, sort: str | None
) -> list[Ticket]:
    items, cursor = [], None
    while True:
        page = desk_queries.list_tickets(
            db,
            user=user,
            filters=to_filters(view_filters),
            clock=clock,
            breaching_soon_minutes=BREACHING,
            cursor=cursor,
            limit=7,
            sort=sort,
        )
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


@pytest.fixture
def desk(db: Session, clock: FixedClock) -> dict[str, User]:
    clinical = core_actions.create_group(db, name="Clinical", sensitive_access=True)
    lead = make_user(db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    core_actions.add_to_group(db, group=clinical, user=lead, clock=clock)
    ana = make_user(db, clock, Role.AGENT, email="ana@desk.test", tier=Tier.L1)
    requester = make_user(db, clock, Role.REQUESTER, email="rita@acme.test")
    priorities = list(Priority)
    for n in range(40):
        ticket = desk_actions.create_ticket(
            db,
            requester=requester,
            subject=f"T{n}",
            body_text="Hi",
            clock=clock,
            channel=Channel.EMAIL if n % 3 else Channel.CHAT,
            priority=priorities[n % 4],
            sensitive=n % 10 == 0,
            tags=["billing"] if n % 2 else [],
        )
        # Some due times, some none; several equal, so the number breaks ties.
        ticket.sla_next_due_at = None if n % 5 == 0 else clock.now() + timedelta(minutes=(n * 7) % 90)
        if n % 4 == 1:
            desk_actions.assign(db, ticket=ticket, assignee=ana, actor=lead, clock=clock)
        clock.advance(timedelta(minutes=1))
    db.commit()
    return {"lead": lead, "ana": ana}


def test_each_views_count_equals_its_list_in_every_sort(
    db: Session, clock: FixedClock, desk: dict[str, User]
) -> None:
    views = [
        actions.save_view(
            db,
            owner=desk["ana"],
            clock=clock,
            name="Billing chats",
            filters={"tag": "billing", "channel": ["chat"]},
        ),
        actions.save_view(
            db,
            owner=desk["ana"],
            clock=clock,
            name="Urgent or high",
            filters={"priority": ["urgent", "high"]},
            sort="sla_due",
        ),
        actions.save_view(
            db,
            owner=desk["lead"],
            clock=clock,
            name="Team: all open",
            filters={"status": ["new", "open"]},
            sort="-sla_due",
            shared=True,
        ),
        actions.save_view(
            db, owner=desk["ana"], clock=clock, name="Mine", filters={"view": "mine"}, sort="-updated"
        ),
    ]
    db.commit()
    for user in desk.values():
        counted = queries.counted_views(db, user=user, clock=clock, breaching_soon_minutes=BREACHING)
        visible = {c.view.name for c in counted}
        assert "Team: all open" in visible  # shared
        assert ("Billing chats" in visible) == (user is desk["ana"])  # personal
        for entry in counted:
            for sort in (entry.view.sort, *SORTS):
                listed = _all_pages(db, user, clock, entry.view.filters, sort)
                assert len(listed) == entry.count, (entry.view.name, sort)
                assert len({t.id for t in listed}) == entry.count
                if sort:
                    order = parse(sort)
                    keys = [(order.value_of(t), t.id) for t in listed]
                    assert keys == sorted(keys, reverse=order.descending), (entry.view.name, sort)
    # Need-to-know: the sensitive tickets count for the lead, not for Ana.
    team = views[2]
    lead_count = next(
        c.count
        for c in queries.counted_views(db, user=desk["lead"], clock=clock, breaching_soon_minutes=BREACHING)
        if c.view.id == team.id
    )
    ana_count = next(
        c.count
        for c in queries.counted_views(db, user=desk["ana"], clock=clock, breaching_soon_minutes=BREACHING)
        if c.view.id == team.id
    )
    assert lead_count - ana_count == 4


def test_sla_due_sort_puts_tickets_without_a_target_last(
    db: Session, clock: FixedClock, desk: dict[str, User]
) -> None:
    listed = _all_pages(db, desk["lead"], clock, {}, "sla_due")
    dues = [t.sla_next_due_at for t in listed]
    first_none = dues.index(None)
    assert all(d is None for d in dues[first_none:]) and all(d is not None for d in dues[:first_none])


def test_sharing_and_changing_views_is_checked(db: Session, clock: FixedClock, desk: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied):
        actions.save_view(db, owner=desk["ana"], clock=clock, name="Everyone's", filters={}, shared=True)
    with pytest.raises(ValidationFailed) as bad:
        actions.save_view(db, owner=desk["ana"], clock=clock, name="X", filters={"colour": "red"})
    assert bad.value.field == "colour"
    with pytest.raises(ValidationFailed):
        actions.save_view(db, owner=desk["ana"], clock=clock, name="X", filters={}, sort="-colour")
    mine = actions.save_view(db, owner=desk["ana"], clock=clock, name="Mine", filters={"view": "mine"})
    shared = actions.save_view(db, owner=desk["lead"], clock=clock, name="Team", filters={}, shared=True)
    db.commit()
    with pytest.raises(NotFound):
        queries.view_for(db, mine.id, desk["lead"])
    with pytest.raises(PermissionDenied):
        actions.delete_view(db, view=shared, actor=desk["ana"], clock=clock)
    actions.delete_view(db, view=mine, actor=desk["ana"], clock=clock)
    db.commit()
    assert [v.name for v in queries.views_for(db, desk["ana"])] == ["Team"]
