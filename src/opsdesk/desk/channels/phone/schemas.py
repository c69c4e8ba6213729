"""OpsDesk's own JSON call event, as a telephony provider (or its adapter) sends it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from opsdesk.core.bounds import Moment, ShortText, Text
from opsdesk.desk.channels.phone.calls import CallEvent


def http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


Url = Annotated[Text, Field(max_length=2000), AfterValidator(http_url)]


class PhoneEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: CallEvent
    call_id: Annotated[Text, Field(min_length=1, max_length=200)]
    at: Moment
    caller: Annotated[Text, Field(min_length=1, max_length=40, alias="from")]
    queue: Annotated[ShortText | None, Field(max_length=100)] = None
    agent_email: Annotated[Text | None, Field(max_length=320)] = None
    recording_url: Url | None = None
    voicemail_url: Url | None = None
