"""Notices to staff inside OpsDesk: "your ticket was reviewed", "your dispute was decided", "a goal was
met". Any domain writes one in the transaction of the change it tells about (so a rolled-back change
tells nobody); the person sees them on /notifications, with an unread count beside the link in the
navigation. A notice carries only a title and a link: whoever follows the link is checked there, so a
notice never shows more than its reader may see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsdesk.core.clock import Clock
from opsdesk.core.database import Base

TITLE_LENGTH = 300
KEEP_SHOWN = 100  # the page shows this many, newest first


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


def notify(session: Session, *, user_id: int, kind: str, title: str, link: str, clock: Clock) -> Notification:
    """Tell ``user_id`` something, in the caller's transaction. ``link`` is a path on this site."""
    if not link.startswith("/") or link.startswith("//"):
        raise ValueError(f"a notification links to a path on this site, not {link!r}")
    row = Notification(
        user_id=user_id, kind=kind, title=title[:TITLE_LENGTH], link=link, created_at=clock.now()
    )
    session.add(row)
    return row


def unread_count(session: Session, user_id: int) -> int:
    query = select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    return int(session.scalar(query) or 0)


def recent(session: Session, user_id: int, *, limit: int = KEEP_SHOWN) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(session: Session, user_id: int, clock: Clock, *, up_to_id: int | None = None) -> int:
    """Mark the user's unread notices read (only those up to ``up_to_id``: what the page showed, not
    one that arrived since). Returns how many."""
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if up_to_id is not None:
        query = query.where(Notification.id <= up_to_id)
    result = session.execute(query.values(read_at=clock.now()).execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
