"""The Zendesk parser alone (pure): the event export's field-as-key children, the Audits API's spelling,
channels, and what it refuses."""

from __future__ import annotations

import json
from typing import Any

from opsdesk.insights.imports import zendesk
from opsdesk.insights.imports.history import Problem, TicketHistory

TICKET = {
    "id": 7, "created_at": "2026-02-02T10:00:00Z", "requester_id": 1, "submitter_id": 1,
    "via": {"channel": "email"}, "subject": "Hi", "status": "open", "tags": ["x"], "group_id": 9,
}  # fmt: skip


def parse(*audits: dict[str, Any], ticket: dict[str, Any] = TICKET) -> tuple[TicketHistory, list[Problem]]:
    problems: list[Problem] = []
    tickets = list(zendesk.read_lines("tickets.jsonl", [json.dumps(ticket)], problems))
    events = list(zendesk.read_lines("ticket_events.jsonl", [json.dumps(a) for a in audits], problems))
    [history] = zendesk.tickets(tickets, events, problems)
    return history, problems


def audit(at: str, updater: int, *children: dict[str, Any], via: Any = "Web form") -> dict[str, Any]:
    return {"event_type": "Audit", "ticket_id": 7, "created_at": at, "updater_id": updater, "via": via,
            "child_events": list(children)}  # fmt: skip


def test_the_first_audit_opens_the_ticket_and_later_ones_are_steps() -> None:
    history, problems = parse(
        audit("2026-02-02T10:00:00Z", 1,
              {"event_type": "Comment", "body": "Hello", "html_body": "<p>Hello</p>", "public": True,
               "author_id": 1},
              {"event_type": "Create", "status": "new"}, {"event_type": "Create", "type": "incident"},
              {"event_type": "Create", "tags": ["a", "b"]}, {"event_type": "Create", "subject": "Hi"}),
        audit("2026-02-02T10:30:00Z", 2,
              {"event_type": "Change", "status": "open", "previous_value": "new"},
              {"event_type": "Change", "type": "problem", "previous_value": "incident"},
              {"event_type": "Change", "tags": ["b", "c"], "previous_value": ["a", "b"]},
              {"event_type": "Notification", "body": "mailed"},
              {"event_type": "Comment", "body": "Note", "public": False, "author_id": 2},
              via={"channel": "web"}),
    )  # fmt: skip
    assert problems == []
    assert (history.status, history.type, history.tags, history.group) == (
        "new",
        "incident",
        ["a", "b"],
        None,
    )
    assert [c.text for c in history.opening] == ["Hello"]
    assert [(s.kind, s.value) for s in history.steps] == [
        ("comment", None),
        ("status", "open"),
        ("type", "problem"),
        ("tags", (["c"], ["a"], ["b", "c"])),
    ]
    assert history.steps[0].comment is not None and history.steps[0].comment.public is False
    assert history.expected_status == "open"


def test_type_naming_the_event_satisfaction_and_hold() -> None:
    """Without ``event_type``, ``type`` names the child event (a ticket type change needs event_type)."""
    history, problems = parse(
        audit("2026-02-02T10:00:00Z", 1, {"type": "Create", "status": "new"}),
        audit("2026-02-02T11:00:00Z", 2, {"type": "Change", "status": "hold", "previous_value": "new"}),
        audit("2026-02-03T09:00:00Z", 1,
              {"event_type": "Change", "satisfaction_score": "offered", "previous_value": "unoffered"}),
        audit("2026-02-03T10:00:00Z", 1,
              {"event_type": "Change", "satisfaction_score": "bad", "previous_value": "offered"},
              {"event_type": "Change", "satisfaction_comment": "slow", "previous_value": None}),
    )  # fmt: skip
    assert [(s.kind, s.value) for s in history.steps] == [
        ("status", "on_hold"),
        ("rating", ("bad", None, "slow")),
    ]
    assert problems == []


def test_channels_times_and_refusals() -> None:
    vias = ({"channel": "voice"}, "Mail", "Twitter", "native_messaging", "x")
    assert [zendesk.channel_of(v) for v in vias] == ["phone", "email", "social", "chat", None]
    assert zendesk.parse_time(1767600000) == zendesk.parse_time("2026-01-05T08:00:00Z")
    assert zendesk.parse_time("yesterday") is None
    problems: list[Problem] = []
    lines = list(
        zendesk.read_lines("users.jsonl", ['{"id": 1, "role": "agent"}', "[1]", "{oops", ""], problems)
    )
    assert len(lines) == 1
    assert [str(p) for p in problems] == [
        "users.jsonl:2: not a JSON object",
        "users.jsonl:3: not JSON: Expecting property name enclosed in double quotes at column 2",
    ]
    no_requester = dict(TICKET, requester_id=None)
    problems = []
    found = zendesk.tickets(
        zendesk.read_lines("tickets.jsonl", [json.dumps(no_requester)], problems), [], problems
    )
    assert found == [] and [str(p) for p in problems] == [
        "tickets.jsonl:1: a ticket needs an id, created_at and requester_id"
    ]
