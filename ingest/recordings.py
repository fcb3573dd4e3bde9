"""Recordings: media file -> transcript -> windows of 30 to 60 seconds -> passage Documents.

The transcript is the recording's captions when it has some (WebVTT or SRT), else a kept transcript of the
same media, language and speech model, else faster-whisper's (which is then kept: re-ingesting never
transcribes the same media twice). Its cues are cut into windows at sentence ends, never across a session.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from haystack import Document

from kmh.ids import passage_id
from ingest.components.sentences import SENTENCE_SPANS
from ingest.media.captions import Cue, read_captions
from ingest.media.windows import Windower
from ingest.model import IngestError
from ingest.plan import WorkItem
from kmh.catalog import TranscriptRecord
from kmh.settings import Settings

log = logging.getLogger(__name__)


def session_label(number: int, title: str | None) -> str:
    return f"Session {number} · {title}" if title else f"Session {number}"


class RecordingPreparer:
    """Transcripts and passages of recordings; the speech model loads on first need."""

    def __init__(self, settings: Settings, catalog):
        self.settings = settings
        self.catalog = catalog
        self.windower = Windower(settings.segment_min_seconds, settings.segment_max_seconds)
        self._transcriber = None  # one speech model for every language (the language is given per recording)

    # -- transcript -----------------------------------------------------------------------

    def model_signature(self) -> str:
        """Identifies the speech model and its options: a kept transcript is reused only for the same ones."""
        s = self.settings
        ident = {"model": str(s.whisper_model_path.name), "compute_type": s.whisper_compute_type,
                 "beam_size": s.whisper_beam_size, "vad": True}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

    def transcript(self, item: WorkItem, media_sha: str, duration: float) -> TranscriptRecord:
        """The recording's transcript, from its captions, kept, or made now (and kept)."""
        lang = item.language
        if item.captions is not None:
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
            return kept
        cues = self._transcribe(item, duration)
        if not cues:
            raise IngestError(item.path, "no speech was recognised in the recording")
        return self.catalog.add_transcript(TranscriptRecord(media_sha, lang, "whisper", signature,
                                                            [asdict(c) for c in cues]))

    def _transcribe(self, item: WorkItem, duration: float) -> list[Cue]:
        from ingest.media.transcribe import transcriber
        from ingest.media.windows import cues_from_words

        if self._transcriber is None:
            self._transcriber = transcriber(self.settings, item.language)
            self._transcriber.warm_up()
        out = self._transcriber.run(audio=item.path, duration=duration, language=item.language)
        log.info("%s: %.0f s of audio transcribed in %.0f s", item.path.name, out["seconds"], out["elapsed"])
        words = out["words"]
        return cues_from_words(words) if words else list(out["cues"])

    # -- passages -------------------------------------------------------------------------

    def documents(self, item: WorkItem, transcript: TranscriptRecord, doc_meta: dict[str, Any]) -> list[Document]:
        """One passage Document per window, citing start and end seconds, session and speaker."""
        cues = [Cue(c["start"], c["end"], c["text"], c.get("speaker")) for c in transcript.cues]
        ctx = item.seminar
        sessions = ctx.sessions if ctx else []
        titles = ctx.session_titles if ctx else {}
        docs = []
        for w in self.windower.split(cues, sessions):
            meta = {
                **doc_meta,
                "kind": "recording",
                "index": w.index,
                "page": None,
                "section": session_label(w.session, titles.get(w.session)) if w.session is not None else None,
                "section_path": [],
                "start": round(w.start, 3),
                "end": round(w.end, 3),
                "session": w.session,
                "speaker": w.speaker,
                "seminar_id": ctx.seminar_id if ctx else None,
                SENTENCE_SPANS: [list(span) for span in w.sentences],
            }
            docs.append(Document(id=passage_id(doc_meta["doc_id"], doc_meta["doc_version"], w.index), content=w.text,
                                 meta=meta))
        return docs


def media_title(item: WorkItem, sidecar: dict[str, Any]) -> str:
    if sidecar.get("title"):
        return sidecar["title"]
    ctx = item.seminar
    if ctx is not None:
        return f"{ctx.title} · {ctx.recording_title}" if ctx.recording_title else ctx.title
    return Path(item.path).stem.replace("_", " ").replace("-", " ")
