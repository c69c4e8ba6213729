"""Writes the people of an imported history (organisations, groups, users) and keeps the map from the
source's ids to local rows (``imported_records``). Tickets are written by ``ticket_writer``.

A record already in ``imported_records`` is skipped, which makes a re-run write nothing and a resumed
run continue where the last commit ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from opsdesk.core import actions as core
from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import OpsDeskError
from opsdesk.core.models import Group, Identity, IdentityKind, Organisation, Role, Tier, User
from opsdesk.insights.imports.history import Company, Person, Problem, Team
from opsdesk.insights.imports.models import ImportedRecord

KINDS = ("organisation", "group", "user", "ticket")
L2_WORDS = ("l2", "tier 2", "tier2", "level 2", "engineering")


@dataclass
class Counts:
    new: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    known: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    events: int = 0
    messages: int = 0


class Mappings:
    """The source's ids already imported, per kind, read once and kept current as rows are added."""

    def __init__(self, session: Session, source: str) -> None:
        self.source = source
        self.ids: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        self._roles: dict[int, Role] | None = None
        self._tiers: dict[int, Tier | None] | None = None
        rows = session.execute(
            select(ImportedRecord.kind, ImportedRecord.external_id, ImportedRecord.local_id).where(
                ImportedRecord.source == source
            )
        )
        for kind, external_id, local_id in rows:
            self.ids.setdefault(kind, {})[external_id] = local_id

    def roles(self, session: Session) -> dict[int, Role]:
        """The role of every imported person, read once (people are written before tickets)."""
        if self._roles is None:
            ids = list(self.ids["user"].values())
            self._roles = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                self._roles.update(
                    (user_id, role)
                    for user_id, role in session.execute(select(User.id, User.role).where(User.id.in_(chunk)))
                )
        return self._roles

    def tier(self, session: Session, group_id: int | None) -> Tier:
        """The tier a ticket in this group is at (L1 outside any group or in a group without one)."""
        if self._tiers is None:
            self._tiers = {group_id: tier for group_id, tier in session.execute(select(Group.id, Group.tier))}
        return (self._tiers.get(group_id) if group_id is not None else None) or Tier.L1

    def get(self, kind: str, external_id: str | None) -> int | None:
        return self.ids[kind].get(external_id) if external_id is not None else None

    def add(self, session: Session, kind: str, external_id: str, local_id: int, at: datetime) -> None:
        session.execute(
            insert(ImportedRecord),
            {
                "source": self.source,
                "kind": kind,
                "external_id": external_id,
                "local_id": local_id,
                "created_at": at,
            },
        )
        self.ids[kind][external_id] = local_id
        if kind == "user":
            self._roles = None
        if kind == "group":
            self._tiers = None


def write_companies(
    session: Session, companies: Iterable[Company], maps: Mappings, counts: Counts, clock: FixedClock
) -> None:
    """An organisation is matched by its CRM id (Zendesk's ``external_id``) when OpsDesk has it, so
    tickets land on the customer success already tracks; else by name; else created."""
    for company in companies:
        if maps.get("organisation", company.external_id) is not None:
            counts.known["organisation"] += 1
            continue
        org = None
        if company.crm_id:
            org = session.scalar(select(Organisation).where(Organisation.external_id == company.crm_id))
        if org is None:
            org = session.scalar(select(Organisation).where(Organisation.name == company.name).limit(1))
        if org is None:
            org = core.create_organisation(
                session,
                name=company.name,
                clock=FixedClock(company.created_at or clock.now()),
                domain=company.domain,
                external_id=company.crm_id,
                shared_tickets=company.shared_tickets,
                tags=list(company.tags),
            )
            counts.new["organisation"] += 1
        else:
            counts.known["organisation"] += 1
        maps.add(session, "organisation", company.external_id, org.id, clock.now())


def _tier_of(name: str) -> Tier:
    lowered = name.lower()
    return Tier.L2 if any(word in lowered for word in L2_WORDS) else Tier.L1


def write_teams(
    session: Session, teams: Iterable[Team], maps: Mappings, counts: Counts, clock: FixedClock
) -> None:
    for team in teams:
        if maps.get("group", team.external_id) is not None:
            counts.known["group"] += 1
            continue
        group = session.scalar(select(Group).where(Group.name == team.name))
        if group is None:
            group = core.create_group(session, name=team.name, tier=_tier_of(team.name))
            counts.new["group"] += 1
        else:
            counts.known["group"] += 1
        maps.add(session, "group", team.external_id, group.id, clock.now())


def write_people(
    session: Session,
    people: Iterable[Person],
    maps: Mappings,
    counts: Counts,
    problems: list[Problem],
    file: str,
    clock: FixedClock,
) -> None:
    """Requesters stay requesters; agents and admins become staff (an agent's tier follows their default
    group). A person whose address OpsDesk already knows is that user, never a second one."""
    for person in people:
        if maps.get("user", person.external_id) is not None:
            counts.known["user"] += 1
            continue
        user = session.scalar(select(User).where(User.email == person.email)) if person.email else None
        if user is None:
            group_id = maps.get("group", person.default_group)
            group = session.get(Group, group_id) if group_id is not None else None
            try:
                user = core.create_user(
                    session,
                    email=person.email,
                    name=person.name,
                    role=person.role,
                    tier=(group.tier or Tier.L1 if group else Tier.L1) if person.role is Role.AGENT else None,
                    organisation=_organisation(session, maps, person.organisation),
                    clock=FixedClock(person.created_at or clock.now()),
                )
            except OpsDeskError as exc:
                problems.append(
                    Problem(file, person.line, f"user {person.external_id} not imported: {exc.message}")
                )
                continue
            if person.phone:
                _add_phone(session, user, person.phone, person.created_at or clock.now())
            if group is not None and person.role is not Role.REQUESTER:
                group.members.append(user)
            counts.new["user"] += 1
        else:
            counts.known["user"] += 1
        maps.add(session, "user", person.external_id, user.id, clock.now())


def _organisation(session: Session, maps: Mappings, external_id: str | None) -> Organisation | None:
    local = maps.get("organisation", external_id)
    return session.get(Organisation, local) if local is not None else None


def _add_phone(session: Session, user: User, phone: str, at: datetime) -> None:
    value = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    taken = session.scalar(
        select(Identity.id).where(Identity.kind == IdentityKind.PHONE, Identity.value == value)
    )
    if value and taken is None:
        session.add(Identity(user_id=user.id, kind=IdentityKind.PHONE, value=value, created_at=at))
