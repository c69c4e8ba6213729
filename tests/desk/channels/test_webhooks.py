"""The Standard Webhooks scheme: signatures, rotation, tolerance, and the replay store."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import Conflict, SignatureRejected, ValidationFailed
from opsdesk.desk.channels import webhooks
from opsdesk.desk.channels.models import WebhookReceipt
from tests.desk.channels.signed import PHONE_OLD_SECRET, PHONE_SECRET

TOLERANCE = timedelta(minutes=5)
BODY = b'{"type":"ringing","call_id":"c1"}'


def test_signature_follows_the_spec_by_hand(clock: FixedClock) -> None:
    """Computed independently: HMAC-SHA256 over id.timestamp.body keyed by the base64-decoded secret."""
    key = base64.b64decode(PHONE_SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1.1674087231." + BODY, hashlib.sha256).digest()).decode()
    assert webhooks.sign(PHONE_SECRET, "msg_1", 1674087231, BODY) == f"v1,{expected}"


def test_verify_accepts_any_matching_signature_and_secret(clock: FixedClock) -> None:
    ts = int(clock.now().timestamp())
    headers = webhooks.signed_headers([PHONE_OLD_SECRET], "msg_1", ts, BODY)
    # The receiver has rotated: new secret first, old still accepted.
    delivery = webhooks.verify(
        [PHONE_SECRET, PHONE_OLD_SECRET], headers, BODY, now=clock.now(), tolerance=TOLERANCE
    )
    assert delivery.event_id == "msg_1"
    # The sender signs with both while rotating; a receiver with only the new secret accepts it.
    both = webhooks.signed_headers([PHONE_OLD_SECRET, PHONE_SECRET], "msg_1", ts, BODY)
    assert " " in both["webhook-signature"]
    webhooks.verify([PHONE_SECRET], both, BODY, now=clock.now(), tolerance=TOLERANCE)


@pytest.mark.parametrize(
    "change",
    ["body", "id", "timestamp_old", "timestamp_future", "secret", "no_signature", "v1a_only", "no_secret"],
)
def test_verify_refuses(change: str, clock: FixedClock) -> None:
    ts = int(clock.now().timestamp())
    headers = webhooks.signed_headers([PHONE_SECRET], "msg_1", ts, BODY)
    body, secrets = BODY, [PHONE_SECRET]
    if change == "body":
        body = BODY + b" "
    elif change == "id":
        headers["webhook-id"] = "msg_2"
    elif change == "timestamp_old":
        headers = webhooks.signed_headers([PHONE_SECRET], "msg_1", ts - 301, BODY)
    elif change == "timestamp_future":
        headers = webhooks.signed_headers([PHONE_SECRET], "msg_1", ts + 301, BODY)
    elif change == "secret":
        secrets = [PHONE_OLD_SECRET]
    elif change == "no_signature":
        del headers["webhook-signature"]
    elif change == "v1a_only":
        headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v1a,")
    elif change == "no_secret":
        secrets = []
    with pytest.raises(SignatureRejected):
        webhooks.verify(secrets, headers, body, now=clock.now(), tolerance=TOLERANCE)


def test_a_secret_must_be_base64() -> None:
    with pytest.raises(ValidationFailed):
        webhooks.secret_key("whsec_not base64!")
    assert len(webhooks.secret_key(webhooks.new_secret())) == 32


def test_replay_store(db: Session, clock: FixedClock) -> None:
    assert webhooks.claim_delivery(db, source="phone", event_id="msg_1", body=BODY, clock=clock)
    db.commit()
    assert not webhooks.claim_delivery(db, source="phone", event_id="msg_1", body=BODY, clock=clock)
    with pytest.raises(Conflict):
        webhooks.claim_delivery(db, source="phone", event_id="msg_1", body=BODY + b"x", clock=clock)
    # Ids are per source.
    assert webhooks.claim_delivery(db, source="social", event_id="msg_1", body=BODY, clock=clock)
    db.commit()
    assert db.scalar(select(func.count()).select_from(WebhookReceipt)) == 2
