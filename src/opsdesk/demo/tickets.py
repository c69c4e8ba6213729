"""Six months of desk history: tickets on four channels with daily and weekly seasonality, replies,
escalations, solves, closes and SLA breaches, written as the rows and events the desk actions write. The
tickets arrive in time order and the routing core assigns them (demo/history_routing.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from opsdesk.core.models import Event, Tier
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.demo.calls import DemoCalls
from opsdesk.demo.history_routing import HistoryRouter
from opsdesk.demo.people import TAG_POOL, DemoPeople
from opsdesk.demo.sla import CHAT_FIRST_REPLY, FIRST_REPLY_TARGET, RESOLUTION_TARGET, DemoPolicies
from opsdesk.desk.models import AuthorKind, Channel, Message, Priority, Status, Ticket, TicketTag, TicketType
from opsdesk.desk.routing.router import Decision

CHANNEL_MIX = {Channel.EMAIL: 0.38, Channel.CHAT: 0.30, Channel.PHONE: 0.20, Channel.SOCIAL: 0.12}
WEEKDAY_FACTOR = [1.15, 1.10, 1.05, 1.00, 0.95, 0.45, 0.40]  # Monday first
PRIORITY_MIX = {Priority.LOW: 0.2, Priority.NORMAL: 0.55, Priority.HIGH: 0.2, Priority.URGENT: 0.05}
# Median first-reply delay in seconds by channel (lognormal around it).
FIRST_REPLY_MEDIAN = {Channel.EMAIL: 3 * 3600, Channel.SOCIAL: 3600, Channel.CHAT: 90, Channel.PHONE: 0}

# Where contacts come from by UTC hour: the Americas in their afternoon, EMEA and APAC in their day.
REGION_HOURS = {
    "Americas": (0.6, [*range(14, 24), 0, 1]),
    "EMEA": (0.2, list(range(7, 18))),
    "APAC": (0.2, list(range(0, 10))),
}
# Tickets that arrived this recently are left waiting for the real router to assign (with its reasons).
ROUTED_BY_THE_ROUTER = timedelta(minutes=90)
REGION_SITES = {"Americas": ["Chicago", "Seattle", "San Francisco"], "EMEA": ["Dublin"], "APAC": ["Manila"]}

TOPICS = [
    (
        "billing",
        "Invoice shows the wrong number of covered lives",
        "Our invoice for this month lists {n} covered lives but we only have {m} enrolled. Can you check?",
    ),
    (
        "login",
        "Cannot sign in to the admin portal",
        "Since this morning our HR team gets 'session expired' right after signing in.",
    ),
    (
        "enrollment",
        "New hires missing from the enrollment file",
        "We sent the enrollment file on Monday but {n} new hires still do not appear.",
    ),
    (
        "claims",
        "Member asking about a claim status",
        "One of our members is asking why their claim from last month is still pending.",
    ),
    (
        "api",
        "API returns 500 on the eligibility endpoint",
        "Our integration gets HTTP 500 from /eligibility for about {n}% of requests since yesterday.",
    ),
    (
        "sso",
        "SSO login loop after certificate rotation",
        "After we rotated our SAML certificate users are sent back to the login page in a loop.",
    ),
    (
        "eligibility",
        "Dependents shown as ineligible",
        "Several dependents are shown as ineligible although their coverage started on the 1st.",
    ),
    (
        "how-to",
        "How do we add a second administrator?",
        "What is the process to give a second person admin rights on our account?",
    ),
]
AGENT_REPLIES = [
    "Thanks for reaching out. I have looked into this and {fix}. Let me know if anything is still off.",
    "Thank you for the details. {fix}. Could you confirm on your side?",
    "I understand how disruptive this is. {fix}. I will keep this ticket open until you confirm.",
]
FIXES = [
    "corrected the covered-lives count on the invoice",
    "reset the admin session settings for your account",
    "re-ran the enrollment import and the missing people now appear",
    "asked the claims team to prioritise the review",
    "our engineers deployed a fix for the eligibility endpoint",
    "updated the SAML certificate fingerprint on our side",
]
ESCALATION_REASONS = [
    "Needs log access to the integration gateway",
    "Reproducible API error, needs engineering",
    "SSO configuration change beyond L1 permissions",
    "Data feed mismatch requires a database check",
]


@dataclass
class _Ids:
    ticket: int
    message: int
    event: int


class _Writer:
    """Collects rows and flushes them in large batches: the demo's speed comes from here."""

    def __init__(self, session: Session, policies: DemoPolicies) -> None:
        self.session = session
        self.policies = policies
        self.tickets: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []
        self.calls = DemoCalls(session)
        self.ids = _Ids(
            ticket=next_id(session, Ticket),
            message=next_id(session, Message),
            event=next_id(session, Event),
        )

    def event(
        self,
        subject_id: int,
        at: datetime,
        type_: str,
        actor: int | None,
        data: dict[str, Any],
        *,
        subject: str = "ticket",
    ) -> None:
        self.events.append(
            {
                "id": self.ids.event,
                "at": at,
                "actor_id": actor,
                "subject_type": subject,
                "subject_id": subject_id,
                "type": type_,
                "data": data,
            }
        )
        self.ids.event += 1

    def breach(self, ticket_id: int, metric: str, due: datetime, started: datetime, channel: Channel) -> None:
        """Recorded as the SLA tracker records it, so the tracker never records the same breach again."""
        policy_id = self.policies.chat_id if channel is Channel.CHAT else self.policies.global_id
        data = {
            "metric": metric,
            "due_at": due.isoformat(),
            "policy_id": policy_id,
            "started_at": started.isoformat(),
        }
        self.event(ticket_id, due, "sla_breached", None, data)

    def message(
        self,
        ticket_id: int,
        at: datetime,
        author: int | None,
        kind: AuthorKind,
        public: bool,
        channel: Channel,
        text: str,
    ) -> None:
        self.messages.append(
            {
                "id": self.ids.message,
                "ticket_id": ticket_id,
                "author_id": author,
                "author_kind": kind,
                "public": public,
                "channel": channel,
                "body_html": f"<p>{text}</p>",
                "body_text": text,
                "email_message_id": None,
                "created_at": at,
            }
        )
        self.event(
            ticket_id,
            at,
            "message_added",
            author,
            {
                "message_id": self.ids.message,
                "public": public,
                "author_kind": kind.value,
                "channel": channel.value,
            },
        )
        self.ids.message += 1

    def flush(self) -> None:
        for model, rows in (
            (Ticket, self.tickets),
            (TicketTag, self.tags),
            (Message, self.messages),
            (Event, self.events),
        ):
            bulk_insert(self.session, model, rows)
            rows.clear()
        self.calls.flush(self.session)


def generate_tickets(
    session: Session,
    *,
    people: DemoPeople,
    rng: np.random.Generator,
    start: datetime,
    end: datetime,
    tickets_per_day: int,
    policies: DemoPolicies,
    progress: Callable[[int], None],
) -> int:
    """Load tickets created between start and end; `now` is end. Returns how many were created."""
    writer = _Writer(session, policies)
    router = HistoryRouter(session, people)
    hour_weights = np.zeros(24)
    for share, hours in REGION_HOURS.values():
        hour_weights[hours] += share / len(hours)
    hour_weights /= hour_weights.sum()
    region_names = list(REGION_HOURS)
    region_of_hour = np.array(
        [[REGION_HOURS[r][1].count(h) * REGION_HOURS[r][0] for r in region_names] for h in range(24)]
    )
    region_of_hour = region_of_hour / region_of_hour.sum(axis=1, keepdims=True)
    channels, channel_p = list(CHANNEL_MIX), list(CHANNEL_MIX.values())
    priorities, priority_p = list(PRIORITY_MIX), list(PRIORITY_MIX.values())
    privacy_l2 = [m.id for m in people.privacy_group.members if m.tier is Tier.L2]
    days = (end.date() - start.date()).days
    total = 0
    for day in range(days + 1):
        date = start.date() + timedelta(days=day)
        growth = 1 + 0.02 * day / 30
        count = int(rng.poisson(tickets_per_day * WEEKDAY_FACTOR[date.weekday()] * growth))
        arrival_hours = rng.choice(24, size=count, p=hour_weights)
        seconds = rng.integers(3600, size=count)
        # In time order, so the router sees each arrival with the capacity the earlier ones left.
        order = np.argsort(arrival_hours * 3600 + seconds, kind="stable")
        for hour, second in zip(arrival_hours[order], seconds[order], strict=True):
            created = datetime(date.year, date.month, date.day, int(hour), tzinfo=UTC) + timedelta(
                seconds=int(second)
            )
            if created >= end:
                continue
            router.arrive(created)
            region = region_names[int(rng.choice(3, p=region_of_hour[hour]))]
            _one_ticket(
                writer,
                rng,
                people,
                created=created,
                now=end,
                region=region,
                channel=channels[int(rng.choice(len(channels), p=channel_p))],
                priority=priorities[int(rng.choice(len(priorities), p=priority_p))],
                router=router,
                privacy_l2=privacy_l2,
            )
            total += 1
        if len(writer.events) > 50_000:
            writer.flush()
        progress(1)
    # Its own generator: the shifts' draws leave the tickets as they were.
    for worked in router.shifts_worked(start, end, np.random.default_rng(11)):
        data = {"from": worked.before, "to": worked.after, "on_call": False, "in_chats": False}
        data["reason"] = "shift"
        writer.event(worked.agent_id, worked.at, "presence_changed", worked.agent_id, data, subject="user")
    writer.flush()
    return total


def _one_ticket(
    writer: _Writer,
    rng: np.random.Generator,
    people: DemoPeople,
    *,
    created: datetime,
    now: datetime,
    region: str,
    channel: Channel,
    priority: Priority,
    router: HistoryRouter,
    privacy_l2: list[int],
) -> None:
    tid = writer.ids.ticket
    writer.ids.ticket += 1
    pick = int(rng.integers(len(people.requester_ids)))
    requester, org = int(people.requester_ids[pick]), int(people.requester_org[pick])
    topic_tag, subject, opening = TOPICS[int(rng.integers(len(TOPICS)))]
    opening = opening.format(n=int(rng.integers(2, 40)), m=int(rng.integers(40, 900)))
    sensitive = "healthcare" in people.org_tags[org] and rng.random() < 0.12
    site_name = REGION_SITES[region][int(rng.integers(len(REGION_SITES[region])))]
    site = next(s for s in people.sites if s.name == site_name)
    group = people.privacy_group if sensitive else people.l1_groups[region]
    # Sensitive work is the privacy group's engineers' (tier L2), so the router sends it only to them.
    tier = Tier.L2 if sensitive and privacy_l2 else Tier.L1
    l1 = people.agents_by_site_tier[(site_name, Tier.L1)]
    agent = int(l1[int(rng.integers(len(l1)))])  # who answers a call (calls are not routed here)
    tags = sorted({topic_tag} | ({str(rng.choice(TAG_POOL))} if rng.random() < 0.3 else set()))
    by_agent = channel is Channel.PHONE
    state: dict[str, Any] = {"status": Status.NEW, "assignee": None, "group": group.id, "tier": tier}
    ticket: dict[str, Any] = {
        "id": tid,
        "subject": subject,
        "status": Status.NEW,
        "priority": priority,
        "type": TicketType.INCIDENT if topic_tag in {"api", "sso", "login"} else TicketType.QUESTION,
        "channel": channel,
        "requester_id": requester,
        "organisation_id": org,
        "group_id": group.id,
        "assignee_id": None,
        "site_id": site.id,
        "tier": tier,
        "escalation_reason": None,
        "sensitive": sensitive,
        "custom_fields": {},
        "external_id": None,
        "follow_up_of_id": None,
        "merged_into_id": None,
        "created_at": created,
        "updated_at": created,
        "solved_at": None,
        "closed_at": None,
        "sla_next_due_at": None,
        "sla_check_at": None,
    }
    writer.tickets.append(ticket)
    writer.tags.extend({"ticket_id": tid, "tag": t} for t in tags)
    writer.event(
        tid,
        created,
        "ticket_created",
        agent if by_agent else requester,
        {
            "channel": channel.value,
            "status": "new",
            "priority": priority.value,
            "requester_id": requester,
            "organisation_id": org,
            "group_id": group.id,
            "tier": tier.value,
            "tags": tags,
            "created_by_agent": by_agent,
            "sensitive": sensitive,
        },
    )

    def status(at: datetime, to: Status, *, by_system: bool = False) -> None:
        actor = None if by_system else state["assignee"]
        if to not in (Status.NEW, Status.OPEN):
            router.release(tid, at)
        writer.event(tid, at, "status_changed", actor, {"from": state["status"].value, "to": to.value})
        state["status"] = to
        ticket["status"] = to
        ticket["updated_at"] = at
        if to is Status.SOLVED:
            ticket["solved_at"] = at
        if to is Status.CLOSED:
            ticket["closed_at"] = at

    def assign(at: datetime, who: int, decision: Decision | None = None) -> None:
        data = {"from_assignee_id": state["assignee"], "to_assignee_id": who, "group_id": state["group"]}
        if decision is None:
            data["via"] = "call answered"
        else:  # as dispatch.apply_decisions writes it
            data |= {"via": "routing", "routing": decision.event_data()}
            router.release(tid, at)
            router.hold(tid, decision, channel.value)
        writer.event(tid, at, "assigned", None, data)
        state["assignee"] = who
        ticket["assignee_id"] = who

    def routed(at: datetime) -> tuple[datetime, Decision] | None:
        return router.route(
            ticket_id=tid, queued_at=at, channel=channel.value, priority=priority.value,
            tier=state["tier"], group_id=state["group"], tags=tags, sensitive=sensitive,
        )  # fmt: skip

    t = created
    if by_agent:
        writer.ids.event = writer.calls.answered(
            writer.events, writer.ids.event, rng, ticket_id=tid, answered_at=t, agent=agent,
            requester=requester, queue=f"support-{region.lower()}",
        )  # fmt: skip
        assign(t, agent)
        writer.message(tid, t, agent, AuthorKind.AGENT, True, channel, f"Call summary: {opening}")
        status(t, Status.OPEN)
    else:
        writer.message(tid, t, requester, AuthorKind.REQUESTER, True, channel, opening)
        if now - created < ROUTED_BY_THE_ROUTER:
            return  # the latest arrivals wait in the queue; the demo's router assigns them (demo/routing.py)
        found = routed(t)
        if found is None or found[0] >= now:
            return  # nobody could take it yet: it waits in the queue for the live router
        t, decision = found
        agent = decision.agent_id or agent
        assign(t, agent, decision)

    def delay(median: float, sigma: float = 1.0) -> timedelta:
        return timedelta(seconds=max(20.0, float(rng.lognormal(np.log(max(median, 1.0)), sigma))))

    first_reply_at = t + (delay(FIRST_REPLY_MEDIAN[channel], 0.9) if not by_agent else timedelta(minutes=6))
    if first_reply_at > now:
        return
    if not by_agent:
        target = FIRST_REPLY_TARGET[priority] if channel is not Channel.CHAT else CHAT_FIRST_REPLY
        due = created + timedelta(minutes=target)
        if first_reply_at > due:
            writer.breach(tid, "first_reply", due, created, channel)
    fix = FIXES[int(rng.integers(len(FIXES)))]
    writer.message(
        tid,
        first_reply_at,
        agent,
        AuthorKind.AGENT,
        True,
        channel,
        AGENT_REPLIES[int(rng.integers(len(AGENT_REPLIES)))].format(fix=fix.capitalize()),
    )
    t = first_reply_at
    if state["status"] is Status.NEW:
        status(t, Status.OPEN)

    escalate_p = {Channel.EMAIL: 0.16, Channel.CHAT: 0.08, Channel.PHONE: 0.1, Channel.SOCIAL: 0.06}[channel]
    escalates = (
        topic_tag in {"api", "sso"} and rng.random() < escalate_p * 4
    ) or rng.random() < escalate_p / 2
    if escalates and tier is Tier.L1:  # sensitive work is already with engineers
        t += delay(1800, 0.6)
        if t > now:
            return
        state["tier"], state["group"] = Tier.L2, people.l2_group.id  # what the router routes it as
        found = routed(t)
        state["tier"], state["group"] = Tier.L1, group.id
        if found is None or found[0] > now:
            return  # the hand-over to L2 is still waiting
        t, decision = found
        engineer = decision.agent_id or agent
        reason = ESCALATION_REASONS[int(rng.integers(len(ESCALATION_REASONS)))]
        writer.message(tid, t, agent, AuthorKind.AGENT, False, channel, f"Escalating to L2: {reason}.")
        writer.event(
            tid,
            t,
            "escalated",
            agent,
            {
                "from_tier": "L1",
                "to_tier": "L2",
                "reason": reason,
                "group_id": people.l2_group.id,
                "from_group_id": state["group"],
            },
        )
        if not sensitive:
            writer.event(tid, t, "group_changed", agent, {"from": state["group"], "to": people.l2_group.id})
            state["group"] = people.l2_group.id
            ticket["group_id"] = people.l2_group.id
        state["tier"] = Tier.L2
        ticket["tier"] = Tier.L2
        ticket["escalation_reason"] = reason
        assign(t, engineer, decision)
        agent = engineer
        if rng.random() < 0.3:
            status(t, Status.ON_HOLD)
        t += delay(6 * 3600, 0.8)
        if t > now:
            return
        writer.message(
            tid,
            t,
            agent,
            AuthorKind.AGENT,
            True,
            channel,
            f"Our engineering team found the cause: {fix}. Please confirm it works for you.",
        )
        if state["status"] is Status.ON_HOLD:
            status(t, Status.OPEN)

    back_and_forth = int(rng.choice([0, 1, 2], p=[0.45, 0.4, 0.15])) if channel is not Channel.PHONE else 0
    for _ in range(back_and_forth):
        status(t, Status.PENDING)
        t += delay(5 * 3600 if channel is not Channel.CHAT else 120, 1.0)
        if t > now:
            return
        writer.message(
            tid,
            t,
            requester,
            AuthorKind.REQUESTER,
            True,
            channel,
            "Thanks, that helped partly, but we still see the problem for some people.",
        )
        status(t, Status.OPEN)
        t += delay(2 * 3600 if channel is not Channel.CHAT else 60, 0.9)
        if t > now:
            return
        writer.message(
            tid,
            t,
            agent,
            AuthorKind.AGENT,
            True,
            channel,
            "I have applied the same correction to the remaining records; it should be complete now.",
        )

    t += delay(1800 if channel is not Channel.CHAT else 120, 0.8)
    if t > now:
        return
    status(t, Status.SOLVED)
    if t - created > timedelta(minutes=RESOLUTION_TARGET[priority]):
        writer.breach(
            tid, "resolution", created + timedelta(minutes=RESOLUTION_TARGET[priority]), created, channel
        )
    if rng.random() < 0.06:
        t += delay(24 * 3600, 0.7)
        if t > now:
            return
        writer.message(
            tid, t, requester, AuthorKind.REQUESTER, True, channel, "Sorry, the issue came back this morning."
        )
        status(t, Status.OPEN)
        t += delay(3 * 3600, 0.8)
        if t > now:
            return
        writer.message(tid, t, agent, AuthorKind.AGENT, True, channel, "Fixed again, and this time for good.")
        status(t, Status.SOLVED)
    close_at = t + timedelta(days=4)
    if close_at <= now:
        writer.event(tid, close_at, "auto_closed", None, {})
        status(close_at, Status.CLOSED, by_system=True)
