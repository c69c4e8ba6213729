"""A small QA team to arrange tests with: agents, a reviewer with and one without sensitive access,
a QA lead, a rubric and tickets the agents worked. Built with the real actions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import Clock
from opsdesk.core.models import Group, Role, Tier, User
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import AuthorKind, Channel, Ticket
from opsdesk.quality import actions
from opsdesk.quality.models import RubricVersion
from opsdesk.quality.schemas import RubricIn
from tests.factories import make_user

RUBRIC = {
    "name": "Support conversations",
    "sections": [
        {
            "name": "Soft skills",
            "categories": [
                {"key": "empathy", "name": "Empathy", "scale": "1-4", "weight": 20, "allow_na": True},
                {"key": "tone", "name": "Tone", "scale": "1-3", "weight": 10},
            ],
        },
        {
            "name": "Solution",
            "categories": [
                {"key": "solution", "name": "Solution", "scale": "1-5", "weight": 50},
                {
                    "key": "privacy",
                    "name": "Privacy checks",
                    "scale": "binary",
                    "weight": 5,
                    "critical": True,
                },
            ],
        },
    ],
}


@dataclass
class Team:
    agent: User
    other_agent: User
    reviewer: User  # no sensitive access
    clinical_reviewer: User  # in a sensitive-access group
    lead: User
    requester: User
    clinical: Group
    version: RubricVersion


def build_team(db: Session, clock: Clock) -> Team:
    clinical = core_actions.create_group(db, name="QA Clinical", tier=Tier.L2, sensitive_access=True)
    people = {
        name: make_user(db, clock, role, email=f"{name}@qa.test", password=None)
        for name, role in [
            ("agent", Role.AGENT),
            ("other_agent", Role.AGENT),
            ("reviewer", Role.QA_REVIEWER),
            ("clinical_reviewer", Role.QA_REVIEWER),
            ("lead", Role.QA_LEAD),
            ("requester", Role.REQUESTER),
        ]
    }
    clinical.members.append(people["clinical_reviewer"])
    clinical.members.append(people["agent"])
    version = actions.publish_rubric(
        db, rubric=RubricIn.model_validate(RUBRIC), actor=people["lead"], clock=clock
    )
    db.commit()
    return Team(clinical=clinical, version=version, **people)


def worked_ticket(
    db: Session,
    clock: Clock,
    team: Team,
    *,
    agents: list[User],
    sensitive: bool = False,
    subject: str = "Help",
) -> Ticket:
    """A ticket each of ``agents`` replied to, assigned to the last of them."""
    ticket = desk_actions.create_ticket(
        db,
        requester=team.requester,
        subject=subject,
        body_text="My claim was rejected",
        channel=Channel.EMAIL,
        clock=clock,
        sensitive=sensitive,
    )
    for agent in agents:
        desk_actions.add_message(
            db,
            ticket=ticket,
            author=agent,
            author_kind=AuthorKind.AGENT,
            public=True,
            channel=Channel.EMAIL,
            clock=clock,
            body_text=f"{agent.name} here, looking into it",
        )
    desk_actions.assign(db, ticket=ticket, assignee=agents[-1], actor=agents[-1], clock=clock)
    db.commit()
    return ticket


def ratings(**values: int | None) -> dict[str, tuple[int | None, str]]:
    return {key: (value, "") for key, value in values.items()}
