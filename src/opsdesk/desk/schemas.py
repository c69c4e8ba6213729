"""Request and response shapes of the desk API. Requests forbid unknown fields and bound every size, so
bad input is a 4xx naming the field, never a database error."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from opsdesk.core.bounds import MAX_ID as MAX_ID  # re-exported: the web layer imports it from here
from opsdesk.core.bounds import Id, Text
from opsdesk.core.bounds import no_nul as _no_nul
from opsdesk.core.models import AuditEntry, IdentityKind, Role, Tier, User
from opsdesk.desk.models import Attachment, AuthorKind, Channel, Message, Priority, Status, Ticket, TicketType
from opsdesk.desk.surveys.schemas import SatisfactionOut

MAX_BODY_CHARS = 1_000_000
MAX_ATTACHMENTS = 10


def _check_json_value(value: Any, depth: int = 0) -> None:
    if depth > 4:
        raise ValueError("custom field values may nest at most 4 levels")
    if isinstance(value, str):
        _no_nul(value)
        if len(value) > 10_000:
            raise ValueError("a custom field value may be at most 10000 characters")
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _check_json_value(item, depth + 1)


def _custom_fields(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 100:
        raise ValueError("at most 100 custom fields")
    for key, item in value.items():
        if not key or len(key) > 64:
            raise ValueError("custom field names have 1 to 64 characters")
        _no_nul(key)
        _check_json_value(item)
    return value


CustomFields = Annotated[dict[str, Any], AfterValidator(_custom_fields)]
Tags = Annotated[list[Annotated[Text, Field(max_length=80)]], Field(max_length=50)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(Request):
    filename: Annotated[Text, Field(min_length=1, max_length=300)]
    content_type: Annotated[Text, Field(max_length=200)] = "application/octet-stream"
    data_base64: str

    @field_validator("data_base64")
    @classmethod
    def _decodes(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("data_base64 is not valid base64") from exc
        return value

    def data(self) -> bytes:
        return base64.b64decode(self.data_base64)


class _Body(Request):
    body_html: Annotated[Text | None, Field(max_length=MAX_BODY_CHARS)] = None
    body_text: Annotated[Text | None, Field(max_length=MAX_BODY_CHARS)] = None
    attachments: Annotated[list[AttachmentIn], Field(max_length=MAX_ATTACHMENTS)] = []

    @model_validator(mode="after")
    def _has_content(self) -> _Body:
        if not (self.body_html or "").strip() and not (self.body_text or "").strip() and not self.attachments:
            raise ValueError("give body_html or body_text (or an attachment)")
        return self


class TicketCreate(_Body):
    subject: Annotated[Text, Field(min_length=1, max_length=500)]
    requester_id: Id | None = None
    requester_email: Annotated[Text | None, Field(max_length=320)] = None
    requester_phone: Annotated[
        Text | None, Field(max_length=40, description="Any format; matched in E.164 (+14155550100)")
    ] = None
    requester_handle: Annotated[
        Text | None, Field(max_length=240, description="platform:handle, e.g. twitter:@alice")
    ] = None
    requester_name: Annotated[Text | None, Field(max_length=200)] = None
    public: bool = True
    channel: Channel = Channel.API
    priority: Priority = Priority.NORMAL
    type: TicketType | None = None
    tags: Tags = []
    custom_fields: CustomFields = {}
    group_id: Id | None = None
    assignee_id: Id | None = None
    sensitive: bool = False
    external_id: Annotated[Text | None, Field(max_length=200)] = None


class TicketUpdate(Request):
    """Only the fields sent change; ``null`` clears type, group or assignee, and removes a custom field."""

    status: Status | None = None
    priority: Priority | None = None
    type: TicketType | None = None
    tags: Tags | None = None
    custom_fields: CustomFields | None = None
    group_id: Id | None = None
    assignee_id: Id | None = None
    sensitive: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> TicketUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in ("status", "priority", "tags", "custom_fields", "sensitive"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class MessageCreate(_Body):
    public: bool = True


class EscalateIn(Request):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]
    group_id: Id | None = Field(
        default=None, description="An L2 group; without one, the first L2 group created (the lowest id)"
    )


class ReturnToL1In(Request):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]
    group_id: Id | None = Field(
        default=None, description="An L1 group; without one, the L1 group the ticket was escalated from"
    )


class MergeIn(Request):
    into: Id


class UserCreate(Request):
    email: Annotated[Text, Field(min_length=3, max_length=320)]
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    role: Role
    tier: Tier | None = None
    password: Annotated[Text | None, Field(min_length=10, max_length=200)] = None
    organisation_id: Id | None = None
    site_id: Id | None = None
    languages: Annotated[list[Annotated[Text, Field(max_length=20)]], Field(max_length=20)] = []
    skills: Annotated[list[Annotated[Text, Field(max_length=80)]], Field(max_length=50)] = []


class IdentityIn(Request):
    kind: IdentityKind
    value: Annotated[Text, Field(min_length=1, max_length=320)]
    confirm_cross_organisation: bool = Field(
        False, description="Required to add an address of another organisation's domain (or of none)"
    )


class UserMergeIn(Request):
    into: Id
    confirm_cross_organisation: bool = Field(
        False, description="Required to merge people of different organisations (or of none)"
    )


# ---- responses ----


class PersonRef(BaseModel):
    id: int
    name: str

    @classmethod
    def of(cls, user: User | None) -> PersonRef | None:
        return cls(id=user.id, name=user.name) if user is not None else None


INTERNAL = "null (or empty) for requesters: it is the support team's own"


class TicketOut(BaseModel):
    """A ticket as the API shows it. Requesters see their ticket without the team's own fields
    (routing, tags, custom fields, external ids, SLA due times), as a help center shows a request."""

    number: int
    subject: str
    status: Status
    priority: Priority
    type: TicketType | None
    channel: Channel
    requester: PersonRef
    organisation_id: int | None
    group_id: int | None = Field(description=INTERNAL)
    tier: Tier | None = Field(description=INTERNAL)
    escalation_reason: str | None = Field(description=INTERNAL + ". Why it was escalated, while with L2.")
    return_reason: str | None = Field(description=INTERNAL + ". Why L2 sent it back, while with L1 again.")
    assignee_id: int | None = Field(description=INTERNAL)
    site_id: int | None = Field(description=INTERNAL)
    tags: list[str] = Field(description=INTERNAL)
    custom_fields: dict[str, Any] = Field(description=INTERNAL)
    sensitive: bool
    external_id: str | None = Field(description=INTERNAL)
    follow_up_of: int | None
    merged_into: int | None
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    sla_next_due_at: datetime | None = Field(description=INTERNAL)
    satisfaction: SatisfactionOut | None = Field(
        default=None, description="The requester's CSAT rating; in the single-ticket read (GET /tickets/{n})"
    )

    @classmethod
    def of(cls, ticket: Ticket, viewer: User) -> TicketOut:
        requester = PersonRef.of(ticket.requester)
        assert requester is not None
        out = cls(
            number=ticket.id,
            subject=ticket.subject,
            status=ticket.status,
            priority=ticket.priority,
            type=ticket.type,
            channel=ticket.channel,
            requester=requester,
            organisation_id=ticket.organisation_id,
            group_id=ticket.group_id,
            tier=ticket.tier,
            escalation_reason=ticket.escalation_reason,
            return_reason=ticket.return_reason,
            assignee_id=ticket.assignee_id,
            site_id=ticket.site_id,
            tags=ticket.tags,
            custom_fields=ticket.custom_fields or {},
            sensitive=ticket.sensitive,
            external_id=ticket.external_id,
            follow_up_of=ticket.follow_up_of_id,
            merged_into=ticket.merged_into_id,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            solved_at=ticket.solved_at,
            closed_at=ticket.closed_at,
            sla_next_due_at=ticket.sla_next_due_at,
        )
        if viewer.is_staff:
            return out
        return out.model_copy(
            update={
                "group_id": None,
                "tier": None,
                "escalation_reason": None,
                "return_reason": None,
                "assignee_id": None,
                "site_id": None,
                "tags": [],
                "custom_fields": {},
                "external_id": None,
                "sla_next_due_at": None,
            }
        )


class TicketPageOut(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str

    @classmethod
    def of(cls, row: Attachment) -> AttachmentOut:
        return cls(
            id=row.id, filename=row.filename, content_type=row.content_type, size=row.size, sha256=row.sha256
        )


class MessageOut(BaseModel):
    id: int
    ticket_number: int
    author: PersonRef | None
    author_kind: AuthorKind
    public: bool
    channel: Channel
    body_html: str
    body_text: str
    created_at: datetime
    attachments: list[AttachmentOut]

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(
            id=message.id,
            ticket_number=message.ticket_id,
            author=PersonRef.of(message.author),
            author_kind=message.author_kind,
            public=message.public,
            channel=message.channel,
            body_html=message.body_html,
            body_text=message.body_text,
            created_at=message.created_at,
            attachments=[AttachmentOut.of(a) for a in message.attachments],
        )


class SearchHitOut(BaseModel):
    ticket: TicketOut
    matched_messages: int


class SearchOut(BaseModel):
    items: list[SearchHitOut]
    total: int = Field(description="Tickets that match; a lower bound when ``more`` is true")
    more: bool = Field(description="At least this many match: narrow the search to see the rest")
    next_cursor: str | None


class IdentityOut(BaseModel):
    kind: IdentityKind
    value: str


class UserOut(BaseModel):
    id: int
    name: str
    email: str | None
    role: Role
    tier: Tier | None
    active: bool
    organisation_id: int | None
    site_id: int | None
    merged_into_id: int | None
    identities: list[IdentityOut]
    group_ids: list[int]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            name=user.name,
            email=user.email,
            role=user.role,
            tier=user.tier,
            active=user.active,
            organisation_id=user.organisation_id,
            site_id=user.site_id,
            merged_into_id=user.merged_into_id,
            identities=[IdentityOut(kind=i.kind, value=i.value) for i in user.identities],
            group_ids=[g.id for g in user.groups],
            created_at=user.created_at,
        )


class UserPageOut(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class BreakGlassIn(Request):
    reason: Annotated[
        Text, Field(min_length=1, max_length=500, description="Why you need this ticket; shown on it")
    ]


class BreakGlassOut(BaseModel):
    """A break-glass read of a sensitive ticket: who, when, why, and until when it lets them read."""

    id: int
    ticket_number: int
    actor: PersonRef
    at: datetime
    expires_at: datetime
    reason: str

    @classmethod
    def of(cls, grant: AuditEntry, actor: User) -> BreakGlassOut:
        assert grant.subject_id is not None
        return cls(
            id=grant.id,
            ticket_number=grant.subject_id,
            actor=PersonRef(id=actor.id, name=actor.name),
            at=grant.at,
            expires_at=datetime.fromisoformat(grant.detail["expires_at"]),
            reason=grant.detail["reason"],
        )
