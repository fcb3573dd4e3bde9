"""Documents at ingestion: parsed (in the parse worker), checked against the catalog by content hash, and
prepared as the next version of their document.

A file whose bytes are already catalogued with the same metadata is left alone ("unchanged"); so is a twin of a
file prepared in the same run and not yet committed. A changed file (same source, new bytes), or an unchanged
one whose sidecar metadata changed, becomes the next version of its document.

What a person gave or confirmed on the prior version (a field not inferred there: from a sidecar, an upload or an
edit) stays when the file now only infers it; a sidecar or upload field given now wins over it.
"""

from __future__ import annotations

from collections.abc import Callable
from math import ceil
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.components.chunker import PassageSource
from ingest.model import FileResult, IngestError, ParsedDocument, Upload
from ingest.prepared import META_FIELDS, Prepared, passage_meta
from kmh.settings import Settings

if TYPE_CHECKING:
    from ingest.sandbox import ParseSandbox
    from kmh.catalog import Catalog, DocumentRecord


class DocumentPreparer:
    """Parses documents and prepares them as new versions; the parse worker starts on the first document."""

    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings = settings
        self.catalog = catalog
        self.sandbox: ParseSandbox | None = None  # started on the first parse (KMH_PARSE_ISOLATION)
        self._in_flight: dict[str, Prepared] = {}  # prepared but not yet committed, by content hash

    def close(self) -> None:
        """Stop the parse worker, if one was started; safe to call twice (a later parse starts a new one)."""
        sandbox, self.sandbox = self.sandbox, None
        if sandbox is not None:
            sandbox.close()

    def parse(self, path: Path) -> ParsedDocument:
        """Parse one document: in the parse worker (memory cap, time limit) unless KMH_PARSE_ISOLATION is false."""
        s = self.settings
        if not s.parse_isolation:
            from ingest.parsers import parse_file
            from ingest.parsers.ocr import OcrOptions

            return parse_file(path, max_bytes=s.max_file_bytes, max_pages=s.max_pages, ocr=OcrOptions.from_settings(s))
        if self.sandbox is None:
            from ingest.sandbox import ParseSandbox

            self.sandbox = ParseSandbox.from_settings(s)
        return self.sandbox.parse(path)

    def committed(self, p: Prepared) -> None:
        """``p`` is committed or failed: a twin prepared from now on is found in the catalog, or prepared anew."""
        self._in_flight.pop(p.record.sha256, None)

    def forget(self) -> None:
        """Forget every file in flight (a single upload is prepared and committed on its own)."""
        self._in_flight.clear()

    def prepare(self, path: Path, upload: Upload | None = None,
                parsed: Callable[[], ParsedDocument] | None = None) -> Prepared | FileResult:
        """The file as the next version of its document, or the FileResult saying why not (unchanged, a twin, an
        upload whose content another document has). ``parsed`` gives the parse already under way in the parse worker
        (ingest.parse_ahead), else the file is parsed here. Raises IngestError."""
        from dataclasses import replace

        from ingest.metadata import infer_meta
        from kmh.catalog import DocumentRecord, sha256_bytes

        size = path.stat().st_size
        if size > self.settings.max_file_bytes:
            raise IngestError(path, f"file is {size / 2**20:.1f} MB, over the {self.settings.max_file_mb:g} MB limit")
        data = path.read_bytes()
        sha = sha256_bytes(data)
        twin = self._in_flight.get(sha)
        if twin is not None:
            return FileResult(path, "unchanged", twin.record.id, twin.record.title,
                              reason=f"same content as {twin.path.name}")
        existing = self.catalog.by_sha256(sha)
        if upload is not None and existing is not None:
            return FileResult(path, "failed", upload.doc_id, reason=f"same content as document {existing.id}")
        doc = parsed() if parsed is not None else self.parse(path)  # sidecar applied
        if upload is not None:
            doc.meta = infer_meta(doc.blocks, upload.meta, doc.properties)
            source_key = upload.source_key
            prior = self.catalog.get(upload.doc_id)
        else:
            source_key = str(path.resolve())
            prior = existing or self.catalog.by_source_key(source_key)
        meta = doc.meta
        record = DocumentRecord(
            sha256=sha,
            filename=upload.filename if upload else path.name,
            source_key=source_key,
            title=meta.title or path.stem,
            doc_type=meta.doc_type,
            language=meta.language,
            published=meta.published,
            published_precision=meta.published_precision if meta.published else None,
            countries=list(meta.countries),
            inferred=sorted(meta.inferred),
            programme=meta.programme,
            source_url=meta.source_url,
            source=meta.source,
            edition_of=meta.edition_of if upload is None else prior.edition_of if prior is not None else None,
            format=doc.format,
            mime=doc.mime,
            page_count=doc.page_count,
            outline=[{"section": b.text, "level": b.level, "page": b.page} for b in doc.blocks if b.kind == "title"],
            original_path="",  # known at commit
        )
        if prior is not None:
            record = keep_confirmed(record, prior)
        if existing is not None and all(getattr(existing, k) == getattr(record, k) for k in META_FIELDS) and (
                existing.inferred is None or existing.inferred == record.inferred):  # None: catalogued before 0008
            reason = None if existing.source_key == source_key else f"same content as {existing.filename}"
            return FileResult(path, "unchanged", existing.id, existing.title, existing.passage_count, reason)
        if prior is not None:
            record = replace(record, id=prior.id, version=prior.version + 1)
        else:
            record = replace(record, id=upload.doc_id if upload else self.catalog.new_doc_id(), version=1)
        source = PassageSource(doc, passage_meta(record, prior.status if prior is not None else "published"))
        words = sum(len(b.text.split()) for b in doc.blocks)
        per_passage = max(1, self.settings.chunk_max_words - self.settings.chunk_overlap_words)
        prepared = Prepared(path, data, record, prior, source, max(1, ceil(words / per_passage)), upload=upload)
        self._in_flight[sha] = prepared
        return prepared


def keep_confirmed(record: DocumentRecord, prior: DocumentRecord) -> DocumentRecord:
    """``record`` with the prior version's values for the fields ``record`` only infers but a person gave or
    confirmed on ``prior`` (a value there, not in its ``inferred``); unchanged when ``prior`` predates the tracking
    of inferred fields (``inferred`` None)."""
    from dataclasses import replace

    if prior.inferred is None or not record.inferred:
        return record
    kept: dict = {}
    for name in record.inferred:
        value = getattr(prior, name)
        if name not in prior.inferred and value not in (None, "", []):
            kept[name] = list(value) if name == "countries" else value
            if name == "published":
                kept["published_precision"] = prior.published_precision
    if not kept:
        return record
    return replace(record, **kept, inferred=[name for name in record.inferred if name not in kept])
