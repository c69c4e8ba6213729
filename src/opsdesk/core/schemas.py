"""Request and response shapes for API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from opsdesk.core.actions import DEFAULT_TOKEN_LIFETIME
from opsdesk.core.models import ApiToken

MAX_ID = 2_147_483_647
MAX_TOKEN_DAYS = 3650


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_nul)]
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_TOKEN_DAYS)] = Field(
        default=DEFAULT_TOKEN_LIFETIME.days, description="Ignored when never_expires is true."
    )
    never_expires: bool = False
    user_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = Field(
        default=None, description="Whose token (admins only); yours when left out."
    )


class TokenOut(BaseModel):
    id: int
    user_id: int
    user_email: str | None
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    status: str

    @classmethod
    def of(cls, token: ApiToken, status: str) -> TokenOut:
        return cls(
            id=token.id,
            user_id=token.user_id,
            user_email=token.user.email,
            name=token.name,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            status=status,
        )


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself, shown only in this answer.")
