"""Every package's tables in one metadata, for Alembic and for test databases."""

from __future__ import annotations

# Importing a models module registers its tables on Base.metadata.
import opsdesk.core.append_only  # the triggers that keep the event and audit logs append-only
import opsdesk.core.config_versions
import opsdesk.core.jobs.models
import opsdesk.core.models
import opsdesk.core.notifications
import opsdesk.core.organisation_attributes
import opsdesk.desk.automation.models
import opsdesk.desk.channels.chat.models
import opsdesk.desk.channels.email.models
import opsdesk.desk.channels.models
import opsdesk.desk.channels.phone.models
import opsdesk.desk.channels.social.models
import opsdesk.desk.models
import opsdesk.desk.outbound_webhooks.models
import opsdesk.desk.routing.models
import opsdesk.desk.search  # the full-text index DDL on the tickets and messages tables
import opsdesk.desk.sla.models
import opsdesk.desk.surveys.models
import opsdesk.desk.views.models
import opsdesk.insights.dashboards.models
import opsdesk.insights.imports.models
import opsdesk.insights.reports.models
import opsdesk.quality.models
import opsdesk.success.health.models
import opsdesk.success.lifecycle.models
import opsdesk.success.models
import opsdesk.success.pipeline.models
import opsdesk.success.playbooks.models
import opsdesk.success.voice.models
import opsdesk.workforce.models
import opsdesk.workforce.swaps.models
import opsdesk.workforce.time_off.models  # noqa: F401
from opsdesk.core.database import Base


def is_migrated(name: str | None, type_: str) -> bool:
    """False for what the full-text search DDL builds itself (SQLite FTS5 tables and their shadow
    tables, PostgreSQL expression indexes): Alembic must neither drop nor diff them."""
    return not (type_ in {"table", "index"} and name is not None and "_fts" in name)


metadata = Base.metadata
