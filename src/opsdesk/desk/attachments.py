"""Attachment bytes live outside the database, addressed by their SHA-256, so a file sent twice is
stored once and a key can never point outside the store."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from opsdesk.core.errors import NotFound, TooLarge, ValidationFailed
from opsdesk.core.settings import Settings

_KEY = re.compile(r"^sha256/[0-9a-f]{2}/[0-9a-f]{64}$")


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    data: bytes


def safe_filename(name: str) -> str:
    """The last path component, without control characters, so a name is only ever shown, never used."""
    base = re.split(r"[\\/]", name.strip())[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    return (base or "attachment")[:300]


class AttachmentStore:
    """Files under a directory (``file://`` storage URL); writes are atomic renames."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> AttachmentStore:
        url = urlparse(settings.resolved_storage_url())
        if url.scheme != "file":
            raise ValidationFailed(
                f"unsupported attachment storage {url.scheme!r}; use a file:// URL", field="storage_url"
            )
        return cls(Path(unquote(url.netloc + url.path)), max_bytes=settings.max_attachment_bytes)

    def check_size(self, size: int, filename: str = "attachment") -> None:
        if size > self.max_bytes:
            raise TooLarge(
                f"{filename} is {size} bytes; attachments may be at most {self.max_bytes} bytes",
                field="attachments",
            )

    def put(self, data: bytes, *, max_bytes: int | None = None) -> str:
        """Store ``data`` under its digest; ``max_bytes`` replaces the attachment limit for files that
        are not attachments (a whole received mail, bounded by the listener's size limit instead)."""
        if max_bytes is None:
            self.check_size(len(data))
        elif len(data) > max_bytes:
            raise TooLarge(f"the file is {len(data)} bytes; at most {max_bytes} may be stored", field="data")
        digest = hashlib.sha256(data).hexdigest()
        key = f"sha256/{digest[:2]}/{digest}"
        path = self.root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return key

    def open(self, key: str) -> bytes:
        if not _KEY.match(key):
            raise NotFound("no such attachment", field="key")
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("the attachment's file is missing from the store", field="key") from exc
