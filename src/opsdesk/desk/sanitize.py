"""Message bodies from customers are untrusted HTML: keep formatting, drop anything that could run.

The sanitised HTML is what is stored and shown; the plain text feeds search, previews and KPIs.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

# Everything nh3 allows by default is formatting; scripts, styles, forms, frames and event-handler
# attributes are not in its lists. `script` and `style` contents are dropped, not kept as text.
_DROP_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math"}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_BLOCKS = {
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr",
    "table", "ul", "ol", "dl", "dt", "dd", "section", "article", "header", "footer",
}  # fmt: skip


def sanitize_html(raw: str) -> str:
    """Safe HTML: no script or style content, no on* handlers, no javascript: or data: URLs."""
    return nh3.clean(raw, clean_content_tags=_DROP_WITH_CONTENT, url_schemes=_URL_SCHEMES).strip()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_WITH_CONTENT:
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_WITH_CONTENT:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable plain text: block elements become line breaks, runs of blank lines collapse."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_to_html(text: str) -> str:
    """Plain text shown as HTML: escaped, paragraphs on blank lines, line breaks kept."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + html.escape(p.strip()).replace("\n", "<br>") + "</p>" for p in paragraphs)


def message_bodies(body_html: str | None, body_text: str | None) -> tuple[str, str]:
    """The (sanitised HTML, plain text) pair stored for a message given either or both forms."""
    if body_html and body_html.strip():
        clean = sanitize_html(body_html)
        text = body_text.strip() if body_text and body_text.strip() else html_to_text(clean)
        return clean, text
    if body_text and body_text.strip():
        return text_to_html(body_text), body_text.strip()
    return "", ""
