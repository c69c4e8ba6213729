"""Tables shared by the live channels: the replay store of inbound webhook deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsdesk.core.database import Base


class WebhookReceipt(Base):
    """One accepted delivery per (source, event id), written in the transaction of its effect: a refused
    delivery leaves none, a repeated id is recognised, and one reused for another body is refused."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(200))
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)
