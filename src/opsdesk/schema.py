"""Every package's tables in one metadata, for Alembic and for test databases."""

from opsdesk.core import models as core_models
from opsdesk.core.database import Base

# Each domain's models module registers its tables on Base.metadata when imported.
DOMAIN_MODEL_MODULES = [
    "opsdesk.core.jobs.models",
    "opsdesk.desk.models",
    "opsdesk.desk.search",  # full-text index DDL on the tickets and messages tables
    "opsdesk.desk.sla.models",
    "opsdesk.desk.channels.email.models",
    "opsdesk.quality.models",
    "opsdesk.success.models",
    "opsdesk.success.health.models",
    "opsdesk.success.playbooks.models",
    "opsdesk.success.voice.models",
    "opsdesk.success.pipeline.models",
    "opsdesk.workforce.models",
    "opsdesk.insights.models",
]


def load_all_models() -> None:
    import importlib
    import importlib.util

    for name in DOMAIN_MODEL_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            importlib.import_module(name)


def is_migrated(name: str | None, type_: str) -> bool:
    """False for what the full-text search DDL builds itself (SQLite FTS5 tables and their shadow
    tables, PostgreSQL expression indexes): Alembic must neither drop nor diff them."""
    return not (type_ in {"table", "index"} and name is not None and "_fts" in name)


load_all_models()
metadata = Base.metadata
__all__ = ["core_models", "metadata"]
