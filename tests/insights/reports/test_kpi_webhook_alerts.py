"""KPI alerts through the outbound webhooks (SQLite and PostgreSQL): a target naming an event type
appends it once per excursion, and the webhooks deliver it to a real HTTP receiver on loopback, signed
per Standard Webhooks, with the KPI, its value, band and days. No mail server is needed for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from opsdesk.core.clock import FixedClock
from opsdesk.core.errors import ValidationFailed
from opsdesk.core.jobs import JobContext
from opsdesk.core.settings import Settings
from opsdesk.desk.outbound_webhooks import actions
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.sender import send_due
from opsdesk.insights.reports.jobs import check_kpi_targets
from opsdesk.insights.reports.models import KpiTarget
from opsdesk.insights.reports.targets import set_target
from tests.desk.outbound_webhooks.receiver import Receiver, receiver


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def check_and_deliver(factory: sessionmaker[Session], settings: Settings, at: datetime) -> None:
    """The hourly check, then one run of the webhooks' dispatcher and sender."""
    clock = FixedClock(at)
    check_kpi_targets(JobContext(factory, clock, settings, "insights.check_kpi_targets", "1", 1, None), {})
    with factory() as session, session.begin():
        dispatch(session, clock=clock)
    send_due(factory, clock=clock, settings=settings)


def test_an_excursion_is_delivered_once_to_the_subscribed_webhook(
    two_weeks: Session, session_factory: sessionmaker[Session], settings: Settings, hooks: Receiver
) -> None:
    no_mail = settings.model_copy(update={"smtp_url": "", "webhook_allow_private_targets": True})
    day = datetime(2026, 3, 1, tzinfo=UTC)
    made = actions.create_subscription(
        two_weeks,
        actor=None,
        clock=FixedClock(day),
        settings=no_mail,
        name="pager",
        url=hooks.url,
        event_types=["kpi_first_reply_alert"],
    )
    hooked = set_target(
        two_weeks, kpi="first_reply_time", low=None, high=3600, now=day, webhook_event="kpi_first_reply_alert"
    )
    mailed = set_target(two_weeks, kpi="csat", low=0.8, high=None, now=day, notify="lead@example.com")
    two_weeks.commit()

    check_and_deliver(session_factory, no_mail, datetime(2026, 3, 9, 6, tzinfo=UTC))  # 2-8 March: 35 min
    assert hooks.requests == []
    check_and_deliver(session_factory, no_mail, datetime(2026, 3, 16, 6, tzinfo=UTC))  # 9-15 March: 75 min
    check_and_deliver(session_factory, no_mail, datetime(2026, 3, 16, 7, tzinfo=UTC))  # still out: nothing
    (request,) = hooks.requests
    sent = Webhook(made.secret).verify(request.body, request.headers)
    assert sent["type"] == "kpi_first_reply_alert"
    assert sent["data"]["subject_type"] == "kpi_target" and sent["data"]["subject_id"] == hooked.id
    assert sent["data"]["changes"] == {
        "kpi": "first_reply_time median",
        "metric": "first_reply_time",
        "stat": "median_s",
        "sla_target": None,
        "scope": "desk",
        "scope_name": None,
        "value": 4500.0,  # the median of 5, 30, 120 and 240 minutes: `opsdesk kpi` for those days
        "shown": "1.25 h",
        "band": {"low": None, "high": 3600.0},
        "period": {"from": "2026-03-09", "to": "2026-03-15"},
    }
    assert json.loads(request.body) == sent

    with session_factory() as check:
        assert check.get_one(KpiTarget, hooked.id).breached_value == 4500.0
        # CSAT fell to 50% too, but its alert is an email and no mail server is set: left unchecked.
        assert check.get_one(KpiTarget, mailed.id).breached_since is None


@pytest.mark.parametrize(
    "name", ["ticket_created", "kpi_target_breached", "kpi alert", "KPI_ALERT", "kpi_" + "x" * 60, "*"]
)
def test_the_event_type_is_a_kpi_event_of_its_own(db: Session, name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        set_target(
            db, kpi="csat", low=0.9, high=None, now=datetime(2026, 3, 1, tzinfo=UTC), webhook_event=name
        )
    assert caught.value.field == "webhook_event"
