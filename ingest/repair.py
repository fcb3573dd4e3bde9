"""Repairs for what `kmh check` (kmh.check) finds: orphans removed, missing or damaged passages embedded again
from the kept originals, checks computed for documents that have none, a lost catalog rebuilt from the index.

Run with the server stopped: the repair writes the index and the catalog.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kmh.check import Report, check, orphan_versions
from kmh.settings import Settings
from kmh.store import Filter

log = logging.getLogger("kmh.repair")

Say = Callable[[str], None]


def remove_uncommitted(catalog, store, *, exclusive: bool) -> list[tuple[str, int, int]]:
    """Delete the passages of document versions the catalog does not hold (a `kmh ingest` or job stopped before
    its catalog commit, or after it but before the old version's passages were deleted); returns (doc id,
    version, passages) removed. Without ``exclusive`` (a Qdrant server others may be writing to) only the versions
    older than the catalog's are removed: a newer one may be an ingestion still running elsewhere."""
    removed = []
    for doc_id, versions in orphan_versions(catalog, store).items():
        doc = catalog.get(doc_id)
        for version, n in sorted(versions.items()):
            if not exclusive and (doc is None or version > doc.version):
                continue
            store.delete(Filter(equals={"doc_id": doc_id, "doc_version": version}))
            removed.append((doc_id, version, n))
    return removed


def set_aside_index(settings: Settings) -> Path:
    """Move an embedded index that cannot be opened out of the way (kept beside it, never deleted)."""
    path = settings.index_path
    dest = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(dest)
    return dest


def repair_store(settings: Settings, catalog, store, report: Report, say: Say = log.info) -> tuple[Report, Any]:
    """Fix what ``report`` found, as `kmh check --repair` does; returns the full check made afterwards and the store
    (opened anew when the embedded index was rebuilt: ``store`` is then closed).

    Damaged vectors mean damaged segment files, and the engine fails on writes to them too: the embedded index is
    then rebuilt whole from the kept originals (the old folder set aside), as it is when a repair in place leaves
    problems. A lost catalog is restored from the index first, never after it is rebuilt."""
    from kmh.runtime import open_vector_store

    edge = settings.store_backend == "edge"
    whole = edge and any(f.kind == "damaged" for f in report.problems) and not any(
        f.kind == "catalog" for f in report.problems)
    if not whole:
        report = repair(settings, catalog, store, report, say=say)
    if edge and (whole or report.problems):
        store.close()
        say(f"rebuilding the whole index from the kept originals; the old one is kept at {set_aside_index(settings)}")
        store = open_vector_store(settings)
        report = repair(settings, catalog, store, check(catalog, store, full=True), say=say)
    return report, store


def repair(settings: Settings, catalog, store, report: Report, say: Say = log.info,
           indexer_factory: Callable[[], Any] | None = None) -> Report:
    """Fix what ``report`` found; returns a full check made afterwards. ``indexer_factory`` makes the (warmed up)
    ingest.indexer.Indexer used to embed passages again; it is called only when something must be embedded."""
    indexer = None

    def get_indexer():
        nonlocal indexer
        if indexer is None:
            if indexer_factory is None:
                from ingest.indexer import Indexer

                indexer = Indexer(settings, catalog, store)
                indexer.warm_up()
            else:
                indexer = indexer_factory()
        return indexer

    try:
        from ingest.pending import recover

        # a killed `kmh ingest`: exactly what it left (the embedded store is locked by us: every log left is dead)
        settled = recover(settings.data_dir, catalog, store, exclusive=settings.store_backend == "edge")
        for doc_id, version, what in settled:
            say(f"document {doc_id}, version {version}: {what} (an earlier kmh ingest stopped before it was done)")
        if settled:
            report = check(catalog, store, full=True)
        if any(f.kind == "catalog" for f in report.problems):
            _restore_catalog(settings, catalog, store, say)
        for doc_id, version, n in remove_uncommitted(catalog, store, exclusive=True):
            say(f"removed {n} orphan passages of document {doc_id}, version {version}")
        after = check(catalog, store, full=True)
        for f in after.problems:
            if f.doc_id is None or f.kind not in ("missing", "damaged"):
                continue
            doc = catalog.get(f.doc_id)
            if doc is None:
                continue
            try:
                n = get_indexer().rebuild(doc)
            except Exception as exc:  # one document that cannot be rebuilt does not stop the others
                say(f"could not embed {doc.title!r} ({doc.id}) again: {exc}")
                continue
            say(f"embedded {doc.title!r} ({doc.id}), version {doc.version} again from its original: {n} passages")
        for f in after.unverified:
            doc = catalog.get(f.doc_id)
            if doc is not None and _backfill(catalog, store, doc):
                say(f"recorded the checks of {doc.title!r} ({doc.id}) from the vectors present")
        store.optimize()
    finally:
        if indexer is not None and indexer_factory is None:
            indexer.close()
    return check(catalog, store, full=True)


def _backfill(catalog, store, doc) -> bool:
    """Checks of a document made before they existed, from the vectors present (when all are there and are
    vectors at all: a damaged one is embedded again by the full check's next repair)."""
    from kmh.catalog import passage_check, vector_sketch

    ids = store.ids(Filter(equals={"doc_id": doc.id, "doc_version": doc.version}))
    if len(ids) != doc.passage_count:
        return False
    checks = []
    for start in range(0, len(ids), 256):
        part = ids[start:start + 256]
        vectors = store.dense_vectors(part)
        texts = {h.id: h.payload.get("text") for h in store.retrieve(part, fields=("text",))}
        for i in part:
            if i not in vectors or vector_sketch(vectors[i]) == "nan":
                return False
            checks.append(passage_check(i, doc.id, doc.version, vectors[i], texts.get(i)))
    catalog.replace_checks(doc.id, doc.version, checks)
    return True


def _restore_catalog(settings: Settings, catalog, store, say: Say) -> None:
    """The catalog lost its documents but the index still has their passages: each document comes back from its
    passages' payload (title, type, language, dates, countries, the version) and its kept original (found by the
    content hash the payload carries), so search finds it again. Recordings (their transcripts lived in the
    catalog) and passages written before payloads carried the hash cannot come back: they are named."""
    from kmh.catalog import DocumentRecord, original_relpath
    from kmh.dates import parse_partial_date

    for doc_id, versions in orphan_versions(catalog, store).items():
        version = max(versions)
        hits, _ = store.scroll(Filter(equals={"doc_id": doc_id, "doc_version": version}), limit=1)
        p = hits[0].payload if hits else {}
        title = p.get("title") or doc_id
        sha = p.get("sha256")
        if p.get("kind") == "recording" or p.get("doc_type") == "recording":
            say(f"cannot restore the recording {title!r} ({doc_id}) into the catalog: ingest its seminar or media "
                "file again")
            continue
        found = sorted((settings.data_dir / original_relpath(sha)).parent.glob(f"{sha}*")) if sha else []
        if not found:
            say(f"cannot restore {title!r} ({doc_id}) into the catalog: "
                + ("its kept original is missing" if sha else "its passages do not name their original (indexed "
                   "before they did): ingest its file again"))
            continue
        original = found[0]
        parsed = _parse(settings, original)
        published, precision = (None, None)
        if p.get("published"):
            published, precision = parse_partial_date(str(p["published"]))
        record = DocumentRecord(
            id=doc_id, sha256=sha, filename=p.get("filename") or original.name, source_key=f"restored:{doc_id}",
            title=title, format=parsed.format if parsed else original.suffix.lstrip("."),
            mime=parsed.mime if parsed else "application/octet-stream",
            original_path=str(original.relative_to(settings.data_dir)), doc_type=p.get("doc_type") or "other",
            language=p.get("language"), published=published, published_precision=precision,
            countries=list(p.get("countries") or []), programme=p.get("programme"), source_url=p.get("source_url"),
            status=p.get("status") or "published", passage_count=versions[version],
            inferred=None,  # which fields were inferred is not in the index: unknown, as before revision 0008
            page_count=getattr(parsed, "page_count", None),
            outline=[{"section": b.text, "level": b.level, "page": b.page} for b in parsed.blocks
                     if b.kind == "title"] if parsed else [])
        catalog.add(record, version=version, note="restored by kmh check --repair from the index and the originals")
        say(f"restored {title!r} ({doc_id}), version {version}, into the catalog from the index and its original")


def _parse(settings: Settings, path: Path) -> Any:
    from ingest.model import IngestError
    from ingest.parsers import parse_file

    try:
        return parse_file(path, max_bytes=settings.max_file_bytes, max_pages=settings.max_pages)
    except IngestError as exc:
        log.warning("could not parse %s again: %s", path, exc.reason)
        return None
