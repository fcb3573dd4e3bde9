"""The catalog's errors, apart from the catalog so that its mixins (jobs, checks) raise them without importing it.

``kmh.catalog`` re-exports them all.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base class of the catalog's errors."""


class NotFound(CatalogError, KeyError):
    """No document with this id."""


class DuplicateDocument(CatalogError):
    """Another document already has this content (sha256); ``doc_id`` names it."""

    def __init__(self, sha256: str, doc_id: str):
        super().__init__(f"content {sha256[:12]}… is already document {doc_id}")
        self.sha256 = sha256
        self.doc_id = doc_id


class UnknownJob(KeyError):
    """No job with this id."""


class DuplicateJob(Exception):
    """A job waiting or running already publishes this content (sha256); ``job_id`` names it."""

    def __init__(self, sha256: str, job_id: str, doc_id: str):
        super().__init__(f"content {sha256[:12]}… is already being published by job {job_id}")
        self.sha256, self.job_id, self.doc_id = sha256, job_id, doc_id


class EditionConflict(CatalogError, ValueError):
    """Two documents cannot be linked as editions (the same document, or two editions in one language)."""
