from __future__ import annotations

import pytest

from opsdesk.desk.channels.email.loops import auto_reply_suppressed, automated_reason
from opsdesk.desk.channels.email.parse import ParsedEmail, parse_email
from tests.desk.channels.mail import mail


def parsed(raw: bytes) -> ParsedEmail:
    result = parse_email(raw)
    assert isinstance(result, ParsedEmail)
    return result


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ({"Auto-Submitted": "auto-replied"}, "dana@acme.example"),
        ({"Auto-Submitted": "auto-generated; type=vacation"}, "dana@acme.example"),
        ({"Precedence": "bulk"}, "dana@acme.example"),
        ({"Precedence": "junk"}, "dana@acme.example"),
        ({"Precedence": "list"}, "dana@acme.example"),
        ({"Precedence": "auto_reply"}, "dana@acme.example"),
        ({"X-Autoreply": "yes"}, "dana@acme.example"),
        ({"X-Autorespond": "Out of office"}, "dana@acme.example"),
        ({"Return-Path": "<>"}, "dana@acme.example"),
        ({}, "MAILER-DAEMON@mx.acme.example"),
        ({}, "postmaster@acme.example"),
        ({}, "support@opsdesk.test"),
    ],
)
def test_machine_mail_is_recognised(headers: dict[str, str], sender: str) -> None:
    reason = automated_reason(
        parsed(mail(sender=sender, headers=headers)), our_addresses=frozenset({"support@opsdesk.test"})
    )
    assert reason is not None


def test_delivery_status_report_is_recognised() -> None:
    raw = (
        b"From: Mail Delivery System <bounces@mx.example>\r\nSubject: Undelivered Mail\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        b"--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; x@y\r\nAction: failed\r\nStatus: 5.1.1\r\n--R--\r\n"
    )
    assert automated_reason(parsed(raw)) == "delivery or read report (multipart/report)"


@pytest.mark.parametrize("headers", [{}, {"Auto-Submitted": "no"}, {"Precedence": "first-class"}])
def test_person_mail_is_not_automated(headers: dict[str, str]) -> None:
    assert automated_reason(parsed(mail(headers=headers))) is None


def test_list_mail_becomes_a_ticket_but_gets_no_auto_reply() -> None:
    out = parsed(mail(headers={"List-Id": "<support.acme.example>"}))
    assert automated_reason(out) is None
    assert auto_reply_suppressed(out) == "mailing-list message (List-Id)"
    assert auto_reply_suppressed(parsed(mail())) is None
    assert auto_reply_suppressed(parsed(mail(headers={"X-Auto-Response-Suppress": "All"}))) is not None
