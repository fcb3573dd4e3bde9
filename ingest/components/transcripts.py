"""Haystack component: recording transcripts -> passage Documents (windows of 30 to 60 seconds) citing their time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from haystack import Document, component

from ingest.components.sentences import SENTENCE_SPANS
from ingest.media.captions import Cue
from ingest.media.windows import Windower
from ingest.model import IngestError
from kmh.ids import passage_id
from kmh.store.base import CUES_FIELD

if TYPE_CHECKING:
    from ingest.plan import SeminarContext


def session_label(number: int, title: str | None) -> str:
    return f"Session {number} · {title}" if title else f"Session {number}"


@dataclass
class TranscriptSource:
    """A recording's transcript to cut into passages: its media file (named by errors), its cues (as the catalog's
    TranscriptRecord keeps them), the seminar it belongs to, and the payload every passage carries."""

    path: Path
    cues: list[dict[str, Any]]
    seminar: SeminarContext | None
    meta: dict[str, Any]


@component
class TranscriptChunker:
    """Cuts transcripts into windows at sentence ends, never across a session (ingest.media.windows); each window
    becomes a Document citing its start and end seconds, session and speaker, and where each of its cues starts
    (CUES_FIELD: search cites the second its best sentence is said)."""

    def __init__(self, min_seconds: float = 30.0, max_seconds: float = 60.0):
        self._windower = Windower(min_seconds, max_seconds)  # checks the arguments
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds

    @component.output_types(documents=list[Document], failed=dict[str, IngestError])
    def run(self, sources: list[TranscriptSource]) -> dict[str, Any]:
        """The passages of every source, in order; a transcript without text gives none: its IngestError is in
        ``failed``, under its doc_id."""
        documents: list[Document] = []
        failed: dict[str, IngestError] = {}
        for source in sources:
            try:
                documents += self.passages(source)
            except IngestError as exc:
                failed[source.meta["doc_id"]] = exc
        return {"documents": documents, "failed": failed}

    def passages(self, source: TranscriptSource) -> list[Document]:
        """One passage per window; raises IngestError when the transcript has no text."""
        cues = [Cue(c["start"], c["end"], c["text"], c.get("speaker")) for c in source.cues]
        ctx, doc_meta = source.seminar, source.meta
        sessions = ctx.sessions if ctx else []
        titles = ctx.session_titles if ctx else {}
        docs = []
        for w in self._windower.split(cues, sessions):
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
                CUES_FIELD: [x for offset, second in w.cues for x in (offset, round(second, 3))],
            }
            docs.append(Document(id=passage_id(doc_meta["doc_id"], doc_meta["doc_version"], w.index), content=w.text,
                                 meta=meta))
        if not docs:
            raise IngestError(source.path, "the transcript has no text")
        return docs
