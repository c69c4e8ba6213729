"""Facts other domains publish about an organisation, for the desk to read without importing them.

The desk must not import ``success``; yet a rule or a route wants to know a customer's segment, health
band, ARR band or lifecycle stage. ``success`` writes those here whenever they change (and once in a
backfill), and the desk reads them as plain name/value pairs. Core owns the table; it knows nothing of
what the names mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from opsdesk.core.database import Base

MAX_VALUE = 200


class OrganisationAttribute(Base):
    __tablename__ = "organisation_attributes"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(MAX_VALUE))
    source: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime]


def publish_attributes(
    session: Session,
    *,
    organisation_id: int,
    values: Mapping[str, str | None],
    source: str,
    at: datetime,
) -> bool:
    """Set the named attributes of one organisation (None clears a value); True when any changed."""
    rows = {
        row.name: row
        for row in session.scalars(
            select(OrganisationAttribute).where(
                OrganisationAttribute.organisation_id == organisation_id,
                OrganisationAttribute.name.in_(list(values)),
            )
        )
    }
    changed = False
    for name, value in values.items():
        value = value[:MAX_VALUE] if value is not None else None
        row = rows.get(name)
        if row is None:
            session.add(
                OrganisationAttribute(
                    organisation_id=organisation_id, name=name, value=value, source=source, updated_at=at
                )
            )
            changed = True
        elif row.value != value:
            row.value, row.source, row.updated_at = value, source, at
            changed = True
    return changed


def attributes_of(session: Session, organisation_id: int) -> dict[str, str | None]:
    return dict(
        session.execute(
            select(OrganisationAttribute.name, OrganisationAttribute.value).where(
                OrganisationAttribute.organisation_id == organisation_id
            )
        ).all()
    )


def attributes_of_many(session: Session, organisation_ids: Iterable[int]) -> dict[int, dict[str, str | None]]:
    ids = sorted(set(organisation_ids))
    out: dict[int, dict[str, str | None]] = {i: {} for i in ids}
    if not ids:
        return out
    for org_id, name, value in session.execute(
        select(
            OrganisationAttribute.organisation_id, OrganisationAttribute.name, OrganisationAttribute.value
        ).where(OrganisationAttribute.organisation_id.in_(ids))
    ):
        out[org_id][name] = value
    return out
