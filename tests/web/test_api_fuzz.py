"""Schemathesis over the whole OpenAPI document, against a live server on a small demo organisation, as an
admin and as a requester: no 500, every answer documented and shaped as documented.

Runs alone with ``pytest tests/web/test_api_fuzz.py``; ``make fuzz`` sets OPSDESK_FUZZ_EXAMPLES higher.
A failure names the operation, the role, the check and a curl command that reproduces it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, select

from opsdesk.core import actions as core_actions
from opsdesk.core.clock import FixedClock
from opsdesk.core.database import make_session_factory
from opsdesk.core.models import Role, User
from opsdesk.core.settings import Settings
from opsdesk.demo.loader import load_demo
from tests.conftest import _empty_all_tables, serving

EXAMPLES = int(os.environ.get("OPSDESK_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
ROLES = (Role.ADMIN, Role.REQUESTER)
pytestmark = pytest.mark.one_database


@dataclass
class FuzzTarget:
    url: str
    tokens: dict[Role, str]


@pytest.fixture(scope="module")
def fuzz_target(_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    """One server for the whole module: seeding the demo per operation would take the run's time."""
    from opsdesk.web.app import create_app

    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    factory = make_session_factory(_engine)
    load_demo(
        factory, clock=clock, organisations=60, tickets_per_day=10, history_days=21, success_accounts=30
    )
    tokens: dict[Role, str] = {}
    with factory() as session, session.begin():
        for role in ROLES:
            user = session.scalars(select(User).where(User.role == role).order_by(User.id).limit(1)).one()
            tokens[role] = core_actions.create_api_token(session, user=user, name="fuzz", clock=clock)[1]
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"), secret_key="fuzz-secret", support_address="s@opsdesk.test"
    )
    try:
        with serving(create_app(settings_, engine=_engine, clock=clock)) as server:
            yield FuzzTarget(url=server.url, tokens=tokens)
    finally:
        _empty_all_tables(_engine)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _openapi_document() -> dict[str, object]:
    """The document the app serves, built at collection time so that each operation is a test of its own."""
    from opsdesk.core.database import make_engine
    from opsdesk.web.app import create_app

    app = create_app(Settings(secret_key="fuzz-secret"), engine=make_engine("sqlite://"))
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi_document())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(case: schemathesis.Case, fuzz_target: FuzzTarget, http: requests.Session) -> None:
    for role in ROLES:
        try:
            case.call_and_validate(
                base_url=fuzz_target.url,
                session=http,
                headers={"Authorization": f"Bearer {fuzz_target.tokens[role]}"},
                checks=CHECKS,
                timeout=60,
            )
        except Exception as failure:
            failure.add_note(f"(sent with the demo {role.value}'s token)")
            raise
