"""The social webhook's post, as a platform connector sends it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.core.bounds import Moment, Text

PostId = Annotated[Text, Field(min_length=1, max_length=200)]


class SocialPostIn(BaseModel):
    """A public mention or a private message. ``from_brand`` marks a post our own account made on the
    platform itself: it is recorded as an agent reply and never sent back out."""

    model_config = ConfigDict(extra="forbid")

    platform: Annotated[Text, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_.-]+$")]
    post_id: PostId
    in_reply_to_id: PostId | None = None
    author_handle: Annotated[Text, Field(min_length=1, max_length=200)]
    author_name: Annotated[Text | None, Field(max_length=200)] = None
    text: Annotated[Text, Field(min_length=1, max_length=20_000)]
    public: bool
    posted_at: Moment
    from_brand: bool = False


class SocialDeliveryOut(BaseModel):
    """Where an agent reply is on its way to the platform."""

    message_id: int
    platform: str
    public: bool
    status: str
    attempts: int
    last_error: str | None
    external_post_id: str | None
