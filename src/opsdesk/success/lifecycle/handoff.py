"""Hand-off checklists: what the outgoing owner confirms at a stage change ("check" items, answered on
the page) and the tasks the change creates for the next phase's owner ("task" items, due a number of
days after the change). A lead may store a checklist per transition; every transition without one
uses the defaults below, so a hand-off is never empty."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.models import Stage

CHECK = "check"
TASK = "task"
MAX_ITEMS = 30
MAX_TEXT = 200
MAX_DUE_DAYS = 365


@dataclass(frozen=True)
class Item:
    kind: str  # CHECK or TASK
    text: str
    required: bool = True  # checks only: the change is refused until it is ticked
    due_days: int = 7  # tasks only: due this many days after the change

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "required": self.required, "due_days": self.due_days}


def _check(text: str, *, required: bool = True) -> Item:
    return Item(CHECK, text, required=required)


def _task(text: str, due_days: int) -> Item:
    return Item(TASK, text, due_days=due_days)


DEFAULTS: dict[tuple[Stage, Stage], tuple[Item, ...]] = {
    (Stage.IMPLEMENTATION, Stage.LAUNCH): (
        _check("Go-live date confirmed with the customer"),
        _check("Eligibility file loaded and validated"),
        _check("Launch goals and success criteria recorded"),
        _check("HR and benefits contacts up to date"),
        _check("Open implementation issues listed for the CSM", required=False),
        _task("Introduce yourself to the customer as their CSM", 3),
        _task("Review the implementation notes and open issues", 7),
    ),
    (Stage.LAUNCH, Stage.ADOPTION): (
        _check("Member launch communications sent"),
        _check("First month's engagement reviewed"),
        _task("Agree a success plan with the customer", 14),
    ),
    (Stage.ADOPTION, Stage.RENEWAL): (
        _check("Contract end date and ARR confirmed"),
        _check("Health and open risks summarised for the renewal owner"),
        _check("Expansion opportunities noted", required=False),
        _task("Plan the renewal conversation", 7),
        _task("Prepare the value review for the customer", 21),
    ),
    (Stage.RENEWAL, Stage.ADOPTION): (
        _check("Renewal signed and the new term recorded"),
        _check("Changes agreed in the renewal shared with the CSM"),
        _task("Follow up on what the renewal changed", 14),
    ),
    (Stage.CHURNED, Stage.IMPLEMENTATION): (
        _check("New contract signed"),
        _check("Reasons the customer left before reviewed"),
        _task("Kick off the new implementation", 5),
    ),
}
TO_CHURNED = (
    _check("Reason for leaving recorded"),
    _check("Exit interview offered", required=False),
    _task("Close out open work and record the lessons learned", 14),
)
ANY_OTHER = (
    _check("Hand-off notes shared with the next owner"),
    _task("Review the hand-off", 7),
)


def default_items(from_stage: Stage, to: Stage) -> tuple[Item, ...]:
    if to is Stage.CHURNED:
        return TO_CHURNED
    return DEFAULTS.get((from_stage, to), ANY_OTHER)


def parse_items(raw: Sequence[Mapping[str, Any]]) -> list[Item]:
    """Validate a configured checklist (from the API or the database)."""
    if len(raw) > MAX_ITEMS:
        raise ValidationFailed(f"a checklist holds at most {MAX_ITEMS} items", field="items")
    items = []
    for index, entry in enumerate(raw):
        kind = entry.get("kind")
        text = str(entry.get("text") or "").strip()
        if kind not in (CHECK, TASK):
            raise ValidationFailed("an item is a 'check' or a 'task'", field=f"items.{index}.kind")
        if not text or len(text) > MAX_TEXT:
            raise ValidationFailed(
                f"an item needs a text of 1 to {MAX_TEXT} characters", field=f"items.{index}.text"
            )
        due = entry.get("due_days", 7)
        if not isinstance(due, int) or isinstance(due, bool) or not 0 <= due <= MAX_DUE_DAYS:
            raise ValidationFailed(f"due_days is 0 to {MAX_DUE_DAYS}", field=f"items.{index}.due_days")
        items.append(Item(kind, text, required=bool(entry.get("required", True)), due_days=due))
    return items


def checks(items: Sequence[Item]) -> list[Item]:
    return [i for i in items if i.kind == CHECK]


def tasks(items: Sequence[Item]) -> list[Item]:
    return [i for i in items if i.kind == TASK]


def answer(items: Sequence[Item], ticked: set[int]) -> list[dict[str, Any]]:
    """The answers to the checks (``ticked``: indexes into the checks), refused while a required one is
    not ticked; the answers keep the item texts, so the record reads the same after the checklist
    changes."""
    questions = checks(items)
    unknown = sorted(i for i in ticked if not 0 <= i < len(questions))
    if unknown:
        raise ValidationFailed(f"the checklist has no item {unknown[0]}", field="checked")
    missing = [q.text for n, q in enumerate(questions) if q.required and n not in ticked]
    if missing:
        raise ValidationFailed(
            f"the hand-off checklist is not complete: {'; '.join(missing)}", field="checked"
        )
    return [{"item": q.text, "required": q.required, "done": n in ticked} for n, q in enumerate(questions)]


def as_lines(items: Sequence[Item]) -> str:
    """The checklist as the page edits it, one item a line: ``check: text`` (required), ``optional:
    text`` (a check that may stay open) or ``task N: text`` (a task due N days after the change)."""
    lines = []
    for item in items:
        if item.kind == TASK:
            lines.append(f"task {item.due_days}: {item.text}")
        else:
            lines.append(f"{'check' if item.required else 'optional'}: {item.text}")
    return "\n".join(lines)


def from_lines(text: str) -> list[dict[str, Any]]:
    """The items of ``as_lines``'s text (blank lines skipped); an error names the line."""
    items: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        head, sep, body = line.partition(":")
        words = head.strip().lower().split()
        if not sep or not words or not body.strip():
            raise ValidationFailed(
                f"line {number}: write 'check: ...', 'optional: ...' or 'task 7: ...'", field="items"
            )
        if words == ["check"] or words == ["optional"]:
            items.append({"kind": CHECK, "text": body.strip(), "required": words[0] == "check"})
        elif words[0] == "task" and len(words) == 2 and words[1].isdigit():
            items.append({"kind": TASK, "text": body.strip(), "due_days": int(words[1])})
        else:
            raise ValidationFailed(
                f"line {number}: {head.strip()!r} is not check, optional or task N", field="items"
            )
    if not items:
        raise ValidationFailed("a checklist needs at least one item", field="items")
    return items
