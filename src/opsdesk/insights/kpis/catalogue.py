"""The metric names users type, what kind of number each is, and what it means (shown by
``opsdesk kpi --help`` and in the README, so the definitions users read are the ones computed)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.StrEnum):
    DURATION = "duration"  # n, mean_s, median_s, p90_s
    RATE = "rate"  # value, numerator, denominator
    COUNT = "count"  # value


class Basis(enum.StrEnum):
    """What puts a sample in a period: its ticket (created or solved date, as asked), or its own time."""

    TICKET = "ticket"
    EVENT = "event"


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    basis: Basis
    definition: str


SERVICE_LEVEL_SECONDS = 20
"""Phone and chat service level: answered within this many seconds, over offered (abandons included)."""

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("first_reply_time", Kind.DURATION, Basis.TICKET,
               "created -> first public agent reply (bot and system replies do not count); when an agent "
               "created the ticket with a public comment, the agent's next public comment"),
        Metric("next_reply_time", Kind.DURATION, Basis.TICKET,
               "after the first reply, the oldest unanswered public requester message -> the next public "
               "agent reply; one sample per exchange"),
        Metric("first_resolution_time", Kind.DURATION, Basis.TICKET, "created -> first solved"),
        Metric("full_resolution_time", Kind.DURATION, Basis.TICKET,
               "created -> latest solved, for tickets solved (or closed) now"),
        Metric("requester_wait_time", Kind.DURATION, Basis.TICKET,
               "time in new, open and on-hold up to the latest solve, for tickets solved now"),
        Metric("agent_wait_time", Kind.DURATION, Basis.TICKET,
               "time in pending up to the latest solve, for tickets solved now"),
        Metric("agent_work_time", Kind.DURATION, Basis.TICKET,
               "time in new and open up to the latest solve, for tickets solved now"),
        Metric("on_hold_time", Kind.DURATION, Basis.TICKET,
               "time in on-hold up to the latest solve, for tickets solved now"),
        Metric("reopen_rate", Kind.RATE, Basis.TICKET,
               "tickets reopened (solved -> unsolved) at least once / tickets solved at least once"),
        Metric("one_touch_rate", Kind.RATE, Basis.TICKET,
               "tickets solved at least once with exactly one public agent reply / tickets solved at "
               "least once"),
        Metric("escalation_rate", Kind.RATE, Basis.TICKET,
               "tickets escalated to L2 at least once / tickets created"),
        Metric("sla_attainment", Kind.RATE, Basis.TICKET,
               "met targets / (met + breached) targets, per target (first_reply, next_reply, "
               "resolution), under the SLA policy that applies to the ticket, paused where it says; "
               "targets still running are left out, and merged tickets have none"),
        Metric("csat", Kind.RATE, Basis.EVENT,
               "good / (good + bad) ratings received in the period, the latest per ticket; on a 1-5 "
               "scale 4-5 is good"),
        Metric("tickets_created", Kind.COUNT, Basis.EVENT, "tickets created in the period"),
        Metric("tickets_solved", Kind.COUNT, Basis.EVENT,
               "tickets solved (or closed) now whose latest solve is in the period"),
        Metric("backlog", Kind.COUNT, Basis.EVENT,
               "unsolved tickets (new, open, pending, on-hold) at the end of the period, or of each "
               "day, week or month (at most now)"),
        Metric("aht", Kind.DURATION, Basis.EVENT,
               "phone: talk + hold + wrap of answered calls; chat: agent joined -> chat ended"),
        Metric("wait_time", Kind.DURATION, Basis.EVENT,
               "phone and chat: offered -> answered, for answered contacts"),
        Metric("service_level", Kind.RATE, Basis.EVENT,
               f"phone and chat: answered within {SERVICE_LEVEL_SECONDS} s / offered (abandoned "
               "contacts count as offered)"),
        Metric("abandon_rate", Kind.RATE, Basis.EVENT,
               "phone and chat: contacts abandoned before an agent answered / offered (voicemails "
               "are not offered)"),
    )
}  # fmt: skip

TIME_KEYS = ("day", "week", "month")
BY_KEYS = (*TIME_KEYS, "channel", "site", "group", "tier", "agent", "priority", "tag", "segment")
DATE_BASES = ("created", "solved")
