"""What `kmh ingest PATHS` will do with each file: the work items, in the order they run.

Folders are expanded recursively (sorted; hidden files and metadata sidecars left out). Then:

- ``topics.yaml``: the topic taxonomy, loaded first;
- ``seminar.yaml``: a seminar manifest; it claims the media and caption files it names, each recording
  becoming a work item with the manifest's language, captions and sessions;
- an audio or video file not claimed by a manifest: a lone recording; its captions are a ``.vtt`` or ``.srt``
  beside it with the same stem (``talk.vtt``, or ``talk.fr.vtt`` for its language); its language comes from
  ``--language`` or its ``NAME.meta.yaml``, never guessed;
- every other file: a document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ingest.media.audio import HEAD_BYTES, MEDIA_EXTENSIONS, is_media
from ingest.media.captions import CAPTION_EXTENSIONS

if TYPE_CHECKING:
    from ingest.media.windows import Session
    from ingest.model import Upload
    from ingest.seminar import SeminarManifest
    from kmh.catalog import DocumentRecord

Kind = Literal["topics", "seminar", "recording", "document", "failed"]
SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml")
TOPICS_NAMES = ("topics.yaml", "topics.yml")
# Files of a seminar folder that are not documents: the script its synthetic recording is spoken from.
SEMINAR_SUPPORT_NAMES = ("script.yaml", "script.yml")
_ORDER = {"failed": 0, "topics": 1, "seminar": 2, "document": 3, "recording": 4}


@dataclass
class SeminarContext:
    """What a recording of a seminar takes from its manifest."""

    seminar_id: str
    title: str
    published: date | None
    sessions: list[Session]
    session_titles: dict[int, str]
    recording_key: str
    recording_title: str | None = None


@dataclass
class WorkItem:
    kind: Kind
    path: Path
    reason: str | None = None  # failed items: why
    language: str | None = None  # recordings
    captions: Path | None = None
    seminar: SeminarContext | None = None
    manifest: SeminarManifest | None = None  # seminar items: the loaded manifest
    # A recording indexed again from the catalog (its captions replaced): its catalogued document, whose identity
    # (file name, source, title, dates...: ingest.recordings.KEPT_FIELDS) the new version keeps.
    kept: DocumentRecord | None = None
    # A recording published through the server (POST /api/recordings): its reserved document id, name and metadata;
    # its meta may name a seminar and a session of it ("seminar", "session").
    upload: Upload | None = None


def expand(paths: list[Path]) -> tuple[list[Path], list[WorkItem]]:
    """Files under ``paths`` (folders recursively, sorted, hidden files and sidecars left out), and failed
    items for paths that do not exist."""
    files: list[Path] = []
    missing: list[WorkItem] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.is_file() and not any(part.startswith(".") for part in rel) and not f.name.endswith(
                        SIDECAR_SUFFIXES):
                    files.append(f)
        elif p.is_file():
            files.append(p)
        else:
            missing.append(WorkItem("failed", p, "no such file or folder"))
    seen: set[Path] = set()
    unique = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]
    return unique, missing


def _looks_like_media(path: Path) -> bool:
    if path.suffix.lower() in MEDIA_EXTENSIONS:
        return True
    try:
        with path.open("rb") as fh:
            return is_media(path, fh.read(HEAD_BYTES))
    except OSError:
        return False


def _sidecar_language(path: Path) -> str | None:
    from ingest.metadata import read_sidecar

    return (read_sidecar(path) or {}).get("language")


def _captions_beside(media: Path, language: str | None, files: set[Path]) -> Path | None:
    stems = ([f"{media.stem}.{language}"] if language else []) + [media.stem]
    for stem in stems:
        for ext in (".vtt", ".srt"):
            c = media.with_name(stem + ext)
            if c.resolve() in files or c.is_file():
                return c
    return None


def plan(paths: list[Path], language: str | None = None) -> list[WorkItem]:
    """The work items for ``paths``, in the order they run (topics, seminars, documents, recordings)."""
    from ingest.model import IngestError
    from ingest.seminar import is_manifest, load_manifest, recording_sessions, seminar_id

    files, items = expand(paths)
    resolved = {f.resolve() for f in files}
    claimed: set[Path] = set()

    for f in files:
        if is_manifest(f):
            folder = f.parent
            claimed.add(f.resolve())
            claimed.update(p.resolve() for p in folder.rglob("*")
                           if p.name in SEMINAR_SUPPORT_NAMES or p.suffix.lower() in CAPTION_EXTENSIONS
                           or (p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS))
            try:
                manifest = load_manifest(f)
            except IngestError as exc:
                items.append(WorkItem("failed", f, exc.reason))
                continue
            items.append(WorkItem("seminar", f, manifest=manifest))
            for rec in manifest.recordings:
                media = manifest.media_path(rec)
                if media is None:  # a URL: nothing to transcribe here
                    continue
                captions = manifest.caption_paths(rec)
                caption = captions.get(rec.language) or next(iter(captions.values()), None)
                sessions = manifest.sessions_in(rec.id)
                ctx = SeminarContext(seminar_id(manifest, f), manifest.title, manifest.dates.start,
                                     recording_sessions(manifest, rec), {s.number: s.title for s in sessions},
                                     rec.id, rec.title)
                items.append(WorkItem("recording", media, language=rec.language, captions=caption, seminar=ctx))
        elif f.name in TOPICS_NAMES:
            claimed.add(f.resolve())
            items.append(WorkItem("topics", f))

    media_files = [f for f in files if f.resolve() not in claimed and _looks_like_media(f)]
    for m in media_files:
        claimed.add(m.resolve())
        try:
            lang = language or _sidecar_language(m)
        except IngestError as exc:
            items.append(WorkItem("failed", m, exc.reason))
            continue
        captions = _captions_beside(m, lang, resolved)
        if captions is not None:
            claimed.add(captions.resolve())
        if lang is None:
            items.append(WorkItem("failed", m, "the recording's language is not known: give it with --language "
                                               f"(e.g. --language fr) or in {m.stem}.meta.yaml (language: fr)"))
            continue
        items.append(WorkItem("recording", m, language=lang, captions=captions))

    for f in files:
        if f.resolve() in claimed:
            continue
        if f.suffix.lower() in CAPTION_EXTENSIONS:
            items.append(WorkItem("failed", f, "captions without a recording: put them beside the audio or video "
                                               "file, with the same name (talk.mp4 + talk.vtt)"))
        else:
            items.append(WorkItem("document", f))
    return sorted(items, key=lambda it: _ORDER[it.kind])  # stable: file order within each kind
