"""Every package's background jobs. Importing a jobs module registers its handlers and periodic
schedules with ``opsdesk.core.jobs.registry``; workers call :func:`load_job_modules` before starting."""

from __future__ import annotations

import opsdesk.desk.automation.jobs
import opsdesk.desk.channels.email.jobs
import opsdesk.desk.channels.phone.jobs
import opsdesk.desk.channels.social.jobs
import opsdesk.desk.jobs
import opsdesk.desk.outbound_webhooks.jobs
import opsdesk.desk.routing.jobs
import opsdesk.desk.sla.jobs
import opsdesk.desk.surveys.jobs
import opsdesk.insights.dashboards.jobs
import opsdesk.insights.reports.jobs
import opsdesk.success.health.jobs
import opsdesk.success.jobs
import opsdesk.success.playbooks.jobs
import opsdesk.success.voice.jobs
import opsdesk.workforce.intraday.jobs  # noqa: F401
from opsdesk.core.jobs import Registry, registry


def load_job_modules() -> Registry:
    """The registry with every job registered (the imports above do the registering)."""
    return registry
