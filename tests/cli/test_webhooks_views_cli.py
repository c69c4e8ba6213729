"""`opsdesk webhooks ...` and `opsdesk views ...` through the real command line parser on the test
database: dead letters listed and replayed, subscriptions and shared views exported to YAML and
imported back (all or nothing, the bad entry named), read back after each command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opsdesk.cli import app
from opsdesk.core.clock import FixedClock
from opsdesk.core.models import Role
from opsdesk.core.settings import Settings, get_settings
from opsdesk.desk import actions as desk_actions
from opsdesk.desk.models import Channel
from opsdesk.desk.outbound_webhooks import actions as hook_actions
from opsdesk.desk.outbound_webhooks.dispatcher import dispatch
from opsdesk.desk.outbound_webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from opsdesk.desk.outbound_webhooks.sender import send_due
from opsdesk.desk.views import actions as view_actions
from opsdesk.desk.views.models import SavedView
from tests.desk.outbound_webhooks.receiver import receiver
from tests.factories import make_user

runner = CliRunner()


@pytest.fixture
def cli_db(
    engine: Engine, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    monkeypatch.setenv("OPSDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OPSDESK_SECRET_KEY", settings.secret_key)  # the same key seals and unseals secrets
    monkeypatch.setenv("OPSDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OPSDESK_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_dead_letters_are_listed_and_replayed_from_the_cli(
    cli_db: Session, session_factory: sessionmaker[Session], clock: FixedClock, settings: Settings
) -> None:
    hook_settings = settings.model_copy(
        update={"webhook_allow_private_targets": True, "webhook_max_attempts": 1}
    )
    with receiver() as hooks:
        hooks.answer(500)
        hook_actions.create_subscription(
            cli_db,
            actor=None,
            clock=clock,
            settings=hook_settings,
            name="crm",
            url=hooks.url,
            event_types=["ticket_created"],
        )
        rita = make_user(cli_db, clock, Role.REQUESTER, email="rita@acme.test")
        for subject in ("One", "Two"):
            desk_actions.create_ticket(
                cli_db, requester=rita, subject=subject, body_text="x", channel=Channel.EMAIL, clock=clock
            )
        cli_db.commit()
        with session_factory() as session, session.begin():
            dispatch(session, clock=clock)
        assert len(send_due(session_factory, clock=clock, settings=hook_settings).dead) == 2

        listing = _run("webhooks", "dead-letters")
        dead = cli_db.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)).all()
        assert all(f"{i}  crm  ticket_created#" in listing for i in dead) and "answered 500" in listing
        assert "replaying 1 delivery" in _run("webhooks", "replay", str(dead[0]))
        missing = runner.invoke(app, ["webhooks", "replay", str(dead[0])])  # no longer dead
        assert missing.exit_code == 2 and f"no dead delivery {dead[0]}" in missing.output
        assert runner.invoke(app, ["webhooks", "replay"]).exit_code == 2
        assert "replaying 1 delivery" in _run("webhooks", "replay", "--all")
        hooks.answer(200)
        clock.set(datetime.now(UTC) + timedelta(seconds=1))  # the CLI replays at the system clock's time
        assert sorted(send_due(session_factory, clock=clock, settings=hook_settings).delivered) == list(dead)
        assert "no dead letters" in _run("webhooks", "dead-letters")
    cli_db.expire_all()
    assert {d.status for d in cli_db.scalars(select(WebhookDelivery))} == {DeliveryStatus.DELIVERED}


def test_subscriptions_and_shared_views_round_trip_through_yaml(
    cli_db: Session, clock: FixedClock, tmp_path: Path
) -> None:
    created = _run(
        "webhooks", "create", "crm", "--url", "http://127.0.0.1:9/crm", "--event", "ticket_created"
    )
    assert "whsec_" in created
    exported = tmp_path / "hooks.yaml"
    _run("webhooks", "export", str(exported))
    data = yaml.safe_load(exported.read_text())
    assert data == [
        {
            "name": "crm",
            "url": "http://127.0.0.1:9/crm",
            "event_types": ["ticket_created"],
            "active": True,
            "allow_sensitive": False,
        }
    ]
    assert "secret" not in exported.read_text()
    data[0]["event_types"].append("status_changed")
    data.append({"name": "pager", "url": "http://127.0.0.1:9/pager", "event_types": ["sla_breached"]})
    exported.write_text(yaml.safe_dump(data))
    out = _run("webhooks", "import", str(exported))
    assert "created 1, updated 1" in out and "secret of pager (shown once): whsec_" in out
    cli_db.expire_all()
    stored = {s.name: s.event_types for s in cli_db.scalars(select(WebhookSubscription))}
    assert stored == {"crm": ["ticket_created", "status_changed"], "pager": ["sla_breached"]}

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            [
                {"name": "ok", "url": "http://127.0.0.1:9/", "event_types": ["*"]},
                {"name": "worse", "url": "ftp://x", "event_types": ["*"]},
            ]
        )
    )
    refused = runner.invoke(app, ["webhooks", "import", str(bad)])
    assert refused.exit_code == 2 and "entry 2 (worse)" in refused.output
    cli_db.expire_all()
    assert cli_db.scalar(select(WebhookSubscription).where(WebhookSubscription.name == "ok")) is None

    lead = make_user(cli_db, clock, Role.SUPPORT_LEAD, email="lee@desk.test")
    view_actions.save_view(
        cli_db,
        owner=lead,
        clock=clock,
        name="Urgent",
        filters={"priority": ["urgent"]},
        sort="sla_due",
        shared=True,
    )
    cli_db.commit()
    views_file = tmp_path / "views.yaml"
    _run("views", "export", str(views_file))
    views = yaml.safe_load(views_file.read_text())
    assert views == [{"name": "Urgent", "filters": {"priority": ["urgent"]}, "sort": "sla_due"}]
    views.append(
        {"name": "Chats", "filters": {"channel": ["chat"], "view": "unassigned"}, "sort": "-updated"}
    )
    views_file.write_text(yaml.safe_dump(views))
    assert "imported 2 shared views" in _run("views", "import", str(views_file), "--owner", "lee@desk.test")
    cli_db.expire_all()
    assert {
        v.name: v.filters for v in cli_db.scalars(select(SavedView).where(SavedView.shared.is_(True)))
    } == {
        "Urgent": {"priority": ["urgent"]},
        "Chats": {"channel": ["chat"], "view": "unassigned"},
    }
    views_file.write_text(yaml.safe_dump([{"name": "X", "filters": {"colour": "red"}}]))
    refused = runner.invoke(app, ["views", "import", str(views_file), "--owner", "lee@desk.test"])
    assert refused.exit_code == 2 and "entry 1 (X)" in refused.output
