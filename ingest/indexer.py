"""Ingest files: parse, chunk, embed and index them, recording each document in the catalog.

Work is skipped by content hash: a file whose bytes are already in the catalog is left
alone. A changed file (same source, new bytes) becomes a new version of its document:
its new passages are written first, then the catalog switches to the new version in one
transaction, then the old passages are deleted. Search only shows passages of a
document's current version, so readers never see a half-replaced document.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from haystack import Document, Pipeline

from ingest.components.chunker import PassageChunker
from ingest.components.sentences import SentenceEmbedder
from ingest.components.sparse import Bm25DocumentEncoder
from ingest.components.writer import PassageWriter
from ingest.model import IngestError, ParsedDocument
from kmh.settings import Settings
from kmh.store import Filter, VectorStore

log = logging.getLogger(__name__)

Status = Literal["new", "updated", "unchanged", "failed"]
SKIP_SUFFIXES = (".meta.yaml", ".meta.yml")


@dataclass
class FileResult:
    path: Path
    status: Status
    doc_id: str | None = None
    title: str | None = None
    passages: int = 0
    reason: str | None = None


@dataclass
class _Prepared:
    path: Path
    data: bytes
    sha256: str
    parsed: ParsedDocument
    record: dict[str, Any]  # catalog fields of the new version
    prior: Any | None  # the catalog row of the document this file updates
    documents: list[Document] = field(default_factory=list)
    text: str = ""


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Expand folders recursively (sorted, hidden files and metadata sidecars left out)."""
    files: list[Path] = []
    missing: list[FileResult] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.is_file() and not any(part.startswith(".") for part in rel) and not f.name.endswith(SKIP_SUFFIXES):
                    files.append(f)
        elif p.is_file():
            files.append(p)
        else:
            missing.append(FileResult(p, "failed", reason="no such file or folder"))
    seen: set[Path] = set()
    unique = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]
    return unique, missing


class Indexer:
    """Runs ingestion; the embedder loads once, in warm_up()."""

    def __init__(self, settings: Settings, catalog, store: VectorStore, *, doc_embedder=None, sentence_embedder=None,
                 batch_passages: int = 256):
        from kmh.embedding import document_embedder
        from kmh.embedding import sentence_embedder as make_sentence_embedder

        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.batch_passages = batch_passages
        self._pending_sha: dict[str, _Prepared] = {}  # files parsed but not yet committed, by content hash
        self.chunker = PassageChunker(settings.chunk_min_words, settings.chunk_max_words, settings.chunk_overlap_words)
        self.pipeline = Pipeline()
        self.pipeline.add_component("embedder", doc_embedder or document_embedder(settings))
        self.pipeline.add_component("sparse", Bm25DocumentEncoder())
        self.pipeline.add_component("writer", PassageWriter(store))
        self.sentences = settings.sentence_ranking and store.has_sentences
        if settings.sentence_ranking and not store.has_sentences:
            log.warning("the vector store has no sentence vectors (it was created before they existed): passages are "
                        "indexed without them; re-create the index to use the sentence ranking")
        if self.sentences:
            embedder = SentenceEmbedder(sentence_embedder or make_sentence_embedder(settings))
            self.pipeline.add_component("sentences", embedder)
            self.pipeline.connect("embedder.documents", "sentences.documents")
            self.pipeline.connect("sentences.documents", "sparse.documents")
        else:
            self.pipeline.connect("embedder.documents", "sparse.documents")
        self.pipeline.connect("sparse.documents", "writer.documents")

    def warm_up(self) -> None:
        from kmh.embedding import configure_torch

        configure_torch(self.settings)  # KMH_TORCH_THREADS, before the model loads
        self.pipeline.warm_up()

    # ------------------------------------------------------------------ run

    def run(self, paths: Iterable[Path], on_result: Callable[[FileResult], None] | None = None) -> list[FileResult]:
        files, results = collect_files(paths)
        for r in results:
            on_result and on_result(r)
        pending: list[_Prepared] = []

        def emit(r: FileResult) -> None:
            results.append(r)
            if on_result:
                on_result(r)

        for path in files:
            try:
                prepared = self._prepare(path)
            except IngestError as exc:
                emit(FileResult(path, "failed", reason=exc.reason))
                continue
            except Exception as exc:  # a parser bug must not stop the batch
                log.exception("unexpected error while parsing %s", path)
                emit(FileResult(path, "failed", reason=f"unexpected error: {exc}"))
                continue
            if isinstance(prepared, FileResult):
                emit(prepared)
                continue
            pending.append(prepared)
            if sum(len(p.documents) for p in pending) >= self.batch_passages:
                for r in self._index(pending):
                    emit(r)
                pending = []
        for r in self._index(pending):
            emit(r)
        self.store.optimize()
        return results

    # -------------------------------------------------------------- stages

    def _prepare(self, path: Path) -> _Prepared | FileResult:
        from ingest.parsers import parse_file
        from kmh.catalog import sha256_bytes

        size = path.stat().st_size
        if size > self.settings.max_file_bytes:
            raise IngestError(path, f"file is {size / 2**20:.1f} MB, over the {self.settings.max_file_mb:g} MB limit")
        data = path.read_bytes()
        sha = sha256_bytes(data)
        twin = self._pending_sha.get(sha)
        if twin is not None:
            return FileResult(path, "unchanged", twin.record["id"], twin.record["title"],
                              reason=f"same content as {twin.path.name}")
        existing = self.catalog.by_sha256(sha)
        parsed = parse_file(path, max_bytes=self.settings.max_file_bytes)  # sidecar applied
        meta = parsed.meta
        source_key = str(path.resolve())
        prior = existing or self.catalog.by_source_key(source_key)
        record = {
            "sha256": sha,
            "filename": path.name,
            "source_key": source_key,
            "title": meta.title or path.stem,
            "doc_type": meta.doc_type,
            "language": meta.language,
            "published": meta.published,
            "countries": list(meta.countries),
            "programme": meta.programme,
            "source_url": meta.source_url,
            "source": meta.source,
            "format": parsed.format,
            "mime": parsed.mime,
            "page_count": parsed.page_count,
            "outline": [
                {"section": b.text, "level": b.level, "page": b.page} for b in parsed.blocks if b.kind == "title"
            ],
        }
        if existing is not None and all(getattr(existing, k) == record[k] for k in _META_FIELDS):
            reason = None if existing.source_key == source_key else f"same content as {existing.filename}"
            return FileResult(path, "unchanged", existing.id, existing.title, existing.passage_count, reason)
        doc_id = prior.id if prior is not None else self.catalog.new_doc_id()
        version = prior.version + 1 if prior is not None else 1
        doc_meta = {
            "doc_id": doc_id,
            "doc_version": version,
            "title": record["title"],
            "filename": record["filename"],
            "doc_type": record["doc_type"],
            "language": record["language"],
            "countries": record["countries"],
            "programme": record["programme"],
            "published": meta.published.isoformat() if meta.published else None,
            "year": meta.published.year if meta.published else None,
            "source_url": record["source_url"],
            "status": "published",
        }
        out = self.chunker.run(parsed=parsed, doc_meta=doc_meta)
        if not out["documents"]:
            raise IngestError(path, "no text could be extracted")
        prepared = _Prepared(path, data, sha, parsed, record | {"id": doc_id, "version": version}, prior,
                             out["documents"], out["text"])
        self._pending_sha[sha] = prepared
        return prepared

    def _index(self, batch: list[_Prepared]) -> list[FileResult]:
        if not batch:
            return []
        for p in batch:
            self._pending_sha.pop(p.sha256, None)
        documents = [d for p in batch for d in p.documents]
        try:
            self.pipeline.run({"embedder": {"documents": documents}})
        except Exception as exc:
            log.exception("embedding or writing failed")
            for p in batch:
                self._drop_version(p)
            return [FileResult(p.path, "failed", reason=f"indexing failed: {exc}") for p in batch]
        return [self._commit(p) for p in batch]

    def _commit(self, p: _Prepared) -> FileResult:
        """Switch the catalog to the new version, then drop the passages of older versions."""
        from kmh.catalog import DocumentRecord, store_original

        rec = p.record
        try:
            original = store_original(self.settings.data_dir, p.data, p.path.suffix.lower())
            fields = {k: v for k, v in rec.items() if k != "version"}
            record = DocumentRecord(**fields, original_path=str(original), passage_count=len(p.documents))
            if p.prior is None:
                self.catalog.add(record)
            else:
                stored = self.catalog.save_new_version(rec["id"], record)
                if stored.version != rec["version"]:
                    raise RuntimeError(f"version race: catalog at {stored.version}, passages at {rec['version']}")
        except Exception as exc:
            log.exception("catalog update failed for %s", p.path)
            self._drop_version(p)
            return FileResult(p.path, "failed", reason=f"catalog update failed: {exc}")
        self.store.delete(Filter(equals={"doc_id": rec["id"]}, not_equals={"doc_version": rec["version"]}))
        return FileResult(p.path, "updated" if p.prior else "new", rec["id"], rec["title"], len(p.documents))

    def _drop_version(self, p: _Prepared) -> None:
        try:
            self.store.delete(Filter(equals={"doc_id": p.record["id"], "doc_version": p.record["version"]}))
        except Exception:
            log.exception("could not remove the passages of a failed version of %s", p.path)


# Fields whose change (from an edited sidecar) re-indexes an unchanged file.
_META_FIELDS = ("title", "doc_type", "language", "published", "countries", "programme", "source_url", "source")
