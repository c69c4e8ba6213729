"""The wire protocol's checks, alone."""

from __future__ import annotations

import json

import pytest

from opsdesk.core.errors import ValidationFailed
from opsdesk.desk.channels.chat import protocol
from opsdesk.desk.channels.chat.protocol import Hello, Rate, Send, Transfer


def test_frames_parse_into_their_kinds() -> None:
    assert protocol.parse_frame('{"type":"hello","token":"t","last_seq":4}', "visitor") == Hello(4, "t")
    assert protocol.parse_frame('{"type":"send","client_id":"c-1","text":" hi "}', "agent") == Send(
        "c-1", "hi"
    )
    assert protocol.parse_frame('{"type":"transfer","to_group_id":3}', "agent") == Transfer(None, 3)
    assert protocol.parse_frame('{"type":"rate","rating":"good"}', "visitor") == Rate("good", None)


@pytest.mark.parametrize(
    ("raw", "role", "field"),
    [
        ("not json", "visitor", "frame"),
        ("[1]", "visitor", "frame"),
        ('{"type":"accept"}', "visitor", "type"),
        ('{"type":"rate","rating":"good"}', "agent", "type"),
        ('{"type":"hello","last_seq":4}', "visitor", "token"),
        ('{"type":"hello","token":"t","last_seq":-1}', "visitor", "last_seq"),
        ('{"type":"hello","token":"t","last_seq":2147483648}', "visitor", "last_seq"),
        ('{"type":"send","client_id":"a b","text":"x"}', "visitor", "client_id"),
        ('{"type":"send","client_id":"c","text":"  "}', "visitor", "text"),
        ('{"type":"send","client_id":"c","text":"a\\u0000b"}', "visitor", "text"),
        (json.dumps({"type": "send", "client_id": "c", "text": "x" * 10_001}), "visitor", "text"),
        ('{"type":"transfer","to_agent_id":1,"to_group_id":2}', "agent", "to_agent_id"),
        ('{"type":"rate","rating":"meh"}', "visitor", "rating"),
    ],
)
def test_bad_frames_are_refused_naming_the_field(raw: str, role: protocol.Role, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        protocol.parse_frame(raw, role)
    assert caught.value.field == field


def test_gaps_are_found() -> None:
    assert protocol.missing_seqs({1, 2, 4}, 5) == [3, 5]
