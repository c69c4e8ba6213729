"""The part of an email reply its sender wrote this time, apart from the history their client quoted.

Mail clients append the whole conversation to every reply (Gmail's "On ... wrote:", Outlook's
"From: ... Sent: ..." block, Apple Mail's quoted "On ..., at ..., ... wrote:", ``>`` quoting). Stored
as is, each message on a ticket would repeat all the ones before it. The headers that open a quoted
history are recognised by ``mail-parser-reply`` (maintained, MIT, headers in a dozen languages); this
module keeps the sender's own lines exactly as written (the library trims every line, which would
flatten indented code or logs), and also cuts a trailing ``>``-quoted block and a signature after the
``-- `` delimiter (RFC 3676). Answers written between quoted lines are kept whole: they are the reply.

Pure: text in, text out. The caller keeps the full text, so nothing the sender sent is ever lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailparser_reply import EmailReplyParser

# The languages whose reply headers are recognised (English is always included).
LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "cs"]
# Past this the header patterns cost more than a reply is worth (their time grows faster than the
# text: ~0.5 s at this size on adversarial input); such a mail is kept whole.
MAX_SCANNED = 100_000
_SIGNATURE = re.compile(r"^-- ?$")
_SEPARATOR = re.compile(r"^[_-]{32,}$")
_PARSER = EmailReplyParser(languages=LANGUAGES)


@dataclass(frozen=True)
class Reply:
    new: str  # what the sender wrote this time
    full: str  # the text as received

    @property
    def trimmed(self) -> bool:
        return self.new != self.full.strip()


def _before_history(lines: list[str]) -> list[str] | None:
    """The sender's lines, as written, before the first quoted-history header the library finds;
    None when the mail opens with one (it is all quote: nothing of the sender's own to keep apart)."""
    parsed = _PARSER.read("\n".join(lines))
    if not parsed.replies:
        return lines
    if parsed.replies[0].headers:
        return None
    latest = parsed.replies[0].content.split("\n")
    # The library's text is ours with each line trimmed and Outlook's separator lines dropped: walk
    # both, allowing only blank and separator lines in between, to find where its reading ends.
    end = 0
    for wanted in latest:
        while end < len(lines) and lines[end].strip() != wanted:
            if lines[end].strip() and not _SEPARATOR.match(lines[end].strip()):
                return latest  # the texts part ways: the library's reading is the best there is
            end += 1
        if end == len(lines):
            return latest
        end += 1
    return lines[:end]


def _without_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if index > 0 and _SIGNATURE.match(line) and any(x.strip() for x in lines[:index]):
            return lines[:index]
    return lines


def _without_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    return lines[:end] if any(line.strip() for line in lines[:end]) else lines


def split_reply(text: str) -> Reply:
    """The new part of ``text`` and the text as received; ``new`` is the whole text when no history
    is found, or when cutting it would leave nothing (a reply that is only a quote)."""
    full = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(full) > MAX_SCANNED or not full.strip():
        return Reply(new=full.strip(), full=full)
    own = _before_history(full.split("\n"))
    if own is None:
        return Reply(new=full.strip(), full=full)
    kept = _without_trailing_quote(_without_signature(own))
    new = "\n".join(kept).strip("\n").rstrip()
    return Reply(new=new if new.strip() else full.strip(), full=full)
