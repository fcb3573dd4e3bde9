"""Recordings published through the running server: a media file (and its captions) queued as a job that the
server's worker transcribes and indexes (``services.jobs.JobWorker``), so that a new seminar recording needs no
downtime.

The transport stages the media file on disk (``api.uploads.stage_media``) and reads the captions, if any;
``queue_recording`` checks the fields, keeps the captions beside the staged media and queues the job (through
``services.publishing.queue_upload``, which owns the staged file from then on). Every function is keyword-only and
raises ``services.errors``: InvalidParameter naming the field (``language``, ``captions``, ``seminar``,
``session``, ``title``), ThingNotFound for an unknown recording, Conflict for a duplicate.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from services.errors import InvalidParameter, ThingNotFound

if TYPE_CHECKING:
    from kmh.catalog import Catalog, JobRecord, KeyRecord
    from services.jobs import JobWorker
    from services.publishing import StagedFile

_LANGUAGE = re.compile(r"^[a-z]{2}$")
TITLE_MAX_CHARS = 500


def queue_recording(*, catalog: Catalog, worker: JobWorker | None, staged: StagedFile, language: str | None = None,
                    title: str | None = None, captions: bytes | None = None, captions_name: str | None = None,
                    seminar: str | None = None, session: int | None = None, actor: KeyRecord | None,
                    recording_id: str | None = None) -> JobRecord:
    """Queue the job that transcribes and publishes the staged media: a new recording, or a new version of
    ``recording_id`` (which keeps its title, language, seminar and session unless given). Its transcript is the
    ``captions`` (WebVTT or SRT) when given, else Whisper's in ``language``, which is required unless the captions
    give it (detected from their text). The staged file is removed when the job cannot be queued."""
    from services.publishing import queue_upload

    try:
        meta = _recording_meta(catalog, language=language, title=title, captions=captions,
                               captions_name=captions_name, seminar=seminar, session=session,
                               recording_id=recording_id)
        if captions is not None:  # kept beside the media until the job is done, under a name it cannot have
            meta["captions"] = f"{staged.path.stem}.captions{meta['captions']}"
            (staged.path.parent / str(meta["captions"])).write_bytes(captions)
    except BaseException:
        staged.discard()
        raise
    return queue_upload(catalog=catalog, worker=worker, staged=staged, meta=meta, actor=actor, doc_id=recording_id)


def _recording_meta(catalog: Catalog, *, language: str | None, title: str | None, captions: bytes | None,
                    captions_name: str | None, seminar: str | None, session: int | None,
                    recording_id: str | None) -> dict[str, object]:
    """The job's metadata of a recording: its fields checked, the language detected from the captions if need be."""
    from ingest.media.captions import CaptionError, parse_captions, sniff_captions
    from ingest.metadata import detect_language

    meta: dict[str, object] = {"media": True}
    kept_session: int | None = None
    if recording_id is not None:
        rec, doc = catalog.recording(recording_id), catalog.get(recording_id)
        if rec is None or doc is None:
            raise ThingNotFound("recording", recording_id)
        title = title or doc.title
        language = language or (rec.language if captions is None else None)
        if seminar is None:
            seminar = rec.seminar_id
            key = rec.key or ""
            kept_session = int(key[8:]) if key.startswith("session-") and key[8:].isdigit() else None
    if title is not None and title.strip():
        if len(title.strip()) > TITLE_MAX_CHARS:
            raise InvalidParameter("title", f"at most {TITLE_MAX_CHARS} characters", "body")
        meta["title"] = title.strip()
    if captions is not None:
        if not captions.strip():
            raise InvalidParameter("captions", "the caption file is empty: send a WebVTT or SRT file", "body")
        try:
            cues = parse_captions(captions, captions_name or "captions")
        except CaptionError as exc:
            raise InvalidParameter("captions", exc.reason, "body") from None
        meta["captions"] = ".srt" if sniff_captions(captions) == "srt" else ".vtt"  # named when kept
    if language:
        if not _LANGUAGE.match(language):
            raise InvalidParameter("language", f"a two-letter ISO 639-1 code such as fr or en, not {language!r}",
                                   "body")
    elif captions is not None:
        language = detect_language(" ".join(c.text for c in cues))
        if language is None:
            raise InvalidParameter("language", "could not be detected from the captions (too little text): give it, "
                                               "e.g. language=fr", "body")
        meta["language_detected"] = True
    else:
        raise InvalidParameter("language", "required unless captions are given (speech is never guessed): give the "
                                           "language spoken, e.g. language=fr, or send the captions", "body")
    meta["language"] = language
    if session is not None and seminar is None:
        raise InvalidParameter("session", "a session needs its seminar: give the seminar's id in 'seminar'", "body")
    if seminar is not None:
        sem = catalog.seminar(seminar)
        if sem is None:
            raise InvalidParameter("seminar", f"no seminar with id {seminar!r} in the catalog", "body")
        meta["seminar"] = sem.id
        session = session if session is not None else kept_session
        if session is not None:
            numbers = [s.number for s in sem.sessions]
            if session not in numbers:
                raise InvalidParameter("session", f"seminar {sem.id!r} has no session {session} (its sessions: "
                                                  f"{', '.join(map(str, numbers)) or 'none'})", "body")
            meta["session"] = session
    return meta
