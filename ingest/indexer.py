"""Ingest files: parse, chunk, embed and index them, recording each document in the catalog.

``Indexer`` coordinates collaborators it is handed (or makes from the settings): ingest.documents prepares
documents, ingest.recordings seminars and recordings, ingest.topics the taxonomy and the decisions to carry over,
ingest.versions writes each prepared file as a new version through the ingest pipeline (ingest.pipeline),
ingest.editions links the language editions the sidecars name once the run's documents are catalogued.

Work is skipped by content hash: a file whose bytes are already in the catalog is left alone. A changed file
(same source, new bytes) becomes a new version of its document: its new passages are written first, then the
catalog switches to the new version in one transaction, then the old passages are deleted (ingest.versions).
Search only shows passages of a document's current version, so readers never see a half-replaced document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.components.chunker import PassageSource
from ingest.documents import DocumentPreparer
from ingest.editions import EditionLinks
from ingest.model import FileResult, IngestError, ParsedDocument, Progress, Status, UnknownRecording, Upload
from ingest.parse_ahead import ParseAhead
from ingest.pipeline import ingest_pipeline, run_batch
from ingest.plan import WorkItem, plan
from ingest.prepared import Indexed, Prepared, passage_meta
from ingest.recordings import RecordingPreparer
from ingest.topics import TopicLinks
from ingest.versions import VersionWriter
from kmh.settings import Settings
from kmh.store import Filter, VectorStore

if TYPE_CHECKING:
    from haystack import Pipeline

    from ingest.pending import PendingLog
    from kmh.catalog import Catalog, DocumentRecord
    from kmh.encoder import TokenEncoder

__all__ = ["FileResult", "Indexer", "Progress", "Status", "UnknownRecording", "Upload"]

log = logging.getLogger(__name__)


class Indexer:
    """Runs ingestion; the models load in warm_up()."""

    def __init__(self, settings: Settings, catalog: Catalog, store: VectorStore, *, encoder: TokenEncoder | None = None,
                 batch_passages: int = 256, documents: DocumentPreparer | None = None,
                 recordings: RecordingPreparer | None = None, topics: TopicLinks | None = None,
                 versions: VersionWriter | None = None, editions: EditionLinks | None = None):
        """``encoder``: a kmh.encoder.TokenEncoder to share (the tests load one for the session); else one is made
        from the settings. The collaborators are made from the settings unless given; ``versions`` brings its
        pipeline, else the pipeline is built here around ``topics``' component."""
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.batch_passages = batch_passages
        self.documents = documents or DocumentPreparer(settings, catalog)
        self.recordings = recordings or RecordingPreparer(settings, catalog)
        self.topics = topics or TopicLinks(settings, catalog, store)
        self.editions = editions or EditionLinks(catalog)
        self.versions = versions or VersionWriter(
            settings, catalog, store, ingest_pipeline(settings, store, encoder=encoder, topics=self.topics.component))

    @property
    def pipeline(self) -> Pipeline:
        """The ingest pipeline (ingest.pipeline): chunkers, decisions, BM25, embedder, writer, topics."""
        return self.versions.pipeline

    @property
    def pending(self) -> PendingLog | None:
        """The pending log of the versions written but not yet catalogued (ingest.pending); None: not kept."""
        return self.versions.pending

    @pending.setter
    def pending(self, log_: PendingLog | None) -> None:
        self.versions.pending = log_

    def warm_up(self) -> None:
        from kmh.embedding import configure_torch

        configure_torch(self.settings)  # KMH_TORCH_THREADS, before the model loads
        self.pipeline.warm_up()
        self.topics.fit()

    def close(self) -> None:
        """Stop the parse worker, if one was started; safe to call twice (a later run starts a new one)."""
        self.documents.close()

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def parse(self, path: Path) -> ParsedDocument:
        """Parse one document: in the parse worker (memory cap, time limit) unless KMH_PARSE_ISOLATION is false."""
        return self.documents.parse(path)

    # ------------------------------------------------------------------ run

    def run(self, paths: Iterable[Path], on_result: Callable[[FileResult], None] | None = None, *,
            language: str | None = None, items: list[WorkItem] | None = None) -> list[FileResult]:
        """Ingest ``paths`` (or the already planned ``items``): see ingest.plan for what each file becomes.
        ``language`` is the language of recordings that have no manifest or sidecar to say it."""
        if items is None:
            items = plan(list(paths), language)
        results: list[FileResult] = []
        pending: list[Prepared] = []

        def emit(r: FileResult) -> None:
            results.append(r)
            if on_result:
                on_result(r)

        # Three stages overlap: the parse worker reads the next documents (ParseAhead), a writer thread runs a batch
        # through the pipeline (chunk, embed, write), and this thread prepares the next batch and commits the one
        # before. Batches are cut on the passages expected, before the chunkers have run.
        with (ParseAhead(self.parse, items, max_bytes=self.settings.max_file_bytes) as ahead,
              ThreadPoolExecutor(1, thread_name_prefix="kmh-embed") as writer):
            in_flight: tuple[list[Prepared], Future] | None = None

            def flush(batch: list[Prepared]) -> None:
                nonlocal in_flight
                submitted = None
                if batch:
                    self.versions.begin(batch)
                    submitted = (batch, writer.submit(self.versions.write, batch))
                if in_flight is not None:
                    for r in self._index(*in_flight):
                        emit(r)
                in_flight = submitted

            for n, item in enumerate(items):
                if item.kind == "failed":
                    emit(FileResult(item.path, "failed", reason=item.reason))
                    continue
                try:
                    if item.kind in ("topics", "seminar"):
                        flush([])  # the batch being written is committed first, as it was before the writer thread
                        emit(self.topics.load(item.path) if item.kind == "topics" else self.recordings.seminar(item))
                        continue
                    if item.kind == "document":
                        prepared = self.documents.prepare(item.path, parsed=ahead.take(n))
                    else:
                        prepared = self.recordings.prepare(item)
                except IngestError as exc:
                    emit(FileResult(exc.path if item.kind == "recording" else item.path, "failed", reason=exc.reason))
                    continue
                except Exception as exc:  # a parser bug must not stop the batch
                    log.exception("unexpected error while preparing %s", item.path)
                    emit(FileResult(item.path, "failed", reason=f"unexpected error: {exc}"))
                    continue
                if isinstance(prepared, FileResult):
                    emit(prepared)
                    continue
                prepared.carried = self.topics.carried(prepared.prior)
                pending.append(prepared)
                if sum(p.expected_passages for p in pending) >= self.batch_passages:
                    flush(pending)
                    pending = []
            flush(pending)
            flush([])
        self.editions.resolve(results)  # all of the run is catalogued: either edition may have come first
        self.store.optimize()
        return results

    def _index(self, batch: list[Prepared], written: Future | None = None,
               progress: Progress | None = None) -> list[FileResult]:
        """Write ``batch`` through the pipeline (or take ``written``, the writer thread's doing so), then commit each
        file as its document's new version. A failure of the batch's writing fails its files only."""
        if not batch:
            return []
        try:
            if written is not None:
                indexed: list[Indexed] = written.result()
            else:
                self.versions.begin(batch)
                indexed = self.versions.write(batch, progress)
            if progress:
                n = sum(ix.passages for ix in indexed)
                progress("committing", n, n)
        except Exception as exc:
            log.exception("embedding or writing failed")
            for p in batch:
                self.documents.committed(p)
                self.versions.drop(p)
            return [FileResult(p.path, "failed", reason=f"indexing failed: {exc}") for p in batch]
        results = []
        for p, ix in zip(batch, indexed):
            results.append(self.versions.commit(p, ix))
            self.documents.committed(p)  # twins prepared from now on find it in the catalog
        return results

    # ------------------------------------------------------------------ uploads and captions

    def publish(self, path: Path, upload: Upload, progress: Progress | None = None) -> FileResult:
        """Ingest one uploaded file as document ``upload.doc_id``: its first version, or the next one when the
        document exists. The old passages are replaced only once the new ones are written and catalogued."""
        report = progress or (lambda stage, done, total: None)
        report("parsing", 0, 1)
        try:
            prepared = self.documents.prepare(path, upload)
        except IngestError as exc:
            return FileResult(path, "failed", upload.doc_id, reason=exc.reason)
        finally:
            self.documents.forget()
        if isinstance(prepared, FileResult):
            return prepared
        prepared.carried = self.topics.carried(prepared.prior)
        (result,) = self._index([prepared], progress=report)
        self.editions.resolve([result])  # a sidecar of an earlier ingest may name this file
        self.store.optimize()
        return result

    def transcribe_recording(self, path: Path, upload: Upload, *, language: str, captions: Path | None = None,
                             progress: Progress | None = None) -> None:
        """Make and keep the transcript of an uploaded recording (``progress`` hears ("transcribing", seconds done,
        seconds in all)) without the write lock: ``publish_recording`` then finds it kept. Raises IngestError."""
        report = progress or (lambda stage, done, total: None)
        item = WorkItem("recording", path, language=language, captions=captions, upload=upload)
        self.recordings.transcribe_ahead(item, lambda done, total: report("transcribing", round(done), round(total)))

    def publish_recording(self, path: Path, upload: Upload, *, language: str, captions: Path | None = None,
                          progress: Progress | None = None) -> FileResult:
        """Ingest one uploaded recording as document ``upload.doc_id`` (its first version or the next one): its
        captions as its transcript, else Whisper's in ``language``. ``progress`` hears ("transcribing", seconds
        done, seconds in all), then the pipeline's stages."""
        report = progress or (lambda stage, done, total: None)
        item = WorkItem("recording", path, language=language, captions=captions, upload=upload)
        try:
            prepared = self.recordings.prepare(
                item, lambda done, total: report("transcribing", round(done), round(total)))
        except IngestError as exc:
            return FileResult(path, "failed", upload.doc_id, reason=exc.reason)
        if isinstance(prepared, FileResult):
            return prepared
        prepared.carried = self.topics.carried(prepared.prior)
        (result,) = self._index([prepared], progress=report)
        self.store.optimize()
        return result

    def replace_captions(self, doc_id: str, data: bytes, name: str) -> FileResult:
        """Corrected captions (WebVTT or SRT) for a recording: they become its transcript, in a new version.

        Raises UnknownRecording, or CaptionError naming the line before anything is written.
        """
        item = self.recordings.captions_item(doc_id, data, name)
        prepared = self.recordings.prepare(item)
        if isinstance(prepared, FileResult):
            return prepared
        (result,) = self._index([prepared])
        return result

    # ------------------------------------------------------------------ repair

    def rebuild(self, doc: DocumentRecord) -> int:
        """Embed and write again the passages of a catalogued document's current version (``doc``) from its kept
        original, under the same passage ids; its checks are replaced. Used by `kmh check --repair` for passages
        missing or damaged in the index. Returns the number of passages."""
        path = self.settings.data_dir / doc.original_path
        if not path.is_file():
            raise IngestError(path, f"the kept original of {doc.title!r} ({doc.id}) is missing")
        rec = self.catalog.recording(doc.id) if doc.doc_type == "recording" else None
        if rec is not None:
            source = self.recordings.source(doc, rec, path)
        else:
            source = PassageSource(self.parse(path), passage_meta(doc, doc.status))
        confirmed: dict[str, list[str]] = {}
        for lk in self.catalog.links_of_document(doc.id):
            if lk.state == "confirmed" and lk.doc_version == doc.version:
                confirmed.setdefault(lk.passage_id, []).append(lk.topic_id)
        (indexed,) = run_batch(self.pipeline, [Prepared(path, b"", doc, None, source, doc.passage_count)],
                               confirmed=confirmed)
        if indexed.error is not None:
            raise indexed.error
        stale = Filter(equals={"doc_id": doc.id, "doc_version": doc.version},
                       ranges={"index": (indexed.passages, None)})
        if self.store.count(stale):  # a different cut (other chunk settings): the passages past the new last one go
            self.store.delete(stale)
        self.catalog.replace_checks(doc.id, doc.version, indexed.checks, passage_count=indexed.passages)
        return indexed.passages
