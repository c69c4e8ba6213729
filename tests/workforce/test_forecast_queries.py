"""The desk's contact history for forecasting, counted from ticket_created events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from opsdesk.core.events import append_event
from opsdesk.workforce.queries import contact_volume_history


def created(db: Session, at: datetime, channel: str, subject_id: int) -> None:
    append_event(
        db,
        subject_type="ticket",
        subject_id=subject_id,
        type="ticket_created",
        at=at,
        data={"channel": channel, "status": "new"},
    )


def test_counts_tickets_of_one_channel_per_interval_with_zeros_between(db: Session) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for i, minutes in enumerate([1, 10, 29, 31, 125]):
        created(db, start + timedelta(minutes=minutes), "phone", i)
    created(db, start + timedelta(minutes=5), "email", 10)
    append_event(
        db, subject_type="ticket", subject_id=11, type="status_changed", at=start, data={"channel": "phone"}
    )
    db.commit()

    frame = contact_volume_history(db, channel="phone", step_minutes=30)
    assert [t.isoformat() for t in frame["timestamp"]] == [
        "2026-03-02T09:00:00+00:00",
        "2026-03-02T09:30:00+00:00",
        "2026-03-02T10:00:00+00:00",
        "2026-03-02T10:30:00+00:00",
        "2026-03-02T11:00:00+00:00",
    ]
    assert list(frame["volume"]) == [3, 1, 0, 0, 1]

    # The interval `before` falls in is still filling up: it is left out.
    partial = contact_volume_history(
        db, channel="phone", step_minutes=30, before=start + timedelta(minutes=126)
    )
    assert list(partial["volume"]) == [3, 1, 0, 0]
    assert contact_volume_history(db, channel="chat", step_minutes=30).empty
