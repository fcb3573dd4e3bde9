"""New versions of documents, written in the crash-safe order.

A prepared file becomes the next version of its document in three steps, in this order:

1. its passages are written to the vector store (the ingest pipeline), its version noted first in the pending log
   when one is kept (``kmh ingest``: ingest.pending);
2. the catalog switches to the new version in one transaction (the document record, its recording, its topic
   suggestions, the decisions carried over and its passages' checks);
3. the passages of the other versions are deleted.

Search only shows passages of a document's current version, so readers never see a half-replaced document. A
crash between 1 and 2 leaves passages of a version the catalog does not hold; between 2 and 3, passages of an
old version: either way `recover` (services.jobs, ingest.pending) can tell from the catalog what to delete.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from haystack import Pipeline

from ingest.model import FileResult, Progress
from ingest.pipeline import run_batch
from ingest.prepared import Indexed, Prepared
from kmh.settings import Settings
from kmh.store import Filter, VectorStore

if TYPE_CHECKING:
    from ingest.pending import PendingLog
    from kmh.catalog import Catalog

log = logging.getLogger(__name__)


class VersionWriter:
    """Writes prepared files as new versions through ``pipeline`` (ingest.pipeline), in the order above."""

    def __init__(self, settings: Settings, catalog: Catalog, store: VectorStore, pipeline: Pipeline,
                 pending: PendingLog | None = None):
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.pipeline = pipeline
        # The versions written but not yet catalogued, for `kmh ingest` to settle after a crash (the server's jobs
        # say it themselves); None: not kept.
        self.pending = pending

    def begin(self, batch: Sequence[Prepared]) -> None:
        """Note the versions of ``batch`` as written-but-not-catalogued, before any of their passages is written."""
        if self.pending is not None:
            self.pending.add((p.record.id, p.record.version) for p in batch)

    def write(self, batch: Sequence[Prepared], progress: Progress | None = None) -> list[Indexed]:
        """Step 1: cut, embed and write the passages of ``batch`` (after ``begin``); what was made of each file."""
        return run_batch(self.pipeline, batch, progress)

    def commit(self, p: Prepared, indexed: Indexed) -> FileResult:
        """Steps 2 and 3: switch the catalog to the new version, then drop the passages of the other versions. A
        file the pipeline could not cut, or whose catalog update fails, fails alone (its passages are dropped)."""
        from kmh.catalog import original_relpath, store_original, store_original_file

        rec = p.record
        if indexed.error is not None:
            self.drop(p)
            return FileResult(p.path, "failed", p.upload.doc_id if p.upload else None, reason=indexed.error.reason)
        suffix = p.path.suffix.lower()
        kept = original_relpath(rec.sha256, suffix)
        new_original = not (self.settings.data_dir / kept).is_file()  # else another version or document keeps it
        try:
            if p.recording is not None:  # media: copied from the file, not held in memory
                original = store_original_file(self.settings.data_dir, p.path, rec.sha256, suffix)
            else:
                original = store_original(self.settings.data_dir, p.data, suffix)
            record = replace(rec, original_path=str(original), passage_count=indexed.passages)
            if p.prior is None:
                self.catalog.add(record, recording=p.recording, suggestions=indexed.suggestions,
                                 decisions=indexed.decisions, checks=indexed.checks)
            else:
                stored = self.catalog.save_new_version(rec.id, record, recording=p.recording,
                                                       suggestions=indexed.suggestions, decisions=indexed.decisions,
                                                       checks=indexed.checks)
                if stored.version != rec.version:
                    raise RuntimeError(f"version race: catalog at {stored.version}, passages at {rec.version}")
        except Exception as exc:
            log.exception("catalog update failed for %s", p.path)
            self.drop(p)
            if new_original:  # kept for this version only, which the catalog never recorded
                (self.settings.data_dir / kept).unlink(missing_ok=True)
            return FileResult(p.path, "failed", reason=f"catalog update failed: {exc}")
        self.store.delete(Filter(equals={"doc_id": rec.id}, not_equals={"doc_version": rec.version}))
        if self.pending is not None:
            self.pending.done(rec.id, rec.version)
        parsed = getattr(p.source, "parsed", None)  # a document (a recording has no parse notes)
        return FileResult(p.path, "updated" if p.prior else "new", rec.id, rec.title, indexed.passages,
                          notes=list(parsed.notes) if parsed is not None else [])

    def drop(self, p: Prepared) -> None:
        """Delete the passages written for ``p``'s version, which the catalog does not hold."""
        try:
            self.store.delete(Filter(equals={"doc_id": p.record.id, "doc_version": p.record.version}))
        except Exception:
            log.exception("could not remove the passages of a failed version of %s", p.path)
            return  # left in the pending log: the next run removes them
        if self.pending is not None:
            self.pending.done(p.record.id, p.record.version)
