"""Alembic environment for the catalog.

Run from code: ``Catalog(url).migrate()`` passes its connection in ``config.attributes["connection"]``.
From the shell: ``alembic -c kmh/migrations/alembic.ini upgrade head`` uses KMH_CATALOG_URL
(or the default SQLite file under KMH_DATA_DIR), unless ``-x url=...`` is given.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy.types import TypeDecorator

from kmh.catalog.catalog import make_engine
from kmh.catalog.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from kmh.settings import Settings

    return Settings().catalog_db_url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations use plain SQLAlchemy types, never the project's TypeDecorators.
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


def run_offline() -> None:
    url = _url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _configure(connection=conn, render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        conn.execution_options(kmh_write=True)
        with conn.begin():
            _configure(connection=conn, render_as_batch=conn.dialect.name == "sqlite")
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
