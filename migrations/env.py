"""Alembic environment: the URL comes from the config or from OPSDESK_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from opsdesk.core.database import make_engine
from opsdesk.core.settings import get_settings
from opsdesk.schema import is_migrated, metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=lambda name, type_, _parents: is_migrated(name, type_),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
