"""Vector store: one interface, two backends (embedded qdrant-edge, or a Qdrant server via qdrant-client).

Importing this package loads neither engine; open_store() imports the backend it needs.
"""

from __future__ import annotations

from pathlib import Path

from kmh.store.base import (
    Filter,
    Fusion,
    Hit,
    SearchMode,
    SparseVector,
    StoredPassage,
    StoreError,
    StoreLockedError,
    VectorStore,
)

__all__ = [
    "Filter",
    "Fusion",
    "Hit",
    "SearchMode",
    "SparseVector",
    "StoreError",
    "StoreLockedError",
    "StoredPassage",
    "VectorStore",
    "open_store",
]


def open_store(
    backend: str,
    *,
    path: Path | None = None,
    url: str | None = None,
    api_key: str | None = None,
    collection: str = "passages",
    dim: int = 384,
) -> VectorStore:
    """Open a store and create its collection if missing.

    backend "edge": an embedded shard in the folder ``path`` (one process at a time).
    backend "qdrant": ``url`` is an http(s) URL of a server, or ":memory:" / a folder for qdrant-client's local mode.
    """
    if backend == "edge":
        if path is None:
            raise ValueError("the edge store needs a folder (path)")
        from kmh.store.edge import EdgeStore

        store: VectorStore = EdgeStore(path, dim=dim)
    elif backend == "qdrant":
        if not url:
            raise ValueError("the qdrant store needs a url (http(s)://..., ':memory:' or a folder)")
        from kmh.store.qdrant import QdrantServerStore

        store = QdrantServerStore(str(url), api_key=api_key, collection=collection, dim=dim)
    else:
        raise ValueError(f"unknown store backend {backend!r}: use 'edge' or 'qdrant'")
    try:
        store.ensure()
    except BaseException:
        store.close()
        raise
    return store
