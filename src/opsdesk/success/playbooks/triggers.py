"""Pure trigger logic: given one account's state as of ``now``, which condition episodes are under way.

An episode is a maximal stretch in which a playbook's condition holds for an account, named by a key that
is the same on every evaluation while the stretch lasts and new once the condition has lapsed and holds
again. The engine stores fired keys under a UNIQUE constraint, so each episode fires once:

- renewal_within: one episode per end date of a term in force (``renewal:<end>``); a renewed contract
  has a new end date and so a new episode.
- utilisation_below: a run of consecutive completed months below the threshold, at least ``months``
  long and reaching the latest completed month; keyed by the run's first month.
- health_red: from the band change to red until the band leaves red; keyed by that change's event.
- stage_changed, nps_detractor, escalation_opened: the single event is the episode.

Event-driven episodes count only when their starting event is at or after ``since`` (the playbook's
creation), so a new playbook never replays history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from opsdesk.core.errors import ValidationFailed
from opsdesk.success.playbooks.models import TriggerKind

STAGES = ("implementation", "launch", "adoption", "renewal", "churned")
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
# The event types each event-driven trigger reads from the account's log.
EVENT_TYPES: dict[TriggerKind, str] = {
    TriggerKind.HEALTH_RED: "health_changed",
    TriggerKind.STAGE_CHANGED: "account_stage_changed",
    TriggerKind.NPS_DETRACTOR: "nps_response_recorded",
    TriggerKind.ESCALATION_OPENED: "escalation_opened",
}


@dataclass(frozen=True)
class AccountEvent:
    id: int
    type: str
    at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True)
class AccountState:
    """What the triggers may look at for one account at ``now``: the end dates of its terms in force,
    the engagement rate (% of covered lives) of each completed month, and its relevant events in order."""

    account_id: int
    renewal_ends: Sequence[date] = ()
    engagement: Mapping[date, float | None] = field(default_factory=dict)
    events: Sequence[AccountEvent] = ()


@dataclass(frozen=True)
class Episode:
    key: str
    reason: str
    facts: Mapping[str, str] = field(default_factory=dict)  # extra placeholders for email drafts


def _int(params: Mapping[str, Any], name: str, low: int, high: int, default: int | None = None) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"trigger parameter {name!r} must be a whole number {low}-{high}", field=name)
    return value


def validate_params(kind: TriggerKind, params: Mapping[str, Any]) -> dict[str, Any]:
    """The trigger's parameters checked and normalised (defaults filled in); unknown ones are refused."""
    allowed: dict[TriggerKind, set[str]] = {
        TriggerKind.RENEWAL_WITHIN: {"days"},
        TriggerKind.HEALTH_RED: set(),
        TriggerKind.UTILISATION_BELOW: {"pct", "months"},
        TriggerKind.STAGE_CHANGED: {"to", "from"},
        TriggerKind.NPS_DETRACTOR: {"max_score"},
        TriggerKind.ESCALATION_OPENED: {"severities"},
    }
    unknown = set(params) - allowed[kind]
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{kind.value} takes no parameter {name!r}", field=name)
    if kind is TriggerKind.RENEWAL_WITHIN:
        return {"days": _int(params, "days", 1, 730)}
    if kind is TriggerKind.UTILISATION_BELOW:
        pct = params.get("pct")
        if isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 < pct <= 100:
            raise ValidationFailed(
                "trigger parameter 'pct' must be a percentage above 0, at most 100", field="pct"
            )
        return {"pct": pct, "months": _int(params, "months", 1, 24, default=1)}
    if kind is TriggerKind.STAGE_CHANGED:
        out: dict[str, Any] = {}
        for name in ("to", "from"):
            value = params.get(name)
            if value is None and name == "from":
                continue
            if value not in STAGES:
                raise ValidationFailed(
                    f"trigger parameter {name!r} must be one of {', '.join(STAGES)}", field=name
                )
            out[name] = value
        return out
    if kind is TriggerKind.NPS_DETRACTOR:
        return {"max_score": _int(params, "max_score", 0, 10, default=6)}
    if kind is TriggerKind.ESCALATION_OPENED:
        severities = params.get("severities", list(SEVERITIES))
        if not isinstance(severities, list) or not severities or any(s not in SEVERITIES for s in severities):
            raise ValidationFailed(
                f"trigger parameter 'severities' must list some of {', '.join(SEVERITIES)}",
                field="severities",
            )
        return {"severities": sorted(set(severities))}
    return {}


def params_as_text(params: Mapping[str, Any]) -> str:
    """A trigger's parameters as a page shows them: ``name value`` a line, lists by commas."""
    return "\n".join(
        f"{name} {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for name, value in sorted(params.items())
    )


def _typed(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def params_from_text(kind: TriggerKind, text: str) -> dict[str, Any]:
    """Typed ``name value`` lines back into the trigger's parameters, checked as the API checks them."""
    params: dict[str, Any] = {}
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        name, _space, value = line.partition(" ")
        if not value.strip():
            raise ValidationFailed(f"write {line!r} as 'name value', e.g. 'days 90'", field=name or "trigger")
        if name == "severities":
            params[name] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            params[name] = _typed(value.strip())
    return validate_params(kind, params)


def _month_before(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def renewal_episodes(state: AccountState, today: date, days: int) -> list[Episode]:
    return [
        Episode(
            key=f"renewal:{end.isoformat()}",
            reason=f"renewal on {end.isoformat()}, within {days} days",
            facts={"renewal_date": end.isoformat(), "days_to_renewal": str((end - today).days)},
        )
        for end in sorted(set(state.renewal_ends))
        if 0 <= (end - today).days <= days
    ]


def utilisation_episodes(state: AccountState, today: date, pct: float, months: int) -> list[Episode]:
    """Walk back from the latest completed month while engagement stays below ``pct``; a month without
    data or without covered lives ends the run, since nothing is known about it."""
    month = _month_before(today.replace(day=1))
    run: list[tuple[date, float]] = []
    while (rate := state.engagement.get(month)) is not None and rate < pct:
        run.append((month, rate))
        month = _month_before(month)
    if len(run) < months:
        return []
    start, latest = run[-1][0], run[0][1]
    return [
        Episode(
            key=f"utilisation_below:{pct}:{start.isoformat()}",
            reason=f"engagement below {pct}% for {len(run)} month(s) since {start:%Y-%m}",
            facts={"engagement_pct": f"{latest:.1f}"},
        )
    ]


def health_red_episodes(state: AccountState, since: datetime, now: datetime) -> list[Episode]:
    changes = [e for e in state.events if e.type == "health_changed" and e.at <= now]
    if not changes or _band(changes[-1]) != "red":
        return []
    start = changes[-1]
    for event in reversed(changes):  # an earlier red->red (an override, a rescore) is the same stretch
        if _band(event) != "red":
            break
        start = event
    if start.at < since:
        return []
    return [
        Episode(
            key=f"health_red:{start.id}",
            reason=f"health turned red on {start.at.date().isoformat()}",
            facts={"health_score": str(start.data.get("score", ""))},
        )
    ]


def _band(event: AccountEvent) -> Any:
    return event.data.get("to_band", event.data.get("to"))


def event_episodes(
    kind: TriggerKind, params: Mapping[str, Any], state: AccountState, since: datetime, now: datetime
) -> list[Episode]:
    found = []
    for event in state.events:
        if event.type != EVENT_TYPES[kind] or not since <= event.at <= now:
            continue
        data = event.data
        if kind is TriggerKind.STAGE_CHANGED:
            if data.get("to") != params["to"] or ("from" in params and data.get("from") != params["from"]):
                continue
            reason = f"stage changed from {data.get('from')} to {data.get('to')}"
            facts = {"stage_from": str(data.get("from")), "stage_to": str(data.get("to"))}
        elif kind is TriggerKind.NPS_DETRACTOR:
            score = data.get("score")
            if not isinstance(score, int) or score > params["max_score"]:
                continue
            reason, facts = f"NPS response of {score}", {"nps_score": str(score)}
        else:
            if data.get("severity") not in params["severities"]:
                continue
            reason = f"{data.get('severity')} escalation opened: {data.get('title', '')}"
            facts = {"escalation_title": str(data.get("title", "")), "severity": str(data.get("severity"))}
        found.append(Episode(key=f"{kind.value}:{event.id}", reason=reason[:300], facts=facts))
    return found


def episodes(
    kind: TriggerKind, params: Mapping[str, Any], state: AccountState, *, since: datetime, now: datetime
) -> list[Episode]:
    """The episodes of this trigger under way for the account at ``now`` (``params`` validated)."""
    today = now.date()
    if kind is TriggerKind.RENEWAL_WITHIN:
        return renewal_episodes(state, today, params["days"])
    if kind is TriggerKind.UTILISATION_BELOW:
        return utilisation_episodes(state, today, params["pct"], params["months"])
    if kind is TriggerKind.HEALTH_RED:
        return health_red_episodes(state, since, now)
    return event_episodes(kind, params, state, since, now)
