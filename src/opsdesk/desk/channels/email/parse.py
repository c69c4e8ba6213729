"""Raw RFC 5322 bytes to a plain record the desk can store.

Mail in the wild is messy: legacy charsets, encoded-word subjects, HTML-only bodies, broken MIME. The
parser never raises for bad input: it returns either a ``ParsedEmail`` (with any MIME defects listed,
the body salvaged as far as possible) or a ``ParseFailure`` naming why the mail cannot be a ticket.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message as MimeMessage
from email.policy import compat32

from opsdesk.desk.sanitize import html_to_text, sanitize_html

# Declared Latin-1 is, in practice, usually Windows-1252 (curly quotes, euro sign): decode it as the
# superset, as browsers do, so those characters are not lost as C1 control codes.
_CHARSET_SUPERSETS = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252"}
_MSGID = re.compile(r"<([^<>\s]+)>")
_BODY_TYPES = ("text/plain", "text/html")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # without angle brackets; synthesised from the content when the mail has none
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_address: str
    from_name: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    body_text: str
    body_html: str | None  # sanitised
    attachments: list[ParsedAttachment]
    headers: dict[str, str]  # lower-cased names, decoded values (the first of repeated headers)
    content_type: str
    defects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParseFailure:
    reason: str


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in an In-Reply-To/References value, in order, without brackets."""
    if not value:
        return []
    found = _MSGID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]  # some clients omit the brackets
    return [mid[:500] for mid in found]


def _unescape_8bit(value: str) -> str:
    """Raw 8-bit bytes in a header (RFC 6532 allows UTF-8 there) reach us as surrogate escapes: turn
    them back into the text they spell, as UTF-8 or else Windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def decode_header_value(raw: str | None) -> str:
    """RFC 2047 encoded words decoded, unknown charsets replaced rather than raised."""
    if raw is None:
        return ""
    raw = _unescape_8bit(str(raw))
    try:
        parts = email.header.decode_header(str(raw))
    except (ValueError, IndexError, LookupError):
        return str(raw)
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(_decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    return re.sub(r"\s+", " ", "".join(out).replace("\x00", "")).strip()


def _decode_bytes(data: bytes, charset: str | None) -> str:
    name = (charset or "us-ascii").strip().strip('"').lower()
    name = _CHARSET_SUPERSETS.get(name, name)
    try:
        text = data.decode(name, errors="replace")
    except LookupError:  # an unknown or misspelt charset: UTF-8 is the likeliest truth
        text = data.decode("utf-8", errors="replace")
    return text.replace("\x00", "")  # encoded NULs too: no database text column takes them


def _part_text(part: MimeMessage) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _decode_bytes(payload, part.get_content_charset())


def _filename(part: MimeMessage) -> str | None:
    name = part.get_filename()
    if name is None:
        return None
    return decode_header_value(name) or None


def content_kind(part: MimeMessage) -> str:
    """A leaf's content type, or "attachment" for a file: declared so, or a named non-inline part."""
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return "attachment"
    if part.get_content_type() in _BODY_TYPES and (_filename(part) is None or disposition == "inline"):
        return part.get_content_type()
    return "attachment"


def _attachment(part: MimeMessage, data: bytes, default_name: str) -> ParsedAttachment:
    content_id = (part.get("Content-ID") or "").strip().strip("<>") or None
    return ParsedAttachment(
        filename=_filename(part) or default_name,
        content_type=part.get_content_type(),
        data=data,
        content_id=content_id,
    )


def _walk(part: MimeMessage, bodies: dict[str, list[str]], attachments: list[ParsedAttachment]) -> None:
    content_type = part.get_content_type()
    if part.get_content_maintype() == "message":
        # A forwarded mail or a delivery report: kept whole as a file, never mixed into the body.
        inner = part.get_payload()
        if isinstance(inner, list):
            data = b"".join(m.as_bytes() if isinstance(m, MimeMessage) else str(m).encode() for m in inner)
        else:
            data = str(inner).encode("utf-8", "replace")
        name = "message.eml" if content_type == "message/rfc822" else "details.txt"
        attachments.append(_attachment(part, data, name))
        return
    if part.get_content_maintype() == "multipart" and not part.is_multipart():
        # A multipart whose boundary is missing or never appears: keep the raw payload as text so the
        # customer's words still reach an agent.
        bodies["text/plain"].append(str(part.get_payload()))
        return
    if part.is_multipart():
        payload = part.get_payload()
        children = [c for c in payload if isinstance(c, MimeMessage)] if isinstance(payload, list) else []
        if part.get_content_subtype() == "alternative":
            # Several renderings of one body: take the last (richest) of each kind, not all of them.
            chosen: dict[str, MimeMessage] = {}
            for child in children:
                if not child.is_multipart() and content_kind(child) in _BODY_TYPES:
                    chosen[child.get_content_type()] = child
                else:
                    _walk(child, bodies, attachments)
            for kind, child in chosen.items():
                bodies[kind].append(_part_text(child))
            return
        for child in children:
            _walk(child, bodies, attachments)
        return
    if content_kind(part) in _BODY_TYPES:
        bodies[content_type].append(_part_text(part))
        return
    decoded = part.get_payload(decode=True)
    data = decoded if isinstance(decoded, bytes) else str(part.get_payload()).encode("utf-8", "replace")
    attachments.append(_attachment(part, data, "attachment"))


def _addresses(msg: MimeMessage, name: str) -> list[str]:
    values = [decode_header_value(v) for v in msg.get_all(name, [])]
    return [addr.lower() for _n, addr in email.utils.getaddresses(values) if "@" in addr]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _header_block(raw: bytes) -> MimeMessage | None:
    """The top-level headers parsed from text when they hold raw 8-bit bytes (RFC 6532: UTF-8, or a
    legacy charset from older clients), since the byte parser leaves them as undecodable escapes.
    None when the headers are plain ASCII and the byte parser's reading is already right."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    head = raw[:end]
    if head.isascii():
        return None
    lines = []
    for line in head.splitlines():
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("cp1252", errors="replace"))
    return email.message_from_string("\r\n".join(lines) + "\r\n\r\n", policy=compat32)


def parse_email(raw: bytes) -> ParsedEmail | ParseFailure:
    if not raw or not raw.strip():
        return ParseFailure("the message is empty")
    # RFC 5321 forbids NUL in mail data, yet some senders emit it; a database text column refuses it.
    # Dropping it files the mail instead of failing it forever (the sender would retry for days).
    stripped_nul = b"\x00" in raw
    raw = raw.replace(b"\x00", b"")
    try:
        msg = email.message_from_bytes(raw, policy=compat32)
        head = _header_block(raw) or msg
    except Exception as exc:  # the stdlib parser is lenient; anything it still raises means unreadable
        return ParseFailure(f"the message could not be parsed: {exc}")
    if not msg.keys():
        return ParseFailure("the message has no headers")
    senders = email.utils.getaddresses([decode_header_value(v) for v in head.get_all("From", [])])
    sender = next(((n, a) for n, a in senders if "@" in a), None)
    if sender is None:
        return ParseFailure("the message has no sender address (From header missing or unreadable)")
    from_name, from_address = sender

    bodies: dict[str, list[str]] = {kind: [] for kind in _BODY_TYPES}
    attachments: list[ParsedAttachment] = []
    try:
        _walk(msg, bodies, attachments)
    except Exception as exc:
        return ParseFailure(f"the message body could not be decoded: {exc}")
    defects = sorted({type(d).__name__ for part in msg.walk() for d in part.defects})
    if stripped_nul:
        defects.append("NulBytesRemoved")

    html_parts = [h for h in bodies["text/html"] if h.strip()]
    text_parts = [t for t in bodies["text/plain"] if t.strip()]
    body_html = sanitize_html("\n".join(html_parts)) if html_parts else None
    if text_parts:
        body_text = "\n\n".join(t.strip() for t in text_parts)
    else:
        body_text = html_to_text(body_html) if body_html else ""

    declared = message_ids(head.get("Message-ID"))
    message_id = declared[0] if declared else f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@opsdesk.invalid"
    headers: dict[str, str] = {}
    for name, value in head.items():
        headers.setdefault(name.lower(), decode_header_value(value))
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=message_ids(head.get("In-Reply-To")),
        references=message_ids(head.get("References")),
        subject=decode_header_value(head.get("Subject")),
        from_address=from_address.strip().lower(),
        from_name=from_name.strip(),
        to=_addresses(head, "To"),
        cc=_addresses(head, "Cc"),
        date=_date(head.get("Date")),
        body_text=body_text,
        body_html=body_html,
        attachments=attachments,
        headers=headers,
        content_type=msg.get_content_type(),
        defects=defects,
    )
