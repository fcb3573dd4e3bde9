"""Seminar manifests: ``corpus/seminars/<slug>/seminar.yaml`` describes a seminar and its recordings.

Example (times are "HH:MM:SS", "MM:SS" or seconds within the recording)::

    title: "Réintégration et développement durable"
    title_en: "Reintegration and sustainable development"   # optional
    dates: {start: 2021-12-01, end: 2021-12-02}
    languages: [fr, en]
    objectives: "..."                 # optional free text, as are format and background
    related_publications: [page-seminaire.txt]   # file names of corpus documents
    recordings:
      - id: jour-1
        title: "Jour 1"               # optional
        media: media/jour-1.mp3       # relative to this folder, or an http(s) URL
        language: fr
        captions: {fr: media/jour-1.fr.vtt}   # optional, .vtt or .srt
        synthetic: true               # made by `make setup` (ingest.media.synth) from script.yaml
    sessions:
      - number: 1
        title: "..."
        description: "..."            # optional
        speakers: [{name: "Awa Sarr", role: "modératrice, OIM"}]
        recording: jour-1
        start: "00:00:00"
        end: "00:02:30"

``slug`` is the folder's name (a ``slug`` field, if present, must equal it). ``load_manifest``
raises ``ManifestError`` naming the file and the field: "seminar.yaml: sessions[2].start: '1:2x'
is not a timestamp (HH:MM:SS or seconds)".
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ingest.model import IngestError
from kmh.yamlfile import read_yaml

if TYPE_CHECKING:
    from ingest.media.windows import Session as Range
    from kmh.catalog import SeminarRecord

MANIFEST_NAMES = ("seminar.yaml", "seminar.yml")
MANIFEST_MAX_BYTES = 256 * 1024
CAPTION_SUFFIXES = (".vtt", ".srt")
SYNTH_HINT = "run `make setup` to synthesise it"

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LANG = re.compile(r"[a-z]{2}")
_CLOCK = re.compile(r"(?:(\d+):)?([0-5]?\d):([0-5]?\d(?:\.\d+)?)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class ManifestError(IngestError):
    """A seminar manifest (or its script) is invalid; the message names the file and the field."""


def is_manifest(path: Path | str) -> bool:
    """True for a seminar manifest file name (seminar.yaml or seminar.yml)."""
    return Path(path).name.lower() in MANIFEST_NAMES


def parse_timestamp(value: Any) -> float:
    """Seconds from "HH:MM:SS[.fff]", "MM:SS[.fff]", a number of seconds or its text; ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        seconds = float(value.strip())
    elif isinstance(value, str) and (m := _CLOCK.fullmatch(value.strip())):
        seconds = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    else:
        raise ValueError(f"{value!r} is not a timestamp (HH:MM:SS or seconds)")
    if not 0 <= seconds < 100 * 3600:
        raise ValueError(f"{value!r} is not a timestamp (HH:MM:SS or seconds)")
    return seconds


def format_timestamp(seconds: float) -> str:
    """Seconds as "HH:MM:SS", with milliseconds when not whole."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}" + (f".{ms:03d}" if ms else "")


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = re.sub(r"[ \t]+", " ", value).strip()
        if not value:
            raise ValueError("must not be empty")
    return value


def _language(value: Any) -> Any:
    if isinstance(value, str) and not _LANG.fullmatch(value.strip().lower()):
        raise ValueError(f"{value!r} is not a two-letter language code (ISO 639-1)")
    return value.strip().lower() if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_text)]
Language = Annotated[str, BeforeValidator(_language)]
Timestamp = Annotated[float, BeforeValidator(parse_timestamp)]


M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Unknown fields refused, text stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Speaker(StrictModel):
    """A speaker of a session."""

    name: Text
    role: Text | None = None


class Session(StrictModel):
    """One session: its place in a recording, from ``start`` to ``end`` seconds."""

    number: int = Field(ge=1)
    title: Text
    description: Text | None = None
    speakers: list[Speaker] = Field(default_factory=list)
    recording: Text
    start: Timestamp
    end: Timestamp


class Recording(StrictModel):
    """A recording (audio or video) of one or more sessions, with optional caption files."""

    id: str
    title: Text | None = None
    media: Text
    language: Language
    captions: dict[str, Text] = Field(default_factory=dict)
    synthetic: bool = False

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> Any:
        if isinstance(v, str) and not _ID.fullmatch(v.strip()):
            raise ValueError(f"{v!r} is not an id (letters, digits, '-', '_' and '.')")
        return v

    @property
    def is_url(self) -> bool:
        return _is_url(self.media)


class SeminarDates(StrictModel):
    """First and last day of the seminar (``end`` defaults to ``start``)."""

    start: date
    end: date | None = None


class SeminarManifest(StrictModel):
    """A seminar: what it was about, its recordings and where each session lies in them."""

    title: Text
    title_en: Text | None = None
    slug: str | None = None
    dates: SeminarDates
    objectives: Text | None = None
    format: Text | None = None
    background: Text | None = None
    languages: list[Language] = Field(min_length=1)
    related_publications: list[Text] = Field(default_factory=list)
    recordings: list[Recording] = Field(min_length=1)
    sessions: list[Session] = Field(min_length=1)

    _folder: Path | None = PrivateAttr(default=None)

    @field_validator("related_publications", mode="before")
    @classmethod
    def _publications(cls, v: Any) -> Any:
        if isinstance(v, list):
            for item in v:
                if isinstance(item, str) and (not item.strip() or "\\" in item or item.strip().startswith("/")):
                    raise ValueError(f"{item!r} is not a corpus file name")
        return v

    @property
    def folder(self) -> Path | None:
        """The folder of the manifest (set by load_manifest)."""
        return self._folder

    def recording(self, recording_id: str) -> Recording:
        for rec in self.recordings:
            if rec.id == recording_id:
                return rec
        raise KeyError(recording_id)

    def session(self, number: int) -> Session:
        for s in self.sessions:
            if s.number == number:
                return s
        raise KeyError(number)

    def sessions_in(self, recording_id: str) -> list[Session]:
        """The sessions of one recording, by start time."""
        return sorted((s for s in self.sessions if s.recording == recording_id), key=lambda s: s.start)

    def local_path(self, relative: str) -> Path | None:
        """The file a manifest path names (None for a URL)."""
        if _is_url(relative):
            return None
        if self._folder is None:
            raise ValueError("manifest has no folder (not read by load_manifest)")
        return self._folder / relative

    def media_path(self, recording: Recording | str) -> Path | None:
        rec = self.recording(recording) if isinstance(recording, str) else recording
        return self.local_path(rec.media)

    def caption_paths(self, recording: Recording | str) -> dict[str, Path]:
        """Local caption files of a recording, by language."""
        rec = self.recording(recording) if isinstance(recording, str) else recording
        out = {}
        for lang, rel in rec.captions.items():
            p = self.local_path(rel)
            if p is not None:
                out[lang] = p
        return out


def _is_url(text: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE))


def field_path(loc: tuple) -> str:
    """("sessions", 2, "start") -> "sessions[2].start"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_CHILDREN: dict[type, dict[str, type]] = {
    SeminarManifest: {"sessions": Session, "recordings": Recording, "dates": SeminarDates},
    Session: {"speakers": Speaker},
}


def _model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int):
            continue
        model = _CHILDREN.get(model, {}).get(part) if model else None
    return model


def validation_reasons(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """Each pydantic error as "field.path: reason", in the words of the sidecar errors."""
    out = []
    for err in exc.errors(include_url=False):
        loc, kind = tuple(err["loc"]), err["type"]
        if kind == "missing":
            why = "missing"
        elif kind == "extra_forbidden":
            model = _model_at(root, loc[:-1])
            allowed = f" (allowed: {', '.join(model.model_fields)})" if model else ""
            why = f"unknown field{allowed}"
        elif kind == "value_error":
            why = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            msg = err["msg"]
            why = msg[:1].lower() + msg[1:]
            if "input" in err and not isinstance(err["input"], (dict, list)):
                why += f", got {err['input']!r}"
        if loc and loc[-1] == "[key]":  # a bad key of a mapping (captions)
            loc = loc[:-1]
        out.append(f"{field_path(loc)}: {why}")
    return out


def manifest_file(path: Path | str) -> Path:
    """The manifest of a seminar folder, or ``path`` itself when it names a file."""
    path = Path(path)
    if path.is_dir():
        for name in MANIFEST_NAMES:
            if (path / name).is_file():
                return path / name
        raise ManifestError(path, "no seminar.yaml in this folder")
    return path


def read_model(path: Path, model: type[M]) -> M:
    """A YAML file validated by ``model``; ManifestError names the file and the first field at fault."""
    raw = read_yaml(path, ManifestError, MANIFEST_MAX_BYTES)
    if not isinstance(raw, dict):
        raise ManifestError(path, "must be a mapping of field: value")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        reasons = validation_reasons(exc, model)
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise ManifestError(path, reasons[0] + more) from None


def load_manifest(path: Path | str, *, check_files: bool = True) -> SeminarManifest:
    """The validated manifest at ``path`` (a seminar.yaml or its folder).

    ``check_files`` also requires the local media and caption files to exist (the synthesiser
    reads manifests whose media it is about to create, without it).
    """
    path = manifest_file(path)
    manifest = read_model(path, SeminarManifest)
    manifest._folder = path.parent
    _check(path, manifest, check_files)
    return manifest


def _check(path: Path, m: SeminarManifest, check_files: bool) -> None:
    def bad(field: str, why: str) -> ManifestError:
        return ManifestError(path, f"{field}: {why}")

    folder = path.parent.name
    if m.slug is None:
        if not _SLUG.fullmatch(folder):
            raise ManifestError(path, f"folder name {folder!r} is not a slug (lower-case words joined by '-')")
        m.slug = folder
    elif m.slug != folder:
        raise bad("slug", f"{m.slug!r} does not match the folder name {folder!r}")
    if m.dates.end is None:
        m.dates.end = m.dates.start
    elif m.dates.end < m.dates.start:
        raise bad("dates.end", f"{m.dates.end} is before dates.start {m.dates.start}")

    ids: dict[str, int] = {}
    for i, rec in enumerate(m.recordings):
        at = f"recordings[{i}]"
        if rec.id in ids:
            raise bad(f"{at}.id", f"{rec.id!r} already used by recordings[{ids[rec.id]}]")
        ids[rec.id] = i
        _check_ref(bad, f"{at}.media", rec.media)
        for lang, rel in rec.captions.items():
            if not _LANG.fullmatch(lang):
                raise bad(f"{at}.captions", f"{lang!r} is not a two-letter language code (ISO 639-1)")
            _check_ref(bad, f"{at}.captions.{lang}", rel)
            if not _is_url(rel) and not rel.lower().endswith(CAPTION_SUFFIXES):
                raise bad(f"{at}.captions.{lang}", f"{rel!r} is not a .vtt or .srt file")
        if check_files:
            hint = f"; {SYNTH_HINT}" if rec.synthetic else ""
            for field, rel in [("media", rec.media), *((f"captions.{k}", v) for k, v in rec.captions.items())]:
                local = m.local_path(rel)
                if local is not None and not local.is_file():
                    raise bad(f"{at}.{field}", f"{rel!r} not found{hint}")

    numbers: dict[int, int] = {}
    for i, s in enumerate(m.sessions):
        at = f"sessions[{i}]"
        if s.number in numbers:
            raise bad(f"{at}.number", f"{s.number} already used by sessions[{numbers[s.number]}]")
        numbers[s.number] = i
        if s.recording not in ids:
            raise bad(f"{at}.recording", f"{s.recording!r} is not a declared recording ({', '.join(ids)})")
        if s.end <= s.start:
            raise bad(f"{at}.end", f"{format_timestamp(s.end)} is not after start {format_timestamp(s.start)}")
    for rec in m.recordings:
        ordered = m.sessions_in(rec.id)
        for a, b in zip(ordered, ordered[1:]):
            if b.start < a.end:
                i = m.sessions.index(b)
                raise bad(f"sessions[{i}].start", f"session {b.number} starts before session {a.number} ends "
                                                  f"({format_timestamp(a.end)}) in recording {rec.id!r}")


def _check_ref(bad, field: str, ref: str) -> None:
    if _is_url(ref):
        parsed = urlparse(ref)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or re.search(r"\s", ref):
            raise bad(field, f"{ref!r} is not a valid http(s) URL")
        return
    rel = PurePosixPath(ref)
    if "\\" in ref or rel.is_absolute() or ".." in rel.parts:
        raise bad(field, f"{ref!r} must be a path inside the seminar folder or an http(s) URL")


# ---------------------------------------------------------------------------------------------
# what ingestion takes from a manifest
# ---------------------------------------------------------------------------------------------


def seminar_id(manifest: SeminarManifest, path: Path | str) -> str:
    """The seminar's id: its slug, else its folder's name."""
    return manifest.slug or Path(path).parent.name


def seminar_record(manifest: SeminarManifest, path: Path | str, sha256: str) -> SeminarRecord:
    """The catalog's SeminarRecord of a manifest."""
    from kmh.catalog import SeminarRecord, SessionRecord

    return SeminarRecord(
        id=seminar_id(manifest, path), title=manifest.title, manifest_sha256=sha256,
        source_key=str(Path(path).resolve()), title_en=manifest.title_en, start_date=manifest.dates.start,
        end_date=manifest.dates.end or manifest.dates.start, languages=list(manifest.languages),
        objectives=manifest.objectives, format=manifest.format, background=manifest.background,
        related=list(manifest.related_publications),
        sessions=[SessionRecord(s.number, s.title, s.description,
                                [{"name": sp.name, "role": sp.role} for sp in s.speakers], s.recording,
                                float(s.start), float(s.end))
                  for s in sorted(manifest.sessions, key=lambda s: s.number)],
    )


def recording_sessions(manifest: SeminarManifest, recording: Recording) -> list[Range]:
    """The sessions of a recording as ingest.media.windows.Session ranges (speakers by name)."""
    from ingest.media.windows import Session as Range

    return [Range(s.number, float(s.start), float(s.end), tuple(sp.name for sp in s.speakers))
            for s in manifest.sessions_in(recording.id)]
