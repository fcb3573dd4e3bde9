"""Synthetic seminar recordings: a seminar's ``script.yaml`` spoken by espeak-ng, with WebVTT captions.

``synthesise_seminar(folder)`` reads ``seminar.yaml`` and ``script.yaml`` in ``folder`` and makes
the recording the manifest marks ``synthetic: true``:

- each sentence of each turn is spoken by ``espeak-ng`` (the speaker's voice variant, e.g. fr+f2,
  at 160 words per minute), with 0.25 s between sentences and 1 s between turns;
- each session starts 0.5 s after the start the manifest declares, and the silence after its last
  turn runs to the next session's start, so the manifest's static times hold (a session whose
  speech does not fit in its slot is an error);
- the audio is encoded by ``ffmpeg`` to the manifest's media path: MP3 (mono, 48 kbit/s constant
  bit rate), which every browser plays, and whose constant bit rate keeps seeking to a session or
  a caption exact; .ogg/.opus (Opus), .m4a (AAC) and .wav work too;
- the captions (the manifest's caption path for the recording's language) have one cue per
  sentence, timed from the synthesised audio and voiced ``<v Speaker Name>``.

A hidden stamp beside the media (``.NAME.synth.json``) keeps a hash of the script, the session
layout and the espeak-ng version: a second run with the same inputs does nothing (``force``
re-creates). Run ``kmh synth-seminar corpus/seminars/<slug> [--force]``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
from pydantic import Field

from ingest.media.captions import escape_cue_text
from ingest.media.captions import format_timestamp as vtt_timestamp
from ingest.seminar import (
    ManifestError,
    Recording,
    SeminarManifest,
    StrictModel,
    Text,
    format_timestamp,
    load_manifest,
    manifest_file,
    read_model,
)

SYNTH_VERSION = 1  # bump when the output changes for the same inputs
SCRIPT_NAME = "script.yaml"
RATE_WPM = 160
SENTENCE_PAUSE = 0.25
TURN_PAUSE = 1.0
LEAD_IN = 0.5
DEFAULT_VOICES = ("fr+f2", "fr+m3", "fr+f4", "fr+m1", "fr+f3", "fr+m7")
ENCODERS = {
    ".mp3": ("mp3", ["-c:a", "libmp3lame", "-b:a", "48k"]),
    ".ogg": ("ogg", ["-c:a", "libopus", "-b:a", "32k", "-application", "voip"]),
    ".opus": ("ogg", ["-c:a", "libopus", "-b:a", "32k", "-application", "voip"]),
    ".m4a": ("ipod", ["-c:a", "aac", "-b:a", "64k"]),
    ".wav": ("wav", ["-c:a", "pcm_s16le"]),
}
_VOICE = re.compile(r"[a-z]{2,3}(?:-[a-z]{2,3})?(?:\+[A-Za-z0-9_]+)?")
# A sentence ends with . ! ? or … (closing quotes allowed) before spaces and the next sentence.
_SENTENCE_END = re.compile(r"[.!?…](?:\s?[»\"')\]])*(\s+)(?=(?:«\s*|[\"(])?[A-ZÀ-ÖØ-Þ0-9])")
_SILENT = 64  # |sample| at or below this counts as silence when trimming espeak's output


class SynthError(RuntimeError):
    """Synthesis could not run (a missing tool, a failed command)."""


class Turn(StrictModel):
    """One speaker's turn: spoken sentence by sentence."""

    speaker: Text
    role: Text | None = None
    text: Text
    voice: str | None = None


class ScriptSession(StrictModel):
    number: int = Field(ge=1)
    turns: list[Turn] = Field(min_length=1)


class Script(StrictModel):
    """The spoken text of a synthetic recording."""

    recording: str | None = None
    voices: dict[str, str] = Field(default_factory=dict)
    rate: int = Field(RATE_WPM, ge=80, le=400)
    sessions: list[ScriptSession] = Field(min_length=1)


@dataclass
class Cue:
    start: float
    end: float
    speaker: str
    text: str


@dataclass
class SessionLayout:
    """Where a session's speech lies in the recording (seconds)."""

    number: int
    start: float
    end: float
    speech_end: float
    cues: list[Cue] = field(default_factory=list)


@dataclass
class SynthResult:
    media: Path
    captions: Path
    duration: float  # seconds, the declared layout (end of the last session)
    skipped: bool  # outputs were up to date
    sessions: list[SessionLayout] = field(default_factory=list)
    cues: int = 0
    elapsed: float = 0.0  # seconds this call took


def load_script(path: Path | str) -> Script:
    """The validated script; ManifestError names the file and the field."""
    path = Path(path)
    script = read_model(path, Script)
    for name, voice in script.voices.items():
        if not _VOICE.fullmatch(voice):
            raise ManifestError(path, f"voices.{name}: {voice!r} is not an espeak-ng voice such as fr+f2")
    for i, s in enumerate(script.sessions):
        for j, turn in enumerate(s.turns):
            if turn.voice is not None and not _VOICE.fullmatch(turn.voice):
                raise ManifestError(path, f"sessions[{i}].turns[{j}].voice: {turn.voice!r} is not an espeak-ng voice")
    return script


def split_sentences(text: str) -> list[str]:
    """The sentences of a turn (one caption cue each)."""
    text = re.sub(r"\s+", " ", text).strip()
    out, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[pos: m.start(1)])
        pos = m.end(1)
    out.append(text[pos:])
    return [s for s in out if s]


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SynthError(f"{name} not found; install {package}: `make setup` does it")
    return found


@lru_cache(maxsize=4)
def espeak_version(espeak: str) -> str:
    """e.g. "eSpeak NG text-to-speech: 1.51" (without the data folder, which varies by install)."""
    out = subprocess.run([espeak, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.split("Data at")[0].strip()


def _speak(espeak: str, voice: str, rate: int, text: str, out: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples of ``text`` spoken by espeak-ng (silence trimmed at both ends) and their rate."""
    proc = subprocess.run([espeak, "-v", voice, "-s", str(rate), "-w", str(out), "--stdin"],
                          input=text.encode("utf-8"), capture_output=True, timeout=120)
    if proc.returncode != 0 or not out.is_file():
        why = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
        raise SynthError(f"espeak-ng failed on voice {voice!r}: {why}")
    with wave.open(str(out), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SynthError(f"espeak-ng wrote {w.getnchannels()} channels of {8 * w.getsampwidth()} bits; "
                             "expected 16-bit mono")
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        rate_hz = w.getframerate()
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENT)
    if loud.size == 0:
        return samples[:0], rate_hz
    return samples[loud[0]: loud[-1] + 1], rate_hz


def _plan(manifest: SeminarManifest, script: Script, script_path: Path) -> tuple[Recording, list, dict[str, str]]:
    """The recording to make, its (session, script session) pairs and each speaker's voice."""
    manifest_path = manifest_file(manifest.folder)
    synthetic = [r for r in manifest.recordings if r.synthetic]
    if script.recording is not None:
        try:
            rec = manifest.recording(script.recording)
        except KeyError:
            raise ManifestError(script_path,
                                f"recording: {script.recording!r} is not a recording of seminar.yaml") from None
    elif len(synthetic) == 1:
        rec = synthetic[0]
    else:
        raise ManifestError(script_path, "recording: missing (seminar.yaml has "
                                         f"{len(synthetic)} synthetic recordings)")
    at = f"recordings[{manifest.recordings.index(rec)}]"
    if not rec.synthetic:
        raise ManifestError(manifest_path, f"{at}: not marked synthetic: true (its media is not made from a script)")
    if rec.is_url:
        raise ManifestError(manifest_path, f"{at}.media: a synthetic recording needs a local path, not a URL")
    suffix = Path(rec.media).suffix.lower()
    if suffix not in ENCODERS:
        raise ManifestError(manifest_path, f"{at}.media: cannot synthesise {suffix or 'a file without extension'} "
                                           f"(use {', '.join(ENCODERS)})")
    captions = rec.captions.get(rec.language)
    if captions is None or not captions.lower().endswith(".vtt"):
        raise ManifestError(manifest_path,
                            f"{at}.captions.{rec.language}: needs a .vtt path for the synthesised captions")

    sessions = manifest.sessions_in(rec.id)
    by_number = {s.number: (i, s) for i, s in enumerate(script.sessions)}
    for n in by_number:
        if n not in {s.number for s in sessions}:
            raise ManifestError(script_path, f"sessions[{by_number[n][0]}].number: session {n} is not a session of "
                                             f"recording {rec.id!r} in seminar.yaml")
    pairs, voices, cycle = [], dict(script.voices), itertools.cycle(DEFAULT_VOICES)
    for s in sessions:
        if s.number not in by_number:
            raise ManifestError(script_path, f"sessions: no turns for session {s.number} of recording {rec.id!r}")
        i, ss = by_number[s.number]
        names = {sp.name for sp in s.speakers}
        for j, turn in enumerate(ss.turns):
            if turn.speaker not in names:
                listed = ", ".join(sorted(names)) or "none"
                raise ManifestError(script_path, f"sessions[{i}].turns[{j}].speaker: {turn.speaker!r} is not a speaker "
                                                 f"of session {s.number} in seminar.yaml (listed: {listed})")
            if turn.voice is None and turn.speaker not in voices:
                voices[turn.speaker] = next(cycle)
        pairs.append((s, ss))
    return rec, pairs, voices


def _key(script: Script, rec: Recording, pairs, voices: dict[str, str], espeak: str) -> str:
    payload = {
        "version": SYNTH_VERSION,
        "script": script.model_dump(mode="json"),
        "voices": voices,
        "layout": [(s.number, s.start, s.end, s.title) for s, _ in pairs],
        "title": rec.title,
        "media": rec.media,
        "captions": rec.captions.get(rec.language),
        "espeak": espeak_version(espeak),
        "pauses": [SENTENCE_PAUSE, TURN_PAUSE, LEAD_IN],
        "encoder": ENCODERS[Path(rec.media).suffix.lower()],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def stamp_path(media: Path) -> Path:
    """The hidden file beside the media that records what it was made from."""
    return media.with_name(f".{media.name}.synth.json")


def write_vtt(path: Path, layouts: list[SessionLayout], titles: dict[int, str]) -> None:
    """WebVTT with a NOTE per session and one voiced cue per sentence."""
    lines = ["WEBVTT", "", "NOTE Synthetic recording made by ingest.media.synth from script.yaml: espeak-ng voices, "
             "fictional speakers.", ""]
    for layout in layouts:
        title = titles.get(layout.number, "").replace("-->", "→")  # a NOTE must not hold "-->"
        lines += [f"NOTE Session {layout.number}: {title}".rstrip(), ""]
        for k, cue in enumerate(layout.cues, 1):
            lines += [f"s{layout.number}-{k}", f"{vtt_timestamp(cue.start)} --> {vtt_timestamp(cue.end)}",
                      f"<v {escape_cue_text(cue.speaker)}>{escape_cue_text(cue.text)}", ""]
    _write_atomic(path, "\n".join(lines).encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def synthesise_seminar(folder: Path | str, force: bool = False,
                       progress: Callable[[str], None] | None = print) -> SynthResult:
    """Make (or keep, when up to date) the synthetic recording and captions of the seminar in ``folder``."""
    began = time.perf_counter()
    say = progress or (lambda _msg: None)
    manifest = load_manifest(folder, check_files=False)
    script_path = manifest.folder / SCRIPT_NAME
    if not script_path.is_file():
        raise ManifestError(script_path, "no script: a synthetic recording is spoken from script.yaml")
    script = load_script(script_path)
    rec, pairs, voices = _plan(manifest, script, script_path)
    media = manifest.media_path(rec)
    captions = manifest.local_path(rec.captions[rec.language])
    espeak = _tool("espeak-ng", "espeak-ng")
    ffmpeg = _tool("ffmpeg", "ffmpeg")
    key = _key(script, rec, pairs, voices, espeak)
    duration = max(s.end for s, _ in pairs)
    stamp = stamp_path(media)

    if not force and media.is_file() and captions.is_file() and stamp.is_file():
        try:
            done = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            done = {}
        if done.get("key") == key:
            say(f"{manifest.slug}: {media.name} is up to date (use force to re-create it)")
            return SynthResult(media, captions, duration, True, cues=int(done.get("cues", 0)),
                               elapsed=time.perf_counter() - began)

    media.parent.mkdir(parents=True, exist_ok=True)
    captions.parent.mkdir(parents=True, exist_ok=True)
    jobs = []  # (session index, turn index, sentence, voice, speaker)
    for si, (_s, ss) in enumerate(pairs):
        for ti, turn in enumerate(ss.turns):
            voice = turn.voice or voices[turn.speaker]
            for sentence in split_sentences(turn.text):
                jobs.append((si, ti, sentence, voice, turn.speaker))

    with tempfile.TemporaryDirectory(prefix="kmh-synth-") as tmp:
        tmpdir = Path(tmp)

        def run(k: int):
            _si, _ti, sentence, voice, _speaker = jobs[k]
            return _speak(espeak, voice, script.rate, sentence, tmpdir / f"{k}.wav")

        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            spoken = list(pool.map(run, range(len(jobs))))
        rates = {r for _, r in spoken}
        if len(rates) != 1:
            raise SynthError(f"espeak-ng gave sample rates {sorted(rates)}; expected one")
        sr = rates.pop()

        total = np.zeros(int(round(duration * sr)), dtype=np.int16)
        layouts: list[SessionLayout] = []
        k = 0
        for si, (s, ss) in enumerate(pairs):
            layout = SessionLayout(s.number, s.start, s.end, s.start)
            t = s.start + LEAD_IN
            for ti, _turn in enumerate(ss.turns):
                if ti:
                    t += TURN_PAUSE - SENTENCE_PAUSE
                while k < len(jobs) and jobs[k][0] == si and jobs[k][1] == ti:
                    samples = spoken[k][0]
                    at = int(round(t * sr))
                    end = t + len(samples) / sr
                    if end > s.end:
                        need = _speech_length(jobs, spoken, si, sr)
                        raise ManifestError(manifest_file(manifest.folder),
                                            f"sessions[{manifest.sessions.index(s)}].end: the speech of session "
                                            f"{s.number} needs {need:.1f} s from {format_timestamp(s.start)} but its "
                                            f"slot ends at {format_timestamp(s.end)}; widen the slot or shorten "
                                            f"script.yaml")
                    total[at: at + len(samples)] = samples[: max(0, len(total) - at)]
                    layout.cues.append(Cue(round(t, 3), round(end, 3), jobs[k][4], jobs[k][2]))
                    t = end + SENTENCE_PAUSE
                    k += 1
            layout.speech_end = layout.cues[-1].end if layout.cues else s.start
            layouts.append(layout)
            say(f"session {s.number} ({si + 1}/{len(pairs)}): {len(ss.turns)} turns, {len(layout.cues)} cues, "
                f"{layout.speech_end - s.start:.1f} s of speech in a {s.end - s.start:.1f} s slot "
                f"({format_timestamp(s.start)}-{format_timestamp(s.end)})")

        wav = tmpdir / "recording.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sr)
            w.writeframes(total.tobytes())
        fmt, codec = ENCODERS[media.suffix.lower()]
        part = media.with_name(f".{media.name}.part")
        cmd = [ffmpeg, "-y", "-nostdin", "-loglevel", "error", "-i", str(wav), "-ac", "1", *codec,
               "-metadata", f"title={rec.title or manifest.title}", "-metadata", "comment=synthetic (espeak-ng)",
               "-f", fmt, str(part)]
        proc = subprocess.run(cmd, capture_output=True, timeout=600)
        if proc.returncode != 0:
            part.unlink(missing_ok=True)
            why = proc.stderr.decode("utf-8", "replace").strip()[-500:] or f"exit status {proc.returncode}"
            raise SynthError(f"ffmpeg could not encode {media.name}: {why}")
        os.replace(part, media)

    write_vtt(captions, layouts, {s.number: s.title for s, _ in pairs})
    cues = sum(len(x.cues) for x in layouts)
    _write_atomic(stamp, json.dumps({"key": key, "duration": duration, "cues": cues,
                                     "espeak": espeak_version(espeak)}, indent=1).encode("utf-8"))
    elapsed = time.perf_counter() - began
    say(f"{manifest.slug}: wrote {media.name} ({format_timestamp(duration)}) and {captions.name} "
        f"({cues} cues) in {elapsed:.1f} s")
    return SynthResult(media, captions, duration, False, layouts, cues, elapsed)


def _speech_length(jobs, spoken, si: int, sr: int) -> float:
    """Seconds the speech of one session needs, pauses included."""
    total, last_turn = LEAD_IN, None
    for (s, t, *_), (samples, _r) in zip(jobs, spoken):
        if s != si:
            continue
        if last_turn is not None:
            total += TURN_PAUSE if t != last_turn else SENTENCE_PAUSE
        total += len(samples) / sr
        last_turn = t
    return total
