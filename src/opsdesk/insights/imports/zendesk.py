"""Zendesk's exports, parsed: the JSON Lines files written from the list endpoints (organisations,
groups, users), the incremental ticket export and the incremental ticket event export with
``include=comment_events``. Pure: lines in, the neutral history (``history``) and problems out.

In the event export each line is an ``Audit`` with ``ticket_id``, ``created_at``, ``updater_id``, ``via``
and ``child_events``. Unlike the Ticket Audits API, a Create or Change child names the field as its own
key (``{"event_type": "Change", "status": "open", "previous_value": "new"}``); a Comment child carries
``body``, ``html_body``, ``public`` and ``author_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsdesk.core.roles import Role
from opsdesk.insights.imports.history import Comment, Company, Person, Problem, Step, Team, TicketHistory

SOURCE = "zendesk"
FILES = ("organizations", "groups", "users", "tickets", "ticket_events")
OPTIONAL_FILES = ("ticket_metrics",)

STATUSES = {"new": "new", "open": "open", "pending": "pending", "hold": "on_hold", "on-hold": "on_hold",
            "solved": "solved", "closed": "closed"}  # fmt: skip
PRIORITIES = ("low", "normal", "high", "urgent")
TYPES = ("question", "incident", "problem", "task")
ROLES = {"end-user": Role.REQUESTER, "agent": Role.AGENT, "admin": Role.ADMIN}
# via.channel of tickets and child events, and the names the event export's top-level ``via`` uses.
CHANNELS = {
    "email": "email", "mail": "email", "web": "web", "web form": "web", "web_form": "web",
    "help_center": "web", "chat": "chat", "native_messaging": "chat", "messaging": "chat",
    "sunshine_conversations_api": "chat", "voice": "phone", "phone": "phone", "phone call (inbound)": "phone",
    "phone call (outbound)": "phone", "voicemail": "phone", "twitter": "social", "facebook": "social",
    "instagram_dm": "social", "whatsapp": "social", "sms": "social", "api": "api", "web service": "api",
    "mobile_sdk": "api", "mobile": "api", "web_service": "api",
}  # fmt: skip
# Child events that carry no ticket history (who was mailed, macro references, CC lists).
NOT_HISTORY = {
    "Notification", "NotificationWithCcs", "Cc", "EmailCcChange", "FollowerChange", "FollowerNotification",
    "AgentMacroReference", "Push", "External", "OrganizationActivity", "Error", "TicketSharingEvent",
}  # fmt: skip
# Create/Change fields that describe the ticket but not its workflow; kept out of the event log.
NOT_WORKFLOW = {
    "subject", "description", "requester_id", "submitter_id", "organization_id", "brand_id",
    "ticket_form_id", "via_id", "recipient", "is_public", "comment_count", "custom_status_id",
    "locale_id", "due_at", "problem_id", "collaborator_ids", "follower_ids", "email_cc_ids",
    "satisfaction_reason_code", "sharing_agreement_ids",
}  # fmt: skip
_KEYS = {"id", "via", "via_reference_id", "event_type", "previous_value", "created_at", "added_tags",
         "removed_tags"}  # fmt: skip
FIELD_KINDS = {"status": "status", "assignee_id": "assignee", "group_id": "group", "priority": "priority",
               "type": "type", "tags": "tags", "current_tags": "tags"}  # fmt: skip


@dataclass(frozen=True)
class Line:
    file: str
    number: int
    record: dict[str, Any]


def read_lines(file: str, lines: Iterable[str], problems: list[Problem]) -> Iterator[Line]:
    """The JSON objects of a JSON Lines file; a line that is not one is reported and skipped."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(file, number, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(file, number, "not a JSON object"))
            continue
        yield Line(file, number, record)


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip()):
        return str(value).strip()
    return None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (``2026-01-05T09:00:00Z``) or Unix seconds, as Zendesk writes them; always UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def channel_of(via: Any) -> str | None:
    """The OpsDesk channel of a ``via``: an object with ``channel`` or the export's plain name."""
    name = via.get("channel") if isinstance(via, dict) else via
    return CHANNELS.get(str(name).strip().lower()) if name is not None else None


def organisations(lines: Iterable[Line], problems: list[Problem]) -> list[Company]:
    out = []
    for line in lines:
        r = line.record
        external_id, name = _id(r.get("id")), (r.get("name") or "").strip()
        if external_id is None or not name:
            problems.append(Problem(line.file, line.number, "an organisation needs an id and a name"))
            continue
        domains = [d for d in r.get("domain_names") or [] if isinstance(d, str) and d.strip()]
        out.append(
            Company(
                line=line.number,
                external_id=external_id,
                name=name[:200],
                domain=domains[0].strip().lower() if domains else None,
                crm_id=_id(r.get("external_id")),
                tags=tuple(t for t in r.get("tags") or [] if isinstance(t, str)),
                shared_tickets=bool(r.get("shared_tickets")),
                created_at=parse_time(r.get("created_at")),
            )
        )
    return out


def groups(lines: Iterable[Line], problems: list[Problem]) -> list[Team]:
    out = []
    for line in lines:
        r = line.record
        external_id, name = _id(r.get("id")), (r.get("name") or "").strip()
        if external_id is None or not name:
            problems.append(Problem(line.file, line.number, "a group needs an id and a name"))
            continue
        out.append(Team(line=line.number, external_id=external_id, name=name[:100]))
    return out


def users(lines: Iterable[Line], problems: list[Problem]) -> list[Person]:
    out = []
    for line in lines:
        r = line.record
        external_id = _id(r.get("id"))
        role = ROLES.get(str(r.get("role") or "").lower())
        if external_id is None:
            problems.append(Problem(line.file, line.number, "a user needs an id"))
            continue
        if role is None:
            problems.append(
                Problem(line.file, line.number, f"unknown role {r.get('role')!r}; imported as a requester")
            )
            role = Role.REQUESTER
        email = r.get("email") if isinstance(r.get("email"), str) and "@" in r["email"] else None
        out.append(
            Person(
                line=line.number,
                external_id=external_id,
                name=(r.get("name") or email or f"Zendesk user {external_id}").strip()[:200],
                email=email.strip().lower() if email else None,
                role=role,
                organisation=_id(r.get("organization_id")),
                default_group=_id(r.get("default_group_id")),
                phone=r.get("phone") if isinstance(r.get("phone"), str) and r["phone"].strip() else None,
                created_at=parse_time(r.get("created_at")),
            )
        )
    return out


def tickets(
    ticket_lines: Iterable[Line], event_lines: Iterable[Line], problems: list[Problem]
) -> list[TicketHistory]:
    """Each ticket of the ticket export with its audits from the event export, in time order."""
    histories: dict[str, TicketHistory] = {}
    deleted: set[str | None] = set()
    for line in ticket_lines:
        if line.record.get("status") == "deleted":  # the export lists them unless exclude_deleted is set
            deleted.add(_id(line.record.get("id")))
            problems.append(
                Problem(
                    line.file,
                    line.number,
                    f"ticket {_id(line.record.get('id'))} was deleted in Zendesk; not imported",
                )
            )
            continue
        history = _ticket(line, problems)
        if history is not None:
            histories[history.external_id] = history
    audits: dict[str, list[Line]] = {}
    for line in event_lines:
        ticket_id = _id(line.record.get("ticket_id"))
        if ticket_id in deleted:
            continue
        if line.record.get("event_type", "Audit") != "Audit":
            problems.append(
                Problem(
                    line.file, line.number, f"event type {line.record.get('event_type')!r} is not an Audit"
                )
            )
        elif ticket_id is None or ticket_id not in histories:
            problems.append(Problem(line.file, line.number, f"ticket {ticket_id} is not in tickets.jsonl"))
        elif _audit_time(line.record) is None:
            problems.append(Problem(line.file, line.number, "the audit has no readable created_at"))
        else:
            audits.setdefault(ticket_id, []).append(line)
    for ticket_id, history in histories.items():
        mine = sorted(audits.get(ticket_id, []), key=lambda a: (_audit_time(a.record), a.number))
        if not mine:
            problems.append(
                Problem(
                    history.file,
                    history.line,
                    f"ticket {ticket_id} has no events: only its current state is imported",
                )
            )
            _current_state_only(history)
            continue
        # The opening values are the first audit's Create children, not the ticket's current ones.
        history.status, history.priority, history.type = "new", "normal", None
        history.group, history.assignee, history.tags = None, None, []
        for index, audit in enumerate(mine):
            _apply_audit(history, audit, opening=index == 0, problems=problems)
    return list(histories.values())


def _ticket(line: Line, problems: list[Problem]) -> TicketHistory | None:
    r = line.record
    external_id = _id(r.get("id"))
    created = parse_time(r.get("created_at"))
    requester = _id(r.get("requester_id"))
    if external_id is None or created is None or requester is None:
        problems.append(Problem(line.file, line.number, "a ticket needs an id, created_at and requester_id"))
        return None
    channel = channel_of(r.get("via"))
    if channel is None:
        problems.append(
            Problem(
                line.file,
                line.number,
                f"channel {(r.get('via') or {}).get('channel')!r} not mapped; imported as api",
            )
        )
        channel = "api"
    status = STATUSES.get(str(r.get("status") or ""))
    if status is None and r.get("status") is not None:
        problems.append(Problem(line.file, line.number, f"status {r.get('status')!r} not mapped"))
    return TicketHistory(
        external_id=external_id,
        file=line.file,
        line=line.number,
        subject=" ".join(str(r.get("subject") or r.get("raw_subject") or "").split())[:500]
        or f"Zendesk ticket {external_id}",
        channel=channel,
        created_at=created,
        requester=requester,
        created_by=_id(r.get("submitter_id")),
        organisation=_id(r.get("organization_id")),
        priority=str(r["priority"]) if r.get("priority") in PRIORITIES else "normal",
        type=r.get("type") if r.get("type") in TYPES else None,
        group=_id(r.get("group_id")),
        assignee=_id(r.get("assignee_id")),
        tags=[t for t in r.get("tags") or [] if isinstance(t, str)],
        expected_status=status,
    )


def _current_state_only(history: TicketHistory) -> None:
    history.status = history.expected_status or "new"


def _audit_time(record: dict[str, Any]) -> datetime | None:
    return parse_time(record.get("created_at")) or parse_time(record.get("timestamp"))


def _apply_audit(history: TicketHistory, audit: Line, *, opening: bool, problems: list[Problem]) -> None:
    r = audit.record
    at = _audit_time(r)
    assert at is not None
    actor = _id(r.get("updater_id"))
    actor = None if actor == "-1" else actor
    channel = channel_of(r.get("via"))
    children = [c for c in r.get("child_events") or [] if isinstance(c, dict)]
    comments: list[Step] = []
    changes: list[Step] = []
    rating: dict[str, Any] = {}
    for child in children:
        kind = child.get("event_type") or child.get("type")
        if kind in ("Comment", "VoiceComment"):
            author = _id(child.get("author_id"))
            comment = Comment(
                author=None if author in (None, "-1") else author,
                public=bool(child.get("public", True)),
                html=child.get("html_body") if isinstance(child.get("html_body"), str) else None,
                text=child.get("body") if isinstance(child.get("body"), str) else None,
                channel=channel_of(child.get("via")) or channel,
            )
            comments.append(Step(at, comment.author, audit.number, "comment", comment=comment))
        elif kind in ("Create", "Change"):
            for field, value in _fields(child):
                if field in ("satisfaction_score", "satisfaction_comment"):
                    rating[field] = value
                elif field in FIELD_KINDS:
                    step = _change(history, field, value, child, at, actor, audit, problems)
                    if kind == "Create" and opening:
                        _open_with(history, step)
                    elif step is not None:
                        changes.append(step)
                elif field not in NOT_WORKFLOW:
                    problems.append(
                        Problem(audit.file, audit.number, f"{kind} of field {field!r} not mapped")
                    )
        elif kind == "SatisfactionRating":
            rating["satisfaction_score"] = child.get("score")
            rating["satisfaction_comment"] = child.get("body") or child.get("comment")
        elif kind not in NOT_HISTORY:
            problems.append(Problem(audit.file, audit.number, f"child event {kind!r} not mapped"))
    if opening:
        history.created_by = actor or history.created_by
        history.opening = [s.comment for s in comments if s.comment is not None]
    else:
        history.steps.extend(comments)
    history.steps.extend(changes)
    score = rating.get("satisfaction_score")
    if isinstance(score, str | int) and str(score).lower() not in ("offered", "unoffered", ""):
        value = str(score).lower()
        if value in ("good", "bad") or (value.isdigit() and 1 <= int(value) <= 5):
            note = rating.get("satisfaction_comment")
            history.steps.append(
                Step(
                    at,
                    history.requester,
                    audit.number,
                    "rating",
                    (value, None, note if isinstance(note, str) else None),
                )
            )
        else:
            problems.append(Problem(audit.file, audit.number, f"satisfaction score {score!r} not mapped"))


def _fields(child: dict[str, Any]) -> list[tuple[str, Any]]:
    """The field a Create or Change child is about: the key that is not one of the event's own. Without
    ``event_type``, ``type`` names the event (as the Ticket Audits API does), not the ticket's type."""
    own = _KEYS if "event_type" in child else _KEYS | {"type"}
    return [(key, value) for key, value in child.items() if key not in own]


def _change(
    history: TicketHistory,
    field: str,
    value: Any,
    child: dict[str, Any],
    at: datetime,
    actor: str | None,
    audit: Line,
    problems: list[Problem],
) -> Step | None:
    kind = FIELD_KINDS[field]
    if kind == "status":
        status = STATUSES.get(str(value))
        if status is None:
            problems.append(Problem(audit.file, audit.number, f"status {value!r} not mapped"))
            return None
        return Step(at, actor, audit.number, "status", status)
    if kind in ("assignee", "group"):
        return Step(at, actor, audit.number, kind, _id(value))
    if kind == "priority":
        return Step(at, actor, audit.number, kind, value if value in PRIORITIES else "normal")
    if kind == "type":
        return Step(at, actor, audit.number, kind, value if value in TYPES else None)
    now = _tag_list(value)
    before = _tag_list(child.get("previous_value"))
    added = [t for t in child.get("added_tags") or [t for t in now if t not in before] if isinstance(t, str)]
    removed = [
        t for t in child.get("removed_tags") or [t for t in before if t not in now] if isinstance(t, str)
    ]
    return Step(at, actor, audit.number, "tags", (added, removed, now))


def _tag_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    return []


def _open_with(history: TicketHistory, step: Step | None) -> None:
    """A Create child of the first audit: the value the ticket was opened with."""
    if step is None:
        return
    if step.kind == "status":
        history.status = str(step.value)
    elif step.kind == "assignee":
        history.assignee = step.value if isinstance(step.value, str) else None
    elif step.kind == "group":
        history.group = step.value if isinstance(step.value, str) else None
    elif step.kind == "priority":
        history.priority = str(step.value)
    elif step.kind == "type":
        history.type = step.value if isinstance(step.value, str) else None
    elif step.kind == "tags":
        assert isinstance(step.value, tuple)
        history.tags = list(step.value[2])
