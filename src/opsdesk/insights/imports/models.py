"""What an import has written, keyed by the source system's ids: a re-run finds every record here and
writes nothing twice, and an interrupted run continues after the last committed record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsdesk.core.database import Base


class ImportedRecord(Base):
    """One record of a source system (``zendesk`` or ``events:NAME``) and the local row it became.
    ``kind`` is ``user``, ``organisation``, ``group`` or ``ticket``."""

    __tablename__ = "imported_records"
    __table_args__ = (
        UniqueConstraint("source", "kind", "external_id"),
        Index("ix_imported_records_local", "kind", "local_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    local_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
