"""What success tells the desk about a customer: its segment, health band, ARR band and lifecycle
stage, published as attributes of the account's organisation (``core.organisation_attributes``), so
desk rules and routes can test them without the desk importing this package.

Each is published by the action that changes it (segmenting, scoring or overriding health, a stage
change, a subscription saved or amended); :func:`publish_all` is the backfill.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsdesk.core.clock import Clock
from opsdesk.core.organisation_attributes import publish_attributes
from opsdesk.success.models import Account

SOURCE = "success"
SEGMENT, HEALTH_BAND, ARR_BAND, LIFECYCLE_STAGE = "segment", "health_band", "arr_band", "lifecycle_stage"
# Upper bounds in cents, with the band names rules compare against.
ARR_BANDS = (
    (10_000_00, "under_10k"),
    (50_000_00, "10k_50k"),
    (250_000_00, "50k_250k"),
    (1_000_000_00, "250k_1m"),
)


def arr_band(cents: int) -> str:
    for upper, name in ARR_BANDS:
        if cents < upper:
            return name
    return "1m_plus"


def publish(session: Session, account: Account, *, clock: Clock, **values: str | None) -> None:
    """Write the given attributes to the account's organisation (an account without one has no
    tickets to test them on)."""
    if account.organisation_id is None or not values:
        return
    publish_attributes(
        session, organisation_id=account.organisation_id, values=values, source=SOURCE, at=clock.now()
    )


def segment_name(account: Account) -> str | None:
    chosen = account.segment
    if account.segment_override_id is not None:
        from opsdesk.success.models import Segment

        override = Session.object_session(account)
        chosen = override.get(Segment, account.segment_override_id) if override is not None else chosen
    return chosen.name if chosen is not None else None


def current_health_band(session: Session, account: Account) -> str | None:
    from opsdesk.success.health.queries import latest_score

    row = latest_score(session, account.id)
    if row is None:
        return None
    band = row.effective_band or row.band
    return band.value if band is not None else None


def current_arr_band(session: Session, account: Account, *, clock: Clock) -> str:
    from opsdesk.success.queries import arr_on

    return arr_band(arr_on(session, account.id, clock.now().date()))


def publish_arr_band(session: Session, account: Account, *, clock: Clock) -> None:
    """The account's ARR band as of today, after a change of its contract terms."""
    publish(session, account, clock=clock, **{ARR_BAND: current_arr_band(session, account, clock=clock)})


def publish_account(session: Session, account: Account, *, clock: Clock) -> None:
    """All four attributes of one account."""
    publish(
        session,
        account,
        clock=clock,
        **{
            SEGMENT: segment_name(account),
            HEALTH_BAND: current_health_band(session, account),
            ARR_BAND: current_arr_band(session, account, clock=clock),
            LIFECYCLE_STAGE: account.stage.value,
        },
    )


def publish_all(session: Session, *, clock: Clock) -> int:
    """The backfill: every account with an organisation; returns how many were published."""
    accounts = list(
        session.scalars(select(Account).where(Account.organisation_id.is_not(None)).order_by(Account.id))
    )
    for account in accounts:
        publish_account(session, account, clock=clock)
    return len(accounts)
