"""Request and response shapes of routing's configuration, shared by the API, the admin pages and the
YAML a team keeps in git (``opsdesk routing export`` / ``import``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import Id, Moment, Name, ShortText, Tag, Text
from opsdesk.core.roles import Tier
from opsdesk.desk.routing.models import PresenceStatus
from opsdesk.desk.routing.router import Choice

LanguageCode = Annotated[
    Text, Field(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
]
SkillName = Annotated[Text, Field(min_length=1, max_length=80, pattern=r"^[\w:.\-/]+$")]
Slots = Annotated[int, Field(ge=0, le=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Capacity(_Strict):
    chat: Slots | None = None
    call: Slots | None = None
    ticket: Slots | None = None

    def given(self) -> dict[str, int]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SettingsIn(_Strict):
    enabled: bool = True
    choice: Choice = Choice.SPARE_CAPACITY
    skill_timeout_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None
    auto_away_seconds: Annotated[int, Field(ge=30, le=24 * 3600)] = 600
    default_capacity: Capacity = Capacity(chat=3, call=1, ticket=8)
    default_language: LanguageCode | None = None


class SkillIn(_Strict):
    name: SkillName
    match_tags: list[Tag] = Field(default_factory=list, max_length=50)
    description: ShortText = ""


class LanguageIn(_Strict):
    code: LanguageCode
    name: Name


class GroupIn(_Strict):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    tier: Tier | None = None
    choice: Choice | None = None
    members: list[Annotated[Text, Field(max_length=320)]] = Field(default_factory=list, max_length=2000)


class AgentIn(_Strict):
    """An agent's routing profile, by email: languages, skills, capacity (kinds left out: the default)."""

    email: Annotated[Text, Field(min_length=3, max_length=320)]
    languages: list[LanguageCode] = Field(default_factory=list, max_length=20)
    skills: list[SkillName] = Field(default_factory=list, max_length=50)
    capacity: Capacity = Capacity()


class SiteIn(_Strict):
    """A site's routing hours: the name of an SLA business schedule (none: 24x7)."""

    name: Annotated[Text, Field(min_length=1, max_length=100)]
    schedule: Annotated[Text, Field(max_length=100)] | None = None


class RoutingConfig(_Strict):
    """Everything an admin configures for routing, as one document; a part left out is left as it is."""

    settings: SettingsIn | None = None
    languages: list[LanguageIn] = Field(default_factory=list, max_length=500)
    skills: list[SkillIn] = Field(default_factory=list, max_length=1000)
    groups: list[GroupIn] = Field(default_factory=list, max_length=1000)
    agents: list[AgentIn] = Field(default_factory=list, max_length=20000)
    sites: list[SiteIn] = Field(default_factory=list, max_length=200)


class PresenceIn(_Strict):
    status: PresenceStatus
    on_call: bool | None = None
    in_chats: bool | None = None


class PresenceOut(BaseModel):
    user_id: int
    name: str
    status: PresenceStatus
    on_call: bool
    in_chats: bool
    capacity: dict[str, int]
    load: dict[str, int]


class CapacityIn(_Strict):
    capacity: Capacity


class AgentRef(_Strict):
    user_id: Id


class ShiftIn(_Strict):
    starts_at: Moment
    ends_at: Moment


class ShiftsIn(_Strict):
    """An agent's published shifts from ``from_`` to ``to``: they replace the shifts stored there."""

    from_: Moment = Field(alias="from")
    to: Moment
    shifts: list[ShiftIn] = Field(default_factory=list, max_length=500)
