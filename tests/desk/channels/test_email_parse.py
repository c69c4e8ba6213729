from __future__ import annotations

from opsdesk.desk.channels.email.parse import ParsedEmail, ParseFailure, message_ids, parse_email
from tests.desk.channels.mail import mail


def parsed(raw: bytes) -> ParsedEmail:
    result = parse_email(raw)
    assert isinstance(result, ParsedEmail), result
    return result


def test_plain_mail_headers_and_body() -> None:
    out = parsed(
        mail(
            message_id="<abc.1@acme.example>",
            in_reply_to="<x@opsdesk.test>",
            references=["<r1@a>", "<x@opsdesk.test>"],
        )
    )
    assert out.message_id == "abc.1@acme.example"
    assert out.from_address == "dana@acme.example"
    assert out.from_name == "Dana Customer"
    assert out.subject == "Printer on fire"
    assert out.body_text == "It is on fire."
    assert out.body_html is None
    assert out.in_reply_to == ["x@opsdesk.test"]
    assert out.references == ["r1@a", "x@opsdesk.test"]
    assert out.to == ["support@opsdesk.test"]


def test_alternative_takes_one_text_and_one_html() -> None:
    out = parsed(mail(text="Plain words", html="<p>Rich <b>words</b></p>"))
    assert out.body_text == "Plain words"
    assert out.body_html == "<p>Rich <b>words</b></p>"
    assert out.attachments == []


def test_html_only_mail_is_sanitised_and_gets_text() -> None:
    out = parsed(
        mail(text=None, html='<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:y">l</a></p>')
    )
    assert out.body_html is not None
    assert "script" not in out.body_html and "alert" not in out.body_html
    assert "onclick" not in out.body_html and "javascript" not in out.body_html
    assert out.body_text.startswith("Hi")
    assert "alert" not in out.body_text


def test_mixed_with_attachments() -> None:
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 10
    out = parsed(
        mail(attachments=[("invoice.pdf", "application/pdf", pdf), ("log.txt", "text/plain", b"line")])
    )
    assert out.body_text == "It is on fire."
    assert [(a.filename, a.content_type, a.data) for a in out.attachments] == [
        ("invoice.pdf", "application/pdf", pdf),
        ("log.txt", "text/plain", b"line"),
    ]


LEGACY = (
    b"From: =?iso-8859-1?q?Ren=E9_M=FCller?= <rene@example.de>\r\n"
    b"To: support@opsdesk.test\r\n"
    b"Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n"
    b"Message-ID: <legacy@example.de>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n'
    b"\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Gr=FC=DFe, =93quoted=94 =80 5\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=iso-2022-jp\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"\x1b$B$3$s$K$A$O\x1b(B\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=windows-1252\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"Q2Fm6SCWIGNy6G1l\r\n"
    b"--XX--\r\n"
)


def test_legacy_charsets_quoted_printable_and_base64() -> None:
    out = parsed(LEGACY)
    assert out.from_name == "René Müller"
    assert out.subject == "こんにちは"
    # Declared Latin-1 with Windows-1252 quotes and euro sign decodes as the superset.
    assert "Grüße, \u201cquoted\u201d € 5" in out.body_text
    assert "こんにちは" in out.body_text
    assert "Café – crème" in out.body_text


def test_unknown_charset_falls_back_instead_of_raising() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: x\r\n"
        b"Content-Type: text/plain; charset=x-no-such\r\n\r\nh\xc3\xa9llo\r\n"
    )
    assert parsed(raw).body_text == "héllo"


def test_missing_message_id_gets_a_stable_synthetic_one() -> None:
    raw = b"From: a@example.com\r\nSubject: x\r\n\r\nhello\r\n"
    first, second = parsed(raw), parsed(raw)
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@opsdesk.invalid")
    assert parsed(raw + b"more").message_id != first.message_id


def test_missing_boundary_salvages_the_text_and_reports_the_defect() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: broken\r\nMessage-ID: <b@x>\r\n"
        b"Content-Type: multipart/mixed\r\n\r\nplease help, my order is late\r\n"
    )
    out = parsed(raw)
    assert "please help" in out.body_text
    assert out.defects  # NoBoundaryInMultipartDefect


def test_unreadable_mail_is_a_clear_failure() -> None:
    assert parse_email(b"") == ParseFailure("the message is empty")
    no_sender = parse_email(b"Subject: hi\r\n\r\nbody\r\n")
    assert isinstance(no_sender, ParseFailure) and "sender" in no_sender.reason
    garbage = parse_email(bytes(range(256)) * 4)
    assert isinstance(garbage, ParseFailure)


def test_forwarded_mail_is_an_attachment_not_body() -> None:
    inner = mail(subject="inner", text="the original")
    raw = (
        b"From: a@example.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--B--\r\n"
    )
    out = parsed(raw)
    assert out.body_text == "see below"
    assert out.attachments[0].filename == "message.eml"
    assert b"the original" in out.attachments[0].data


def test_message_ids_without_brackets() -> None:
    assert message_ids("abc@x") == ["abc@x"]
    assert message_ids("<a@x> <b@y>") == ["a@x", "b@y"]
    assert message_ids(None) == []


def test_non_ascii_attachment_names_in_both_encodings() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee files\r\n"
        b"--B\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n"
        b'--B\r\nContent-Type: image/png; name="=?utf-8?b?5Zu+54mHLnBuZw==?="\r\n'
        b"Content-ID: <img1@x>\r\nContent-Disposition: inline\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n"
        b"--B--\r\n"
    )
    out = parsed(raw)
    assert [(a.filename, a.data) for a in out.attachments] == [
        ("résumé.pdf", b"%PDF"),
        ("图片.png", b"\x89PNG"),
    ]
    assert out.attachments[1].content_id == "img1@x"


def test_raw_8bit_headers_in_a_legacy_charset_fall_back_to_windows_1252() -> None:
    mail_ = parsed("From: Zoë <zoe@acme.example>\r\nSubject: Café\r\n\r\nHi\r\n".encode("cp1252"))
    assert (mail_.subject, mail_.from_name) == ("Café", "Zoë")


def test_encoded_nul_characters_are_dropped_from_headers_and_bodies() -> None:
    raw = (
        b"From: a@acme.example\r\nSubject: =?utf-8?q?a=00b?=\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nYQBi\r\n"  # "a\0b"
    )
    assert (parsed(raw).subject, parsed(raw).body_text) == ("ab", "ab")
