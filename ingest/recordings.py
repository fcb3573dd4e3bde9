"""Seminars and recordings at ingestion: media file -> transcript -> a new version of its document.

A seminar manifest (ingest.seminar) is recorded in the catalog with its sessions. A recording's transcript is its
captions when it has some (WebVTT or SRT), else a kept transcript of the same media, language and speech model,
else faster-whisper's (which is then kept: re-ingesting never transcribes the same media twice). The pipeline cuts
it into windows at sentence ends, never across a session (ingest.components.transcripts).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, replace
from math import ceil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.components.transcripts import TranscriptSource, session_label
from ingest.media.captions import Cue, read_captions
from ingest.model import FileResult, IngestError, UnknownRecording
from ingest.plan import SeminarContext, WorkItem
from ingest.prepared import META_FIELDS, Prepared, passage_meta
from kmh.catalog import TranscriptRecord
from kmh.settings import Settings

if TYPE_CHECKING:
    from ingest.media.transcribe import Transcriber
    from ingest.media.audio import MediaInfo
    from ingest.model import Upload
    from kmh.catalog import Catalog, DocumentRecord, RecordingRecord, SeminarRecord

log = logging.getLogger(__name__)

# Fields of its catalogued document that a recording indexed again (its captions replaced) keeps.
KEPT_FIELDS = ("filename", "source_key", "title", "published", "published_precision", "countries", "programme",
               "source_url", "source")


class RecordingPreparer:
    """Seminars and recordings at ingestion: seminar manifests recorded, recordings' transcripts (the speech model
    loads on first need) and recordings prepared as new versions of their documents."""

    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings = settings
        self.catalog = catalog
        self._transcriber: Transcriber | None = None  # one speech model for every language (given per recording)

    # -- seminars ------------------------------------------------------------------------

    def seminar(self, item: WorkItem) -> FileResult:
        """Record a seminar and its sessions from its manifest (skipped when the manifest is unchanged)."""
        from ingest.seminar import seminar_record
        from kmh.catalog import sha256_bytes

        sha = sha256_bytes(item.path.read_bytes())
        record = seminar_record(item.manifest, item.path, sha)
        existing = self.catalog.seminar(record.id)
        if existing is not None and existing.manifest_sha256 == sha:
            return FileResult(item.path, "unchanged", None, record.title)
        self.catalog.save_seminar(record)
        return FileResult(item.path, "updated" if existing else "new", None, record.title)

    def seminar_context(self, rec: RecordingRecord) -> SeminarContext | None:
        """What a recording of a catalogued seminar takes from it (its sessions in this recording)."""
        from ingest.media.windows import Session

        sem = self.catalog.seminar(rec.seminar_id) if rec.seminar_id else None
        if sem is None:
            return None
        sessions = [x for x in sem.sessions if x.recording_key == rec.key and x.start is not None]
        if not sessions and rec.key:  # uploaded through the server: the whole recording is one session, or none
            return upload_context(sem, rec.key, rec.duration)
        return SeminarContext(sem.id, sem.title, sem.start_date,
                              [Session(x.number, x.start, x.end, tuple(sp["name"] for sp in x.speakers))
                               for x in sessions], {x.number: x.title for x in sessions}, rec.key)

    # -- recordings -----------------------------------------------------------------------

    def captions_item(self, doc_id: str, data: bytes, name: str) -> WorkItem:
        """The published recording ``doc_id`` with corrected captions (WebVTT or SRT, kept now) as its transcript,
        to index as its next version. Raises UnknownRecording, or CaptionError naming the line before anything is
        written."""
        from ingest.media.captions import parse_captions, sniff_captions
        from kmh.catalog import store_original

        doc, rec = self.catalog.get(doc_id), self.catalog.recording(doc_id)
        if doc is None or rec is None or doc.status != "published":
            raise UnknownRecording(doc_id)
        parse_captions(data, name)
        kept = store_original(self.settings.data_dir, data, ".srt" if sniff_captions(data) == "srt" else ".vtt")
        return WorkItem("recording", self.settings.data_dir / doc.original_path, language=rec.language,
                        captions=self.settings.data_dir / kept, seminar=self.seminar_context(rec), kept=doc)

    def prepare(self, item: WorkItem, progress: Callable[[float, float], None] | None = None
                ) -> Prepared | FileResult:
        """Probe the media and get its transcript: the recording as the next version of its document, or the
        FileResult saying it is unchanged. ``progress`` hears (seconds transcribed, seconds in all). Raises
        IngestError (naming the media or captions file)."""
        from ingest.metadata import read_sidecar
        from kmh.catalog import DocumentRecord, RecordingRecord, sha256_file

        path = item.path
        info = self._probe(item)
        sha = sha256_file(path)
        upload = item.upload
        existing = self.catalog.by_sha256(sha)
        if upload is not None and existing is not None:
            return FileResult(path, "failed", upload.doc_id, reason=f"same content as document {existing.id}")
        if upload is not None and upload.meta.get("seminar"):
            item = replace(item, seminar=self._upload_seminar(path, upload, info.duration))
        transcript = self.transcript(item, sha, info.duration, progress)
        sidecar = (read_sidecar(path) or {}) if item.seminar is None and upload is None else {}
        if upload is not None and upload.meta.get("title"):
            sidecar["title"] = upload.meta["title"]
        ctx = item.seminar
        if upload is not None:
            source_key = upload.source_key
            prior = self.catalog.get(upload.doc_id)
        else:
            source_key = str(path.resolve())
            prior = existing or self.catalog.by_source_key(source_key)
        published = ctx.published if ctx else sidecar.get("published")
        precision = "day" if ctx else sidecar.get("published_precision")
        record = DocumentRecord(
            sha256=sha,
            filename=upload.filename if upload is not None else path.name,
            source_key=source_key,
            title=media_title(item, sidecar),
            doc_type="recording",
            language=item.language,
            published=published,
            published_precision=precision if published else None,
            countries=list(sidecar.get("countries", [])),
            programme=sidecar.get("programme"),
            source_url=sidecar.get("source_url"),
            source=sidecar.get("source"),
            edition_of=sidecar.get("edition_of"),
            format=info.format,
            mime=info.mime,
            page_count=None,
            outline=[{"section": session_label(x.number, ctx.session_titles.get(x.number)), "level": 1,
                      "page": None, "start": x.start} for x in ctx.sessions] if ctx else [],
            original_path="",  # known at commit
        )
        if item.kept is not None:  # a recording indexed again from the catalog keeps its identity
            record = replace(record, **{f: getattr(item.kept, f) for f in KEPT_FIELDS})
        recording = RecordingRecord("", item.language, info.duration, transcript.id,
                                    ctx.seminar_id if ctx else None, ctx.recording_key if ctx else None,
                                    info.has_video)
        if existing is not None and all(getattr(existing, k) == getattr(record, k) for k in (*META_FIELDS, "outline")):
            kept = self.catalog.recording(existing.id)
            if kept is not None and (kept.transcript_id, kept.seminar_id, kept.key) == (
                    transcript.id, recording.seminar_id, recording.key):
                return FileResult(path, "unchanged", existing.id, existing.title, existing.passage_count)
        if prior is not None:
            record = replace(record, id=prior.id, version=prior.version + 1)
        else:
            record = replace(record, id=upload.doc_id if upload is not None else self.catalog.new_doc_id(), version=1)
        # Embedded in front of each passage with its section (the session): the seminar's title, not the
        # recording's description ("…four sessions, synthetic voices…"), which would pull every passage towards
        # questions about the recording itself. Hits show the catalog's title.
        meta = passage_meta(record, "published", title=ctx.title if ctx else None)
        source = TranscriptSource(path, transcript.cues, ctx, meta)
        window = (self.settings.segment_min_seconds + self.settings.segment_max_seconds) / 2
        return Prepared(path, b"", record, prior, source, max(1, ceil(info.duration / window)), recording=recording,
                        upload=upload)

    def transcribe_ahead(self, item: WorkItem, progress: Callable[[float, float], None] | None = None) -> None:
        """Probe the media and make and keep its transcript now (Whisper's, or its captions'), so that ``prepare``
        (under the server's write lock) finds it kept: hours of transcription hold no lock. Raises IngestError."""
        from kmh.catalog import sha256_file

        info = self._probe(item)
        self.transcript(item, sha256_file(item.path), info.duration, progress)

    def _probe(self, item: WorkItem) -> MediaInfo:
        """What ffprobe says of the media, within the limits of size and length. Raises IngestError."""
        from ingest.media.audio import check_whole, hms, probe

        path = item.path
        if not path.is_file():
            raise IngestError(path, "the recording's media file is missing" + (
                ": run `make setup` to synthesise it" if item.seminar is not None else ""))
        size = path.stat().st_size
        if size > self.settings.max_media_bytes:
            raise IngestError(path, f"file is {size / 2**20:.0f} MB, over the {self.settings.max_media_mb:g} MB "
                                    "limit for recordings (KMH_MAX_MEDIA_MB)")
        info = probe(path)  # IngestError when not media or without audio
        check_whole(path)
        if info.duration > self.settings.max_media_seconds:
            raise IngestError(path, f"recording lasts {hms(info.duration)}, over the "
                                    f"{hms(self.settings.max_media_seconds)} limit (KMH_MAX_MEDIA_SECONDS)")
        return info

    def _upload_seminar(self, path: Path, upload: Upload, duration: float) -> SeminarContext:
        """The seminar (and session) an uploaded recording belongs to, as its meta names them."""
        sem = self.catalog.seminar(upload.meta["seminar"])
        if sem is None:
            raise IngestError(path, f"the seminar {upload.meta['seminar']!r} is no longer in the catalog")
        session = upload.meta.get("session")
        return upload_context(sem, f"session-{session}" if session is not None else "upload", duration)

    def source(self, doc: DocumentRecord, rec: RecordingRecord, path: Path) -> TranscriptSource:
        """The catalogued recording ``doc`` (its current version) as the pipeline's source, from its kept
        transcript: `kmh check --repair` embeds it again."""
        transcript = self.catalog.transcript(rec.transcript_id)
        ctx = self.seminar_context(rec)
        meta = passage_meta(doc, doc.status, title=ctx.title if ctx is not None else None)
        return TranscriptSource(path, transcript.cues if transcript is not None else [], ctx, meta)

    # -- transcript -----------------------------------------------------------------------

    def model_signature(self) -> str:
        """Identifies the speech model and its options: a kept transcript is reused only for the same ones."""
        s = self.settings
        ident = {"model": str(s.whisper_model_path.name), "compute_type": s.whisper_compute_type,
                 "beam_size": s.whisper_beam_size, "vad": True}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

    def transcript(self, item: WorkItem, media_sha: str, duration: float,
                   progress: Callable[[float, float], None] | None = None) -> TranscriptRecord:
        """The recording's transcript, from its captions, kept, or made now (and kept). ``progress`` hears the
        seconds transcribed: all of them at once for captions or a kept transcript."""
        lang = item.language
        done = progress or (lambda _done, _total: None)
        if item.captions is not None:
            done(duration, duration)
            data = item.captions.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            kept = self.catalog.find_transcript(media_sha, lang, "captions", sha)
            if kept is not None:
                return kept
            cues = read_captions(item.captions)  # CaptionError names the file and line
            if duration and cues[0].start > duration + 1:
                raise IngestError(item.captions, f"the captions start at {cues[0].start:.0f} s, after the end of "
                                                 f"{item.path.name} ({duration:.0f} s)")
            return self.catalog.add_transcript(TranscriptRecord(media_sha, lang, "captions", sha,
                                                                [asdict(c) for c in cues]))
        signature = self.model_signature()
        kept = self.catalog.find_transcript(media_sha, lang, "whisper", signature)
        if kept is not None:
            log.info("%s: reusing its kept transcript", item.path.name)
            done(duration, duration)
            return kept
        cues = self._transcribe(item, duration, done)
        if not cues:
            raise IngestError(item.path, "no speech was recognised in the recording")
        return self.catalog.add_transcript(TranscriptRecord(media_sha, lang, "whisper", signature,
                                                            [asdict(c) for c in cues]))

    def _transcribe(self, item: WorkItem, duration: float, progress: Callable[[float, float], None]) -> list[Cue]:
        """Whisper's cues (or cues from its timed words); a silent or truncated file is refused once decoded, before
        Whisper runs (ingest.media.audio.check_sound)."""
        from ingest.media.audio import SAMPLE_RATE, check_sound, load_audio
        from ingest.media.transcribe import transcriber
        from ingest.media.windows import cues_from_words

        samples = load_audio(item.path, SAMPLE_RATE, self.settings.max_media_seconds)
        check_sound(item.path, samples, duration)
        progress(0.0, len(samples) / SAMPLE_RATE)
        if self._transcriber is None:
            self._transcriber = transcriber(self.settings, item.language)
            self._transcriber.warm_up()
        out = self._transcriber.run(audio=samples, duration=duration, language=item.language, progress=progress)
        log.info("%s: %.0f s of audio transcribed in %.0f s", item.path.name, out["seconds"], out["elapsed"])
        words = out["words"]
        return cues_from_words(words) if words else list(out["cues"])


def upload_context(sem: SeminarRecord, key: str, duration: float) -> SeminarContext:
    """The context of a recording uploaded to seminar ``sem``: under the key ``session-N`` it is the whole of session
    N (when the seminar has it), under any other key it has no session."""
    from ingest.media.windows import Session

    number = int(key.removeprefix("session-")) if key.startswith("session-") and key[8:].isdigit() else None
    found = next((x for x in sem.sessions if x.number == number), None)
    sessions = [Session(found.number, 0.0, duration + 60.0, tuple(sp["name"] for sp in found.speakers))
                ] if found is not None else []
    return SeminarContext(sem.id, sem.title, sem.start_date, sessions,
                          {found.number: found.title} if found is not None else {}, key,
                          found.title if found is not None else None)


def media_title(item: WorkItem, sidecar: dict[str, Any]) -> str:
    if sidecar.get("title"):
        return sidecar["title"]
    ctx = item.seminar
    if ctx is not None:
        return f"{ctx.title} · {ctx.recording_title}" if ctx.recording_title else ctx.title
    name = item.upload.filename if item.upload is not None else item.path.name
    return Path(name).stem.replace("_", " ").replace("-", " ")
