"""Open the catalog and the vector store described by the settings (used by the CLI and the app)."""

from __future__ import annotations

from kmh.settings import Settings


def open_catalog(settings: Settings):
    from kmh.catalog import Catalog

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_db_url)
    catalog.migrate()
    return catalog


def open_vector_store(settings: Settings, dim: int = 384):
    from kmh.store import open_store

    if settings.store_backend == "edge":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return open_store("edge", path=settings.index_path, collection=settings.collection, dim=dim)
    return open_store(
        "qdrant", url=settings.qdrant_url, api_key=settings.qdrant_api_key, collection=settings.collection, dim=dim
    )
