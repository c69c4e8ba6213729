"""The demo's SLA set-up: a 24x7 calendar for the follow-the-sun desk, each site's local business
hours, and the policies whose targets the generated history was measured against."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.models import User
from opsdesk.demo.people import SITES
from opsdesk.desk.models import Priority
from opsdesk.desk.sla import actions as sla_actions

# Calendar minutes, by priority. Chat has its own, much shorter, first-reply target.
FIRST_REPLY_TARGET = {Priority.URGENT: 60, Priority.HIGH: 240, Priority.NORMAL: 480, Priority.LOW: 1440}
NEXT_REPLY_TARGET = {Priority.URGENT: 120, Priority.HIGH: 480, Priority.NORMAL: 960, Priority.LOW: 2880}
RESOLUTION_TARGET = {Priority.URGENT: 480, Priority.HIGH: 1440, Priority.NORMAL: 4320, Priority.LOW: 7200}
CHAT_FIRST_REPLY = 10
WEEKDAYS = (0, 1, 2, 3, 4)  # Monday to Friday
SITE_HOLIDAYS = {
    "America/Chicago": ["2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"],
    "America/Los_Angeles": ["2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"],
    "Asia/Manila": ["2026-06-12", "2026-08-31", "2026-11-30", "2026-12-25"],
    "Europe/Dublin": ["2026-06-01", "2026-08-03", "2026-10-26", "2026-12-25"],
}


@dataclass(frozen=True)
class DemoPolicies:
    chat_id: int
    global_id: int


def create_sla_setup(session: Session, *, admin: User, clock: Clock) -> DemoPolicies:
    always = sla_actions.create_business_schedule(
        session, name="24x7 follow-the-sun", timezone="UTC", always_open=True, actor=admin, clock=clock
    )
    for site_name, zone, *_ in SITES:
        sla_actions.create_business_schedule(
            session,
            name=f"{site_name} business hours",
            timezone=zone,
            intervals=[{"weekday": day, "start": "08:00", "end": "18:00"} for day in WEEKDAYS],
            holidays=SITE_HOLIDAYS[zone],
            actor=admin,
            clock=clock,
        )

    def targets(first_reply: dict[Priority, int] | int) -> dict[str, dict[str, int]]:
        return {
            p.value: {
                "first_reply": first_reply if isinstance(first_reply, int) else first_reply[p],
                "next_reply": NEXT_REPLY_TARGET[p],
                "resolution": RESOLUTION_TARGET[p],
            }
            for p in Priority
        }

    chat = sla_actions.create_sla_policy(
        session,
        name="Live chat",
        channels=["chat"],
        targets=targets(CHAT_FIRST_REPLY),
        schedule=always,
        actor=admin,
        clock=clock,
    )
    everything = sla_actions.create_sla_policy(
        session,
        name="Global 24x7",
        targets=targets(FIRST_REPLY_TARGET),
        schedule=always,
        actor=admin,
        clock=clock,
    )
    return DemoPolicies(chat_id=chat.id, global_id=everything.id)
