"""Ingest files: parse, chunk, embed and index them, recording each document in the catalog.

Work is skipped by content hash: a file whose bytes are already in the catalog is left
alone. A changed file (same source, new bytes) becomes a new version of its document:
its new passages are written first, then the catalog switches to the new version in one
transaction, then the old passages are deleted. Search only shows passages of a
document's current version, so readers never see a half-replaced document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from haystack import Document, Pipeline

from ingest.components.chunker import PassageChunker
from ingest.components.passages import PassageEmbedder
from ingest.components.sparse import Bm25DocumentEncoder
from ingest.components.writer import PassageWriter
from ingest.model import IngestError, ParsedDocument
from ingest.parse_ahead import ParseAhead
from ingest.plan import SeminarContext, WorkItem, plan
from kmh.dates import partial_date_text
from kmh.settings import Settings
from kmh.store import Filter, VectorStore

log = logging.getLogger(__name__)

Status = Literal["new", "updated", "unchanged", "failed"]


class UnknownRecording(LookupError):
    """No published recording with this document id."""

    def __init__(self, doc_id: str):
        super().__init__(f"no recording with id {doc_id!r}")
        self.doc_id = doc_id


@dataclass
class FileResult:
    path: Path
    status: Status
    doc_id: str | None = None
    title: str | None = None
    passages: int = 0
    reason: str | None = None


@dataclass
class Upload:
    """A file published through the API: its document id (reserved at upload, or the document it updates), the
    name it was uploaded under and the metadata given with it (validated sidecar-style fields; they win over
    what is inferred from the text)."""

    doc_id: str
    filename: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from datetime import date

        if isinstance(self.meta.get("published"), str):  # as kept in the job (JSON)
            self.meta["published"] = date.fromisoformat(self.meta["published"])
            self.meta.setdefault("published_precision", "day")

    @property
    def source_key(self) -> str:
        return f"upload:{self.doc_id}"


Progress = Callable[[str, int, int], None]  # (stage, done, total)


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
    recording: Any = None  # RecordingRecord (doc_id filled at commit) for recordings
    suggestions: list[tuple[str, str, float]] = field(default_factory=list)  # (passage_id, topic_id, score)
    decisions: list[Any] = field(default_factory=list)  # organisers' topic decisions carried from the prior version
    checks: list[Any] = field(default_factory=list)  # PassageCheckRecords of the passages written (kmh.catalog.checks)


class Indexer:
    """Runs ingestion; the embedder loads once, in warm_up()."""

    def __init__(self, settings: Settings, catalog, store: VectorStore, *, encoder=None, batch_passages: int = 256):
        """``encoder``: a kmh.encoder.TokenEncoder to share (the tests load one for the session); else one is made
        from the settings."""
        from kmh.embedding import token_encoder

        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.batch_passages = batch_passages
        self._pending_sha: dict[str, _Prepared] = {}  # files parsed but not yet committed, by content hash
        self.topics = None  # kmh.topics.TopicSuggester once a taxonomy is known (warm_up)
        self.recordings = None  # ingest.recordings.RecordingPreparer, made on the first recording
        self._query_embedder = None  # embeds the topics (kmh.topics), loaded with the first taxonomy
        self._sandbox = None  # ingest.sandbox.ParseSandbox, started on the first document (KMH_PARSE_ISOLATION)
        # ingest.pending.PendingLog: the versions written but not yet catalogued, for `kmh ingest` to settle after a
        # crash (the server's jobs say it themselves); None: not kept
        self.pending = None
        self.chunker = PassageChunker(settings.chunk_min_words, settings.chunk_max_words, settings.chunk_overlap_words,
                                      timeout_s=settings.parse_timeout_s)
        self.sentences = settings.sentence_ranking and store.has_sentences
        if settings.sentence_ranking and not store.has_sentences:
            log.warning("the vector store has no sentence vectors (it was created before they existed): passages are "
                        "indexed without them; re-create the index to use the sentence ranking")
        self.pipeline = Pipeline()
        self.pipeline.add_component("embedder", PassageEmbedder(
            encoder or token_encoder(settings), prefix=settings.passage_prefix,
            sentences=settings.sentence_vectors if self.sentences else None))
        self.pipeline.add_component("sparse", Bm25DocumentEncoder())
        self.pipeline.add_component("writer", PassageWriter(store))
        self.pipeline.connect("embedder.documents", "sparse.documents")
        self.pipeline.connect("sparse.documents", "writer.documents")

    def warm_up(self) -> None:
        from kmh.embedding import configure_torch

        configure_torch(self.settings)  # KMH_TORCH_THREADS, before the model loads
        self.pipeline.warm_up()
        self._fit_topics()

    def close(self) -> None:
        """Stop the parse worker, if one was started; safe to call twice (a later run starts a new one)."""
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.close()

    def __enter__(self) -> "Indexer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def parse(self, path: Path) -> ParsedDocument:
        """Parse one document: in the parse worker (memory cap, time limit) unless KMH_PARSE_ISOLATION is false."""
        s = self.settings
        if not s.parse_isolation:
            from ingest.parsers import parse_file

            return parse_file(path, max_bytes=s.max_file_bytes, max_pages=s.max_pages)
        if self._sandbox is None:
            from ingest.sandbox import ParseSandbox

            self._sandbox = ParseSandbox.from_settings(s)
        return self._sandbox.parse(path)

    def _fit_topics(self) -> None:
        """The topic suggester over the catalog's taxonomy (None while there is none)."""
        from kmh.topics import Topic, TopicSuggester

        records = self.catalog.topics()
        if not records:
            self.topics = None
            return
        topics = [Topic(r.id, {"fr": r.label_fr, "en": r.label_en}, {"fr": r.description_fr, "en": r.description_en},
                        r.parent, r.grp) for r in records]
        s = self.settings
        suggester = TopicSuggester(topics, threshold=s.topic_threshold, max_per_passage=s.topic_max_per_passage)
        suggester.fit(self._topic_embedder())
        self.topics = suggester

    def _topic_embedder(self):
        """Topics are embedded as e5 queries (see kmh.topics): the query encoder, loaded when first needed."""
        if self._query_embedder is None:
            from kmh.embedding import text_embedder

            self._query_embedder = text_embedder(self.settings)
            self._query_embedder.warm_up()
        return self._query_embedder

    # ------------------------------------------------------------------ topics and seminars

    def _topics(self, path: Path) -> FileResult:
        """Load a topic taxonomy file into the catalog (it replaces the previous one)."""
        from kmh.catalog import TopicRecord
        from kmh.topics import TopicsError, load_topics

        try:
            topics = load_topics(path)
        except TopicsError as exc:
            raise IngestError(path, exc.reason) from None
        records = [TopicRecord(t.id, t.label["fr"], t.label["en"], t.description["fr"], t.description["en"],
                               t.parent, t.group) for t in topics]
        first = not self.catalog.topics()
        counts = self.catalog.replace_topics(records)
        changed = any(counts.values())
        if changed or self.topics is None:
            self._fit_topics()
        if changed:
            self._suggest_again()
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no change"
        status = "new" if first else "updated" if changed else "unchanged"
        return FileResult(path, status, None, f"topics: {len(records)} ({summary})")

    def _suggest_again(self) -> int:
        """Suggest topics again for every passage already indexed (the taxonomy changed), from their stored
        vectors; organisers' decisions are kept. Returns how many passages were scored."""
        import numpy as np

        from kmh.store import Filter

        done = 0
        for doc in self.catalog.every(page=200) if self.topics is not None else ():
            ids = self.store.ids(Filter(equals={"doc_id": doc.id, "doc_version": doc.version}))
            vectors = self.store.dense_vectors(ids)
            ids = [i for i in ids if i in vectors]
            found = self.topics.suggest(np.asarray([vectors[i] for i in ids], dtype=np.float32)) if ids else []
            self.catalog.replace_suggestions(doc.id, doc.version, [
                (pid, topic_id, score) for pid, best in zip(ids, found) for topic_id, score in best])
            done += len(ids)
        log.info("topics suggested again for %d passages", done)
        return done

    def _seminar(self, item: WorkItem) -> FileResult:
        """Record a seminar and its sessions from its manifest (skipped when the manifest is unchanged)."""
        from kmh.catalog import sha256_bytes
        from ingest.seminar import seminar_record

        sha = sha256_bytes(item.path.read_bytes())
        record = seminar_record(item.manifest, item.path, sha)
        existing = self.catalog.seminar(record.id)
        if existing is not None and existing.manifest_sha256 == sha:
            return FileResult(item.path, "unchanged", None, record.title)
        self.catalog.save_seminar(record)
        return FileResult(item.path, "updated" if existing else "new", None, record.title)

    def replace_captions(self, doc_id: str, data: bytes, name: str) -> FileResult:
        """Corrected captions (WebVTT or SRT) for a recording: they become its transcript, in a new version.

        Raises UnknownRecording, or CaptionError naming the line before anything is written.
        """
        from ingest.media.captions import parse_captions, sniff_captions
        from kmh.catalog import store_original

        doc, rec = self.catalog.get(doc_id), self.catalog.recording(doc_id)
        if doc is None or rec is None or doc.status != "published":
            raise UnknownRecording(doc_id)
        parse_captions(data, name)
        kept = store_original(self.settings.data_dir, data, ".srt" if sniff_captions(data) == "srt" else ".vtt")
        fields = ("filename", "source_key", "title", "published", "published_precision", "countries", "programme",
                  "source_url", "source")
        item = WorkItem("recording", self.settings.data_dir / doc.original_path, language=rec.language,
                        captions=self.settings.data_dir / kept, seminar=self._seminar_context(rec),
                        extra={"record": {f: getattr(doc, f) for f in fields}})
        prepared = self._prepare_recording(item)
        if isinstance(prepared, FileResult):
            return prepared
        (result,) = self._index([prepared])
        return result

    def _seminar_context(self, rec) -> SeminarContext | None:
        """What a recording of a catalogued seminar takes from it (its sessions in this recording)."""
        from ingest.media.windows import Session

        sem = self.catalog.seminar(rec.seminar_id) if rec.seminar_id else None
        if sem is None:
            return None
        sessions = [x for x in sem.sessions if x.recording_key == rec.key and x.start is not None]
        return SeminarContext(sem.id, sem.title, sem.start_date,
                              [Session(x.number, x.start, x.end, tuple(sp["name"] for sp in x.speakers))
                               for x in sessions], {x.number: x.title for x in sessions}, rec.key)

    def _prepare_recording(self, item: WorkItem) -> _Prepared | FileResult:
        """Probe the media, get its transcript and cut it into passages (embedded later, with the batch)."""
        from ingest.media.audio import probe
        from ingest.metadata import read_sidecar
        from ingest.recordings import RecordingPreparer, media_title, session_label
        from kmh.catalog import RecordingRecord, sha256_file

        path = item.path
        if not path.is_file():
            raise IngestError(path, "the recording's media file is missing" + (
                ": run `make setup` to synthesise it" if item.seminar is not None else ""))
        size = path.stat().st_size
        if size > self.settings.max_media_bytes:
            raise IngestError(path, f"file is {size / 2**20:.0f} MB, over the {self.settings.max_media_mb:g} MB "
                                    "limit for recordings")
        info = probe(path)  # IngestError when not media or without audio
        sha = sha256_file(path)
        if self.recordings is None:
            self.recordings = RecordingPreparer(self.settings, self.catalog)
        transcript = self.recordings.transcript(item, sha, info.duration)
        sidecar = (read_sidecar(path) or {}) if item.seminar is None else {}
        ctx = item.seminar
        source_key = str(path.resolve())
        existing = self.catalog.by_sha256(sha)
        prior = existing or self.catalog.by_source_key(source_key)
        published = ctx.published if ctx else sidecar.get("published")
        precision = "day" if ctx else sidecar.get("published_precision")
        keep = item.extra.get("record", {})  # a recording re-indexed from the catalog keeps its identity
        if "published" in keep:
            published, precision = keep["published"], keep.get("published_precision")
        if "source_key" in keep:
            source_key = keep["source_key"]
        record = {
            "sha256": sha,
            "filename": path.name,
            "source_key": source_key,
            "title": media_title(item, sidecar),
            "doc_type": "recording",
            "language": item.language,
            "published": published,
            "published_precision": precision if published else None,
            "countries": list(sidecar.get("countries", [])),
            "programme": sidecar.get("programme"),
            "source_url": sidecar.get("source_url"),
            "source": sidecar.get("source"),
            "format": info.format,
            "mime": info.mime,
            "page_count": None,
            "outline": [{"section": session_label(x.number, ctx.session_titles.get(x.number)), "level": 1,
                         "page": None, "start": x.start} for x in ctx.sessions] if ctx else [],
        } | keep
        recording = RecordingRecord("", item.language, info.duration, transcript.id,
                                    ctx.seminar_id if ctx else None, ctx.recording_key if ctx else None,
                                    info.has_video)
        if existing is not None and all(getattr(existing, k) == record[k] for k in _META_FIELDS + ("outline",)):
            kept = self.catalog.recording(existing.id)
            if kept is not None and (kept.transcript_id, kept.seminar_id, kept.key) == (
                    transcript.id, recording.seminar_id, recording.key):
                return FileResult(path, "unchanged", existing.id, existing.title, existing.passage_count)
        doc_id = prior.id if prior is not None else self.catalog.new_doc_id()
        version = prior.version + 1 if prior is not None else 1
        doc_meta = {
            "doc_id": doc_id,
            "doc_version": version,
            "sha256": sha,  # the kept original the passages come from: `kmh check --repair` rebuilds a lost catalog
            # Embedded in front of each passage with its section (the session): the seminar's title, not the
            # recording's description ("…four sessions, synthetic voices…"), which would pull every passage
            # towards questions about the recording itself. Hits show the catalog's title.
            "title": ctx.title if ctx else record["title"],
            "filename": record["filename"],
            "doc_type": "recording",
            "language": item.language,
            "countries": record["countries"],
            "programme": record["programme"],
            "published": partial_date_text(published, precision),
            "year": published.year if published else None,
            "source_url": record["source_url"],
            "status": "published",
        }
        documents = self.recordings.documents(item, transcript, doc_meta)
        if not documents:
            raise IngestError(path, "the transcript has no text")
        prepared = _Prepared(path, b"", sha, None, record | {"id": doc_id, "version": version}, prior, documents,
                             " ".join(d.content for d in documents), recording=recording)
        return prepared

    # ------------------------------------------------------------------ uploads

    def publish(self, path: Path, upload: Upload, progress: Progress | None = None) -> FileResult:
        """Ingest one uploaded file as document ``upload.doc_id``: its first version, or the next one when the
        document exists. The old passages are replaced only once the new ones are written and catalogued."""
        report = progress or (lambda stage, done, total: None)
        report("parsing", 0, 1)
        try:
            prepared = self._prepare(path, upload)
        except IngestError as exc:
            return FileResult(path, "failed", upload.doc_id, reason=exc.reason)
        finally:
            self._pending_sha.clear()
        if isinstance(prepared, FileResult):
            return prepared
        self._carry_decisions(prepared)
        (result,) = self._index([prepared], progress=report)
        self.store.optimize()
        return result

    # ------------------------------------------------------------------ run

    def run(self, paths: Iterable[Path], on_result: Callable[[FileResult], None] | None = None, *,
            language: str | None = None, items: list[WorkItem] | None = None) -> list[FileResult]:
        """Ingest ``paths`` (or the already planned ``items``): see ingest.plan for what each file becomes.
        ``language`` is the language of recordings that have no manifest or sidecar to say it."""
        if items is None:
            items = plan(list(paths), language)
        results: list[FileResult] = []
        pending: list[_Prepared] = []

        def emit(r: FileResult) -> None:
            results.append(r)
            if on_result:
                on_result(r)

        # Three stages overlap: the parse worker reads the next documents (ParseAhead), a writer thread embeds and
        # writes a batch (the pipeline), and this thread chunks, checks the catalog and commits the batch before.
        with ParseAhead(self, items) as ahead, ThreadPoolExecutor(1, thread_name_prefix="kmh-embed") as writer:
            in_flight: tuple[list[_Prepared], Future] | None = None

            def flush(batch: list[_Prepared]) -> None:
                nonlocal in_flight
                submitted = (batch, writer.submit(self._write, self._begin(batch))) if batch else None
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
                        emit(self._topics(item.path) if item.kind == "topics" else self._seminar(item))
                        continue
                    if item.kind == "document":
                        prepared = self._prepare(item.path, parsed=ahead.take(n))
                    else:
                        prepared = self._prepare_recording(item)
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
                self._carry_decisions(prepared)
                pending.append(prepared)
                if sum(len(p.documents) for p in pending) >= self.batch_passages:
                    flush(pending)
                    pending = []
            flush(pending)
            flush([])
        self.store.optimize()
        return results

    # -------------------------------------------------------------- stages

    def _prepare(self, path: Path, upload: Upload | None = None,
                 parsed: Callable[[], ParsedDocument] | None = None) -> _Prepared | FileResult:
        """``parsed``: gives the parse already under way in the parse worker (ParseAhead), else it is parsed here."""
        from ingest.metadata import infer_meta
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
        if upload is not None and existing is not None:
            return FileResult(path, "failed", upload.doc_id, reason=f"same content as document {existing.id}")
        parsed = parsed() if parsed is not None else self.parse(path)  # sidecar applied
        if upload is not None:
            parsed.meta = infer_meta(parsed.blocks, upload.meta)
            source_key = upload.source_key
            prior = self.catalog.get(upload.doc_id)
        else:
            source_key = str(path.resolve())
            prior = existing or self.catalog.by_source_key(source_key)
        meta = parsed.meta
        record = {
            "sha256": sha,
            "filename": upload.filename if upload else path.name,
            "source_key": source_key,
            "title": meta.title or path.stem,
            "doc_type": meta.doc_type,
            "language": meta.language,
            "published": meta.published,
            "published_precision": meta.published_precision if meta.published else None,
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
        if prior is not None:
            doc_id, version = prior.id, prior.version + 1
        else:
            doc_id, version = (upload.doc_id if upload else self.catalog.new_doc_id()), 1
        doc_meta = {
            "doc_id": doc_id,
            "doc_version": version,
            "sha256": sha,  # the kept original the passages come from: `kmh check --repair` rebuilds a lost catalog
            "title": record["title"],
            "filename": record["filename"],
            "doc_type": record["doc_type"],
            "language": record["language"],
            "countries": record["countries"],
            "programme": record["programme"],
            "published": partial_date_text(meta.published, meta.published_precision),
            "year": meta.published.year if meta.published else None,
            "source_url": record["source_url"],
            "status": prior.status if prior is not None else "published",
        }
        out = self.chunker.run(parsed=parsed, doc_meta=doc_meta)
        if not out["documents"]:
            raise IngestError(path, "no text could be extracted")
        prepared = _Prepared(path, data, sha, parsed, record | {"id": doc_id, "version": version}, prior,
                             out["documents"], out["text"])
        self._pending_sha[sha] = prepared
        return prepared

    def _begin(self, batch: list[_Prepared]) -> list[Document]:
        """The passages of ``batch``, its versions noted as written-but-not-catalogued first (crash recovery)."""
        if self.pending is not None:
            self.pending.add((p.record["id"], p.record["version"]) for p in batch)
        return [d for p in batch for d in p.documents]

    def _write(self, documents: list[Document], progress: Progress | None = None) -> list[Document]:
        """Embed and write passages through the pipeline (in slices of 64 when ``progress`` wants to hear about
        them); the embedded passages back."""
        step = min(64, self.batch_passages) if progress else max(len(documents), 1)
        embedded: list[Document] = []
        for start in range(0, len(documents), step):
            if progress:
                progress("embedding", start, len(documents))
            out = self.pipeline.run({"embedder": {"documents": documents[start:start + step]}},
                                    include_outputs_from={"embedder"})
            embedded += out["embedder"]["documents"]
        return embedded

    def _index(self, batch: list[_Prepared], written: Future | None = None,
               progress: Progress | None = None) -> list[FileResult]:
        """Embed and write the passages of ``batch`` (or take ``written``, the writer thread's doing so), then commit
        each document."""
        if not batch:
            return []
        try:
            embedded = written.result() if written is not None else self._write(self._begin(batch), progress)
            if progress:
                n = sum(len(p.documents) for p in batch)
                progress("committing", n, n)
            self._suggest(batch, embedded)
            self._fingerprint(batch, embedded)
        except Exception as exc:
            log.exception("embedding or writing failed")
            for p in batch:
                self._pending_sha.pop(p.sha256, None)
                self._drop_version(p)
            return [FileResult(p.path, "failed", reason=f"indexing failed: {exc}") for p in batch]
        results = []
        for p in batch:
            results.append(self._commit(p))
            self._pending_sha.pop(p.sha256, None)  # twins prepared from now on find it in the catalog
        return results

    def _commit(self, p: _Prepared) -> FileResult:
        """Switch the catalog to the new version, then drop the passages of older versions."""
        from kmh.catalog import DocumentRecord, original_relpath, store_original, store_original_file

        rec = p.record
        suffix = p.path.suffix.lower()
        kept = original_relpath(p.sha256, suffix)
        new_original = not (self.settings.data_dir / kept).is_file()  # else another version or document keeps it
        try:
            if p.recording is not None:  # media: copied from the file, not held in memory
                original = store_original_file(self.settings.data_dir, p.path, p.sha256, suffix)
            else:
                original = store_original(self.settings.data_dir, p.data, suffix)
            fields = {k: v for k, v in rec.items() if k != "version"}
            record = DocumentRecord(**fields, original_path=str(original), passage_count=len(p.documents))
            extras = {"recording": p.recording, "suggestions": p.suggestions, "decisions": p.decisions,
                      "checks": p.checks}
            if p.prior is None:
                self.catalog.add(record, **extras)
            else:
                stored = self.catalog.save_new_version(rec["id"], record, **extras)
                if stored.version != rec["version"]:
                    raise RuntimeError(f"version race: catalog at {stored.version}, passages at {rec['version']}")
        except Exception as exc:
            log.exception("catalog update failed for %s", p.path)
            self._drop_version(p)
            if new_original:  # kept for this version only, which the catalog never recorded
                (self.settings.data_dir / kept).unlink(missing_ok=True)
            return FileResult(p.path, "failed", reason=f"catalog update failed: {exc}")
        self.store.delete(Filter(equals={"doc_id": rec["id"]}, not_equals={"doc_version": rec["version"]}))
        if self.pending is not None:
            self.pending.done(rec["id"], rec["version"])
        return FileResult(p.path, "updated" if p.prior else "new", rec["id"], rec["title"], len(p.documents))

    def _carry_decisions(self, p: _Prepared) -> None:
        """Organisers' topic decisions on the prior version's passages, moved to the new passages: a document
        passage with the same text, or the recording passage that overlaps most in time (at least half of the
        shorter of the two). Confirmed topics go into the new passages' payload at once."""
        from dataclasses import replace as copy_with

        if p.prior is None or not p.documents:
            return
        decided = [lk for lk in self.catalog.links_of_document(p.prior.id) if lk.state != "suggested"]
        if not decided:
            return
        old = {h.id: h.payload for h in self.store.retrieve(list({lk.passage_id for lk in decided}),
                                                             fields=("text", "start", "end", "kind"))}
        by_text = {d.content: d for d in p.documents}

        def successor(payload: dict) -> Document | None:
            if payload.get("kind") != "recording":
                return by_text.get(payload.get("text"))
            a, b = payload.get("start"), payload.get("end")
            if a is None or b is None:
                return None
            best, overlap = None, 0.0
            for d in p.documents:
                o = min(b, d.meta["end"]) - max(a, d.meta["start"])
                if o > overlap:
                    best, overlap = d, o
            shorter = min(b - a, best.meta["end"] - best.meta["start"]) if best is not None else 0.0
            return best if best is not None and overlap >= shorter / 2 else None

        for lk in decided:
            new = successor(old[lk.passage_id]) if lk.passage_id in old else None
            if new is None:
                continue
            p.decisions.append(copy_with(lk, passage_id=new.id, doc_version=p.record["version"]))
            if lk.state == "confirmed":
                new.meta["topics"] = sorted({*new.meta.get("topics", []), lk.topic_id})

    def _suggest(self, batch: list[_Prepared], embedded: list[Document]) -> None:
        """Topics suggested for each passage, by similarity of its vector to the topics' (see kmh.topics)."""
        if self.topics is None or not embedded:
            return
        import numpy as np

        by_id = {d.id: d.embedding for d in embedded}
        for p in batch:
            ids = [d.id for d in p.documents if by_id.get(d.id) is not None]
            if ids:
                found = self.topics.suggest(np.asarray([by_id[i] for i in ids], dtype=np.float32))
                p.suggestions = [(pid, topic_id, score) for pid, best in zip(ids, found) for topic_id, score in best]

    def _fingerprint(self, batch: list[_Prepared], embedded: list[Document]) -> None:
        """Each passage's check (a sketch of the dense vector as written, a digest of its text), for the catalog."""
        from kmh.catalog import passage_check

        by_id = {d.id: d.embedding for d in embedded}
        for p in batch:
            rec = p.record
            p.checks = [passage_check(d.id, rec["id"], rec["version"], by_id[d.id], d.content)
                        for d in p.documents if by_id.get(d.id) is not None]

    # ------------------------------------------------------------------ repair

    def rebuild(self, doc) -> int:
        """Embed and write again the passages of a catalogued document's current version (``doc``, a
        DocumentRecord) from its kept original, under the same passage ids; its checks are replaced. Used by
        `kmh check --repair` for passages missing or damaged in the index. Returns the number of passages."""
        path = self.settings.data_dir / doc.original_path
        if not path.is_file():
            raise IngestError(path, f"the kept original of {doc.title!r} ({doc.id}) is missing")
        doc_meta = {
            "doc_id": doc.id,
            "doc_version": doc.version,
            "sha256": doc.sha256,
            "title": doc.title,
            "filename": doc.filename,
            "doc_type": doc.doc_type,
            "language": doc.language,
            "countries": list(doc.countries),
            "programme": doc.programme,
            "published": doc.published_text,
            "year": doc.published.year if doc.published else None,
            "source_url": doc.source_url,
            "status": doc.status,
        }
        rec = self.catalog.recording(doc.id) if doc.doc_type == "recording" else None
        if rec is not None:
            from ingest.recordings import RecordingPreparer

            transcript = self.catalog.transcript(rec.transcript_id)
            ctx = self._seminar_context(rec)
            if ctx is not None:
                doc_meta["title"] = ctx.title
            if self.recordings is None:
                self.recordings = RecordingPreparer(self.settings, self.catalog)
            item = WorkItem("recording", path, language=rec.language, seminar=ctx)
            documents = self.recordings.documents(item, transcript, doc_meta)
        else:
            parsed = self.parse(path)
            documents = self.chunker.run(parsed=parsed, doc_meta=doc_meta)["documents"]
        if not documents:
            raise IngestError(path, "no text could be extracted")
        confirmed: dict[str, list[str]] = {}
        for lk in self.catalog.links_of_document(doc.id):
            if lk.state == "confirmed" and lk.doc_version == doc.version:
                confirmed.setdefault(lk.passage_id, []).append(lk.topic_id)
        for d in documents:
            if d.id in confirmed:
                d.meta["topics"] = sorted(confirmed[d.id])
        version = Filter(equals={"doc_id": doc.id, "doc_version": doc.version})
        kept = {d.id for d in documents}
        if any(i not in kept for i in self.store.ids(version)):  # a different cut (other chunk settings): start clean
            self.store.delete(version)
        out = self.pipeline.run({"embedder": {"documents": documents}}, include_outputs_from={"embedder"})
        prepared = _Prepared(path, b"", doc.sha256, None, {"id": doc.id, "version": doc.version}, None, documents)
        self._fingerprint([prepared], out["embedder"]["documents"])
        self.catalog.replace_checks(doc.id, doc.version, prepared.checks, passage_count=len(documents))
        return len(documents)

    def _drop_version(self, p: _Prepared) -> None:
        try:
            self.store.delete(Filter(equals={"doc_id": p.record["id"], "doc_version": p.record["version"]}))
        except Exception:
            log.exception("could not remove the passages of a failed version of %s", p.path)
            return  # left in the pending log: the next run removes them
        if self.pending is not None:
            self.pending.done(p.record["id"], p.record["version"])


# Fields whose change (from an edited sidecar) re-indexes an unchanged file.
_META_FIELDS = ("title", "doc_type", "language", "published", "countries", "programme", "source_url", "source")
