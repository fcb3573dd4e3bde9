"""Audio and video files: recognised by their first bytes, probed with ffprobe, decoded with ffmpeg.

Decoding goes through the ``ffmpeg`` binary (a subprocess writing 16-bit mono PCM), so every
container and codec ffmpeg knows works, video files included (their video track is not decoded).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.model import IngestError

SAMPLE_RATE = 16000
DEFAULT_MAX_MEDIA_SECONDS = 4 * 3600.0
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac", ".weba", ".wma", ".aif", ".aiff",
     ".amr"}
)  # fmt: skip
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".wmv", ".mpg", ".mpeg", ".ts", ".3gp"})
MEDIA_EXTENSIONS = AUDIO_EXTENSIONS | VIDEO_EXTENSIONS
# Bytes that sniff_media needs to see.
HEAD_BYTES = 64

# ISO base media brands of still images (HEIF, AVIF), which share the MP4 container.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
# MPEG audio and ADTS start with a frame sync word only: trusted when the extension agrees.
_SYNC_EXTENSIONS = {".mp3", ".mp2", ".mpga", ".aac"}
# ffprobe demuxers that read things other than recordings (ANSI text, still images).
_NOT_MEDIA_FORMATS = ("tty", "image2", "_pipe")


class FFmpegMissingError(RuntimeError):
    """The ffmpeg or ffprobe binary is not installed (a setup problem, not a problem of the file)."""


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says of a recording. ``duration`` is in seconds, 0.0 when the container does not tell."""

    duration: float
    has_video: bool
    has_audio: bool
    mime: str
    format: str  # wav, mp3, ogg, flac, m4a, mp4, mov, webm, mkv, ...


def sniff_media(head: bytes, path: Path | str | None = None) -> str | None:
    """The container of a file from its first bytes ("wav", "mp4", "webm", ...), or None if not media."""
    ext = Path(path).suffix.lower() if path is not None else ""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3":
        return "mp3" if ext != ".aac" else "aac"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return None
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return "m4a"
        if brand == b"qt  ":
            return "mov"
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head else "mkv"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:6] == b"#!AMR\n":
        return "amr"
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return "asf"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg"
    if ext in _SYNC_EXTENSIONS and len(head) >= 4 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0x3
        if layer == 0:  # ADTS (AAC)
            return "aac"
        if (head[2] >> 4) != 0xF and (head[2] >> 2) & 0x3 != 0x3:  # valid bitrate and sample rate indices
            return "mp3"
    if ext == ".ts" and head[:1] == b"\x47" and (len(head) < 189 or head[188:189] == b"\x47"):
        return "mpegts"
    return None


def is_media(path: Path | str, head: bytes) -> bool:
    """Whether a file is an audio or video recording, by its first bytes (the extension only for bare MP3/AAC)."""
    return sniff_media(head, path) is not None


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise FFmpegMissingError(f"{name} not found: install ffmpeg (make setup does it)")
    return found


def probe(path: Path | str) -> MediaInfo:
    """Duration, tracks and type of a recording; IngestError when the file is not media or has no audio."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "file not found")
    cmd = [_binary("ffprobe"), "-v", "error", "-of", "json", "-show_format", "-show_streams", _url(path)]
    proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        if _is_text(path):
            raise IngestError(path, "not an audio or video file: it holds text")
        raise IngestError(path, f"not a readable audio or video file, or a damaged or truncated one "
                                f"({_last_line(proc.stderr, path)})")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise IngestError(path, "ffprobe gave unreadable output") from None
    fmt = data.get("format") or {}
    format_name = fmt.get("format_name", "")
    streams = data.get("streams") or []
    if not streams or any(x in format_name for x in _NOT_MEDIA_FORMATS):
        raise IngestError(path, "not an audio or video file")
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    # Cover art in MP3/M4A files is a video stream marked as an attached picture.
    has_video = any(
        s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic") for s in streams
    )
    if not has_audio:
        raise IngestError(path, "no audio stream" + (" (video only)" if has_video else ""))
    durations = [fmt.get("duration")] + [s.get("duration") for s in streams if s.get("codec_type") == "audio"]
    duration = next((float(d) for d in durations if d not in (None, "N/A")), 0.0)
    short, mime = _format_and_mime(format_name, path, has_video)
    return MediaInfo(duration=duration, has_video=has_video, has_audio=True, mime=mime, format=short)


def _is_text(path: Path) -> bool:
    """Whether the file starts with text (UTF-8, no control characters but line ends and tabs)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the head is still text
        if exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")
    return bool(text.strip()) and all(c.isprintable() or c in "\r\n\t" for c in text)


def _format_and_mime(format_name: str, path: Path, has_video: bool) -> tuple[str, str]:
    names = format_name.split(",")
    ext = path.suffix.lower().lstrip(".")
    kind = "video" if has_video else "audio"
    if "mp4" in names or "mov" in names:
        if ext == "mov":
            return "mov", "video/quicktime"
        if not has_video:
            return "m4a", "audio/mp4"
        return "mp4", "video/mp4"
    if "matroska" in names or "webm" in names:
        if ext == "mkv":
            return "mkv", f"{kind}/x-matroska"
        return "webm", f"{kind}/webm"
    simple = {
        "wav": ("wav", "audio/wav"),
        "mp3": ("mp3", "audio/mpeg"),
        "flac": ("flac", "audio/flac"),
        "aac": ("aac", "audio/aac"),
        "aiff": ("aiff", "audio/aiff"),
        "amr": ("amr", "audio/amr"),
        "avi": ("avi", "video/x-msvideo"),
        "mpegts": ("ts", "video/mp2t"),
        "mpeg": ("mpeg", f"{kind}/mpeg"),
    }
    for name in names:
        if name in simple:
            return simple[name]
    if "ogg" in names:
        return ("opus" if ext == "opus" else "ogg"), f"{kind}/ogg"
    if "asf" in names:
        return ("wmv", "video/x-ms-wmv") if has_video else ("wma", "audio/x-ms-wma")
    return names[0] or "unknown", "application/octet-stream"


def _url(path: Path) -> str:
    """ffmpeg's name for a local file: no protocol or option read into names like "-x.mp3" or "a:b.wav"."""
    return "file:" + str(path.resolve())


def _last_line(stderr: bytes, path: Path) -> str:
    """ffmpeg's last message, without the file name it starts with."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    if not lines:
        return "no details"
    return lines[-1].removeprefix(f"{_url(path)}: ")[-200:]


def load_audio(
    path: Path | str, sr: int = SAMPLE_RATE, max_seconds: float = DEFAULT_MAX_MEDIA_SECONDS
) -> np.ndarray:
    """The first audio track of any audio or video file as mono float32 samples in [-1, 1] at ``sr`` Hz.

    Recordings longer than ``max_seconds`` (KMH_MAX_MEDIA_SECONDS) are refused before decoding.
    """
    path = Path(path)
    info = probe(path)  # IngestError for a file that is not media or has no audio
    if info.duration > max_seconds:
        raise IngestError(
            path, f"recording lasts {_hms(info.duration)}, over the {_hms(max_seconds)} limit (KMH_MAX_MEDIA_SECONDS)"
        )
    cmd = [
        _binary("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "0", "-i", _url(path),
        "-map", "0:a:0", "-vn", "-sn", "-dn",
        # A container that under-reports its duration still stops at the limit (one second more to tell it apart).
        "-t", f"{max_seconds + 1:.3f}",
        "-f", "s16le", "-ac", "1", "-ar", str(sr), "-",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise IngestError(path, f"ffmpeg could not decode the audio ({_last_line(proc.stderr, path)})")
    samples = np.frombuffer(proc.stdout, dtype="<i2")
    if len(samples) > max_seconds * sr:
        raise IngestError(path, f"recording lasts over the {_hms(max_seconds)} limit (KMH_MAX_MEDIA_SECONDS)")
    if len(samples) == 0:
        raise IngestError(path, "the audio track is empty")
    return samples.astype(np.float32) / 32768.0


# A recording with less sound than this above SILENCE_DBFS is refused as silent before Whisper runs: its voice
# activity detection would go through every hour of silence for nothing.
MIN_AUDIBLE_SECONDS = 1.0
SILENCE_DBFS = -50.0
# A decoded track this much shorter than the duration the file declares is taken as a truncated file.
TRUNCATED_SHARE = 0.9


def audible_seconds(samples: np.ndarray, sr: int = SAMPLE_RATE, threshold_dbfs: float = SILENCE_DBFS) -> float:
    """Seconds of ``samples`` whose 100 ms frames are louder than ``threshold_dbfs`` (RMS): a cheap, vectorised
    measure, seconds for hours of audio."""
    frame = sr // 10
    n = len(samples) // frame
    if n == 0:
        return 0.0
    frames = samples[: n * frame].reshape(n, frame)
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / frame
    loud = power > 10 ** (threshold_dbfs / 10)
    return float(np.count_nonzero(loud)) * frame / sr


def check_sound(path: Path | str, samples: np.ndarray, declared: float, sr: int = SAMPLE_RATE) -> None:
    """IngestError, in plain words, for a decoded track that is silent or much shorter than the ``declared``
    duration (a truncated file)."""
    path = Path(path)
    seconds = len(samples) / sr
    if declared > 2 and seconds < declared * TRUNCATED_SHARE:
        raise IngestError(path, f"the file is truncated: its audio stops at {_hms(seconds)} of the {_hms(declared)} "
                                "it declares; upload the whole file again")
    if audible_seconds(samples, sr) < MIN_AUDIBLE_SECONDS:
        raise IngestError(path, f"the recording is silent: no sound in its {_hms(seconds)} (nothing above "
                                f"{SILENCE_DBFS:g} dBFS); check that the right file and audio track were sent")


def check_whole(path: Path | str) -> None:
    """IngestError for a file that says it is longer than it is, found without decoding it: a WAV whose data chunk
    declares more bytes than the file holds (ffprobe estimates such a file's length from its size and says nothing).
    Compressed containers are checked once decoded (``check_sound``), MP4 and M4A by ffprobe (no index at the end)."""
    import struct

    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk, length = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if chunk == b"fmt " and pos + 16 <= len(head):
            byte_rate = struct.unpack("<I", head[pos + 16:pos + 20])[0]
        if chunk == b"data":
            if length in (0, 0xFFFFFFFF) or not byte_rate:  # unknown (a stream written as it was recorded)
                return
            held = size - (pos + 8)
            if held < length * TRUNCATED_SHARE:
                raise IngestError(path, f"the file is truncated: it holds {hms(held / byte_rate)} of the "
                                        f"{hms(length / byte_rate)} it declares; upload the whole file again")
            return
        pos += 8 + length + (length & 1)


def hms(seconds: float) -> str:
    """A duration as "1 h 05 min" or "3 min 20 s"."""
    return _hms(seconds)


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"
