"""Stable ids of passages: the same document version always yields the same point ids in the store."""

from __future__ import annotations

import uuid

POINT_NAMESPACE = uuid.UUID("6f1c1a9e-3b0e-4c55-9d7e-8a2f4b6c1d00")


def passage_id(doc_id: str, version: int, index: int) -> str:
    """Stable UUID of a passage: the same document version always yields the same ids."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{doc_id}:{version}:{index}"))
