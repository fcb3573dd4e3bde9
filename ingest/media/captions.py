"""Caption files: WebVTT and SRT parsed into cues, and cues written back as WebVTT.

The format is decided by the content (a ``WEBVTT`` header, or SRT's numeric counter and
``-->`` timing line); the extension only hints. A ``.vtt`` file must start with the header.
Cue text loses its markup: ``<v Speaker>`` gives the cue's speaker, other tags
(``<b>``, ``<i>``, ``<c.x>``, ``<00:00:01.000>``, SRT's ``<font>`` and ``{\\an8}``) are dropped,
HTML entities decoded, and the cue's lines joined with spaces. Malformed input raises
``CaptionError`` naming the file and the line.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.model import IngestError

CAPTION_EXTENSIONS = frozenset({".vtt", ".srt"})
MIME_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip"}

_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
# VTT blocks that are not cues: each keyword alone or followed by a space, a tab or the end of the line.
_NON_CUE = re.compile(r"^(NOTE|STYLE|REGION)(?:[ \t].*)?$")
_TIMING = re.compile(r"^\s*(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+(.*))?$")
# [hours:]minutes:seconds.milliseconds; SRT writes a comma before the milliseconds, VTT a dot (both accepted).
_TIMESTAMP = re.compile(r"^(?:(\d+):)?(\d{2}):(\d{2})[.,](\d{3})$")
_COUNTER = re.compile(r"^\d+$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
_TAG = re.compile(r"<[^>]*>")
_ASS_TAG = re.compile(r"\{\\[^}]*\}")
_SPACES = re.compile(r"\s+")


class CaptionError(IngestError):
    """A caption file is malformed; ``line`` is 1-based (None when the whole file is at fault)."""

    def __init__(self, path: Path | str, line: int | None, reason: str):
        super().__init__(path, f"line {line}: {reason}" if line else reason)
        self.line = line
        self.args = (f"{self.path} line {line}: {reason}" if line else f"{self.path}: {reason}",)


@dataclass(frozen=True)
class Cue:
    """One caption: start and end in seconds from the start of the recording, plain text, speaker if known."""

    start: float
    end: float
    text: str
    speaker: str | None = None


@dataclass(frozen=True)
class Word:
    """One transcribed word with its start and end in seconds.

    ``text`` is as the model wrote it: a leading space starts a new word, none continues the
    previous one (" self", "-sufficiency"); ``"".join`` of the texts gives the transcript.
    """

    start: float
    end: float
    text: str


def sniff_captions(data: bytes | str) -> str | None:
    """The caption format of ``data`` by its first lines: "vtt", "srt", or None for anything else."""
    head = data[:2048]
    if isinstance(head, bytes):
        head = head.decode("utf-8", errors="replace")
    lines = [ln.strip() for ln in head.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln]
    if not lines:
        return None
    if _HEADER.match(lines[0]):
        return "vtt"
    if _TIMING.match(lines[0]) or (_COUNTER.match(lines[0]) and len(lines) > 1 and _TIMING.match(lines[1])):
        return "srt"
    return None


def read_captions(path: Path | str) -> list[Cue]:
    """The cues of a caption file on disk."""
    path = Path(path)
    return parse_captions(path.read_bytes(), path)


def parse_captions(data: bytes | str, path: Path | str) -> list[Cue]:
    """The cues of WebVTT or SRT ``data``; ``path`` names the file in errors and its extension hints the format."""
    text = _decode(data, path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise CaptionError(path, None, "empty caption file")
    kind = sniff_captions(text)
    ext = Path(path).suffix.lower()
    if ext == ".vtt" and kind != "vtt":
        hint = " (the content looks like SRT: rename the file .srt)" if kind == "srt" else ""
        raise CaptionError(path, first + 1, f"missing WEBVTT header{hint}")
    if kind is None:
        raise CaptionError(path, first + 1, "neither a WebVTT header nor an SRT cue (counter, then 'start --> end')")
    blocks = _blocks(lines)
    cues = _parse_vtt(blocks, path) if kind == "vtt" else _parse_srt(blocks, path)
    if not cues:
        raise CaptionError(path, None, "no cues found")
    return cues


def _decode(data: bytes | str, path: Path | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CaptionError(
            path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the captions as UTF-8"
        ) from None
    return text.lstrip("\ufeff")


def _blocks(lines: list[str]) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines, each line with its 1-based number."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            current.append((number, line.rstrip()))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _parse_vtt(blocks: list[list[tuple[int, str]]], path) -> list[Cue]:
    cues = []
    for i, block in enumerate(blocks):
        if i == 0:
            # The header and its metadata lines ("Kind: captions", "Language: fr"); a first cue written
            # without the blank line after them is still read.
            k = next((k for k, (_, ln) in enumerate(block) if "-->" in ln), None)
            if k is None:
                continue
            block = block[k:]
        first = block[0][1].strip()
        if _NON_CUE.match(first):
            continue
        if "-->" in first:
            timing, body = block[0], block[1:]
        elif len(block) > 1 and "-->" in block[1][1]:
            timing, body = block[1], block[2:]  # block[0] is the cue identifier
        else:
            raise CaptionError(path, block[0][0], f"expected a cue timing 'start --> end', got {first[:60]!r}")
        cues.append(_cue(timing, body, path))
    return cues


def _parse_srt(blocks: list[list[tuple[int, str]]], path) -> list[Cue]:
    cues = []
    for block in blocks:
        first = block[0][1].strip()
        if "-->" in first:
            timing, body = block[0], block[1:]  # counter missing: tolerated
        elif _COUNTER.match(first) and len(block) > 1 and "-->" in block[1][1]:
            timing, body = block[1], block[2:]
        elif _COUNTER.match(first):
            line = block[1][0] if len(block) > 1 else block[0][0] + 1
            raise CaptionError(path, line, f"expected a cue timing 'start --> end' after the counter {first}")
        else:
            raise CaptionError(path, block[0][0], f"expected a cue counter or timing, got {first[:60]!r}")
        cues.append(_cue(timing, body, path))
    return cues


def _cue(timing: tuple[int, str], body: list[tuple[int, str]], path) -> Cue:
    number, line = timing
    m = _TIMING.match(line)
    if not m:
        raise CaptionError(path, number, f"bad cue timing {line.strip()!r}")
    start, end = _seconds(m.group(1), number, path), _seconds(m.group(2), number, path)
    if end < start:
        raise CaptionError(path, number, f"cue ends before it starts ({m.group(2)} < {m.group(1)})")
    raw = "\n".join(text for _, text in body)
    voice = _VOICE.search(raw)
    speaker = (_clean(voice.group(1)) or None) if voice else None
    text = _clean(_TAG.sub("", _ASS_TAG.sub("", raw)))
    if not text:
        raise CaptionError(path, number, "cue has no text")
    return Cue(start, end, text, speaker)


def _seconds(stamp: str, number: int, path) -> float:
    m = _TIMESTAMP.match(stamp)
    if not m or int(m.group(2)) > 59 or int(m.group(3)) > 59:
        raise CaptionError(path, number, f"bad timestamp {stamp!r}")
    hours, minutes, seconds, millis = (int(g or 0) for g in m.groups())
    return (((hours * 60 + minutes) * 60 + seconds) * 1000 + millis) / 1000  # from whole ms: exact round trips


def _clean(text: str) -> str:
    """Entities decoded, every run of whitespace (line breaks and no-break spaces included) one space."""
    return _SPACES.sub(" ", html.unescape(text)).strip()


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def format_timestamp(seconds: float) -> str:
    """WebVTT timestamp ``HH:MM:SS.mmm`` (milliseconds rounded)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def escape_cue_text(text: str) -> str:
    """Cue text with ``& < >`` escaped, as WebVTT wants."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: list[Cue]) -> str:
    """A WebVTT file of ``cues``; speakers become ``<v Speaker>`` tags. ``parse_captions`` reads it back unchanged."""
    out = ["WEBVTT", ""]
    for cue in cues:
        text = _SPACES.sub(" ", cue.text).strip()
        if not text:
            raise ValueError(f"cue at {format_timestamp(cue.start)} has no text")
        if cue.end < cue.start:
            raise ValueError(f"cue at {format_timestamp(cue.start)} ends before it starts")
        voice = f"<v {escape_cue_text(_SPACES.sub(' ', cue.speaker).strip())}>" if cue.speaker else ""
        out += [f"{format_timestamp(cue.start)} --> {format_timestamp(cue.end)}", voice + escape_cue_text(text), ""]
    return "\n".join(out)
