"""Sites, teams, staff, customer organisations and their people for the demo organisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.models import Group, Identity, IdentityKind, Organisation, Role, Site, Tier, User
from opsdesk.core.secrets import hash_password
from opsdesk.demo.bulk import bulk_insert, next_id
from opsdesk.demo.names import company_names, person_name, slug
from opsdesk.workforce.default_plan import DEMO_SPANISH_SITES

DEMO_PASSWORD = "opsdesk-demo"
DEMO_DOMAIN = "opsdesk.demo"
# A customer who can sign in to the portal: the first generated requester, renamed so it can be typed.
DEMO_REQUESTER = f"customer@{DEMO_DOMAIN}"

# (name, zone, L1 agents, L2 engineers, languages) — follow-the-sun: Manila, Dublin, then the Americas.
SITES = [
    ("Chicago", "America/Chicago", 22, 10, ["en", "es"]),
    ("Seattle", "America/Los_Angeles", 14, 8, ["en"]),
    ("San Francisco", "America/Los_Angeles", 10, 8, ["en", "es", "zh"]),
    ("Manila", "Asia/Manila", 26, 6, ["en", "tl"]),
    ("Dublin", "Europe/Dublin", 16, 6, ["en", "fr", "de"]),
]
L1_SKILLS = ["billing", "enrollment", "claims", "account-access"]
L2_SKILLS = ["api", "integrations", "data-feeds", "sso", "technical"]
TAG_POOL = ["billing", "login", "enrollment", "claims", "api", "sso", "eligibility", "vip", "bug", "how-to"]


@dataclass
class DemoPeople:
    sites: list[Site]
    l1_groups: dict[str, Group]
    l2_group: Group
    privacy_group: Group
    agents_by_site_tier: dict[tuple[str, Tier], list[int]]
    admin: User
    org_ids: np.ndarray = field(repr=False)
    org_tags: dict[int, list[str]] = field(repr=False)
    requester_ids: np.ndarray = field(repr=False)
    requester_org: np.ndarray = field(repr=False)
    staff: dict[str, User] = field(default_factory=dict)


def create_people(
    session: Session, *, rng: np.random.Generator, start: datetime, organisations: int
) -> DemoPeople:
    from opsdesk.core.clock import FixedClock

    clock = FixedClock(start)
    shared_hash = hash_password(DEMO_PASSWORD)  # one Argon2 hash for every demo account keeps loading fast

    sites = [core_actions.create_site(session, name=n, timezone=z) for n, z, *_ in SITES]
    l1_groups = {
        "Americas": core_actions.create_group(session, name="L1 Advocates Americas", tier=Tier.L1),
        "APAC": core_actions.create_group(session, name="L1 Advocates APAC", tier=Tier.L1),
        "EMEA": core_actions.create_group(session, name="L1 Advocates EMEA", tier=Tier.L1),
    }
    l2_group = core_actions.create_group(session, name="L2 Support Engineers", tier=Tier.L2)
    privacy_group = core_actions.create_group(
        session, name="Clinical Privacy", tier=None, sensitive_access=True
    )
    region_of_site = {
        "Chicago": "Americas",
        "Seattle": "Americas",
        "San Francisco": "Americas",
        "Manila": "APAC",
        "Dublin": "EMEA",
    }

    def staff(
        email: str,
        name: str,
        role: Role,
        tier: Tier | None = None,
        site: Site | None = None,
        languages: list[str] | None = None,
        skills: list[str] | None = None,
    ) -> User:
        user = core_actions.create_user(
            session,
            email=email,
            name=name,
            role=role,
            tier=tier,
            site=site,
            languages=languages,
            skills=skills,
            clock=clock,
        )
        user.password_hash = shared_hash
        return user

    people: dict[str, User] = {}
    people["admin"] = staff(f"admin@{DEMO_DOMAIN}", "Avery Admin", Role.ADMIN)
    people["lead"] = staff(f"lead@{DEMO_DOMAIN}", "Sam Lead", Role.SUPPORT_LEAD, site=sites[0])
    people["qa"] = staff(f"qa@{DEMO_DOMAIN}", "Quinn Reviewer", Role.QA_REVIEWER, site=sites[4])
    people["qa2"] = staff(f"qa2@{DEMO_DOMAIN}", "Riley Reviewer", Role.QA_REVIEWER, site=sites[0])
    people["qalead"] = staff(f"qalead@{DEMO_DOMAIN}", "Jordan QA Lead", Role.QA_LEAD, site=sites[0])
    people["analyst"] = staff(f"analyst@{DEMO_DOMAIN}", "Ari Analyst", Role.ANALYST)
    people["compliance"] = staff(f"compliance@{DEMO_DOMAIN}", "Morgan Compliance", Role.COMPLIANCE)
    people["cslead"] = staff(f"cslead@{DEMO_DOMAIN}", "Casey CS Lead", Role.CS_LEAD)
    for i in range(12):
        people[f"csm{i + 1}"] = staff(f"csm{i + 1}@{DEMO_DOMAIN}", person_name(rng), Role.CSM)
    core_actions.add_to_group(session, group=privacy_group, user=people["lead"], clock=clock)
    # One reviewer may read sensitive conversations, so the sample can include them.
    core_actions.add_to_group(session, group=privacy_group, user=people["qa2"], clock=clock)

    agents: dict[tuple[str, Tier], list[int]] = {}
    for site, (site_name, _zone, n_l1, n_l2, languages) in zip(sites, SITES, strict=True):
        for tier, count, group, skills in (
            (Tier.L1, n_l1, l1_groups[region_of_site[site_name]], L1_SKILLS),
            (Tier.L2, n_l2, l2_group, L2_SKILLS),
        ):
            for k in range(count):
                email = f"{slug(site_name)}.{tier.value.lower()}.{k + 1}@{DEMO_DOMAIN}"
                # Each extra language with chance 0.4 (drawn even when fixed, so the rest of the demo's
                # random draws stay as they were); Spanish-speaking sites' advocates are all bilingual.
                langs = ["en"] + [
                    lang
                    for lang in languages[1:]
                    if rng.random() < 0.4
                    or (lang == "es" and tier is Tier.L1 and site_name in DEMO_SPANISH_SITES)
                ]
                agent = staff(
                    email,
                    person_name(rng),
                    Role.AGENT,
                    tier=tier,
                    site=site,
                    languages=langs,
                    skills=sorted(rng.choice(skills, size=2, replace=False).tolist()),
                )
                core_actions.add_to_group(session, group=group, user=agent, clock=clock)
                if tier is Tier.L2 and k < 2:
                    core_actions.add_to_group(session, group=privacy_group, user=agent, clock=clock)
                agents.setdefault((site_name, tier), []).append(agent.id)
    people["agent"] = session.get_one(User, agents[("Chicago", Tier.L1)][0])
    people["engineer"] = session.get_one(User, agents[("Dublin", Tier.L2)][0])
    session.flush()

    org_ids, org_tags = _bulk_organisations(session, rng=rng, count=organisations, at=start)
    requester_ids, requester_org = _bulk_requesters(session, rng=rng, org_ids=org_ids, at=start)
    if len(requester_ids):
        portal_user = int(requester_ids[0])
        session.execute(
            update(User).where(User.id == portal_user).values(email=DEMO_REQUESTER, password_hash=shared_hash)
        )
        session.execute(
            update(Identity)
            .where(Identity.user_id == portal_user, Identity.kind == IdentityKind.EMAIL)
            .values(value=DEMO_REQUESTER)
        )
    return DemoPeople(
        sites=sites,
        l1_groups=l1_groups,
        l2_group=l2_group,
        privacy_group=privacy_group,
        agents_by_site_tier=agents,
        admin=people["admin"],
        org_ids=org_ids,
        org_tags=org_tags,
        requester_ids=requester_ids,
        requester_org=requester_org,
        staff=people,
    )


def _bulk_organisations(
    session: Session, *, rng: np.random.Generator, count: int, at: datetime
) -> tuple[np.ndarray, dict[int, list[str]]]:
    first = next_id(session, Organisation)
    names = company_names(rng, count)
    tiers = rng.choice(["enterprise", "business", "starter"], size=count, p=[0.08, 0.42, 0.5])
    rows = []
    tags: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        org_id = first + i
        org_tags = [str(tiers[i])] + (["healthcare"] if rng.random() < 0.35 else [])
        tags[org_id] = org_tags
        rows.append(
            {
                "id": org_id,
                "name": name,
                "external_id": f"ORG-{org_id:06d}",
                "domain": f"{slug(name)}.example",
                "shared_tickets": bool(tiers[i] == "enterprise"),
                "tags": org_tags,
                "created_at": at - timedelta(days=int(rng.integers(30, 1500))),
            }
        )
    bulk_insert(session, Organisation, rows)
    return np.arange(first, first + count), tags


def _bulk_requesters(
    session: Session, *, rng: np.random.Generator, org_ids: np.ndarray, at: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """One to three contacts per customer; some are also known by phone or a social handle."""
    first_user = next_id(session, User)
    first_identity = next_id(session, Identity)
    per_org = rng.choice([1, 2, 3], size=len(org_ids), p=[0.5, 0.35, 0.15])
    owner_org = np.repeat(org_ids, per_org)
    users: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    for i, org_id in enumerate(owner_org):
        user_id = first_user + i
        name = person_name(rng)
        email = f"{slug(name)}.{user_id}@customer{int(org_id)}.example"
        users.append(
            {
                "id": user_id,
                "email": email,
                "name": name,
                "role": Role.REQUESTER,
                "active": True,
                "organisation_id": int(org_id),
                "languages": [],
                "skills": [],
                "created_at": at,
            }
        )
        identities.append(
            {
                "id": first_identity + len(identities),
                "user_id": user_id,
                "kind": IdentityKind.EMAIL,
                "value": email,
                "created_at": at,
            }
        )
        if rng.random() < 0.2:
            identities.append(
                {
                    "id": first_identity + len(identities),
                    "user_id": user_id,
                    "kind": IdentityKind.PHONE,
                    "value": f"+1312555{user_id:06d}",
                    "created_at": at,
                }
            )
        if rng.random() < 0.08:
            identities.append(
                {
                    "id": first_identity + len(identities),
                    "user_id": user_id,
                    "kind": IdentityKind.SOCIAL,
                    "value": f"twitter:{slug(name)}{user_id}",  # platform:handle, as the webhook finds it
                    "created_at": at,
                }
            )
    bulk_insert(session, User, users)
    bulk_insert(session, Identity, identities)
    return np.arange(first_user, first_user + len(owner_org)), owner_org
