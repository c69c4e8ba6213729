"""An agent's schedule as an RFC 5545 iCalendar document: pure, entries in, bytes out. ``icalendar`` is
imported inside, so a web worker loads it only when a feed is asked for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CalendarEntry:
    uid: str  # stable across fetches, so a calendar app updates the event instead of duplicating it
    starts_at: datetime
    ends_at: datetime
    summary: str
    cancelled: bool = False
    description: str = ""


def schedule_calendar(name: str, entries: Sequence[CalendarEntry], *, stamp: datetime) -> bytes:
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//OpsDesk//Agent schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.starts_at)
        event.add("dtend", entry.ends_at)
        event.add("summary", entry.summary)
        if entry.description:
            event.add("description", entry.description)
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
