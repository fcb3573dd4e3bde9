"""Haystack component: speech to timed text with faster-whisper (Whisper base, CTranslate2, on the CPU).

The language is always given (from the recording's manifest or ``--language``), never
detected: detection on the first 30 seconds guesses wrong on seminar openings (music,
greetings in another language), and a wrong language yields a translation, not a transcript.
Silence and music are skipped by faster-whisper's Silero VAD (its model ships inside the
package, no download), which also keeps the decoder from inventing text over silence.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from haystack import component

from ingest.media.audio import DEFAULT_MAX_MEDIA_SECONDS, SAMPLE_RATE, load_audio
from ingest.media.captions import Cue, Word
from kmh.embedding import ModelMissingError
from kmh.settings import Settings

__all__ = ["Cue", "Transcriber", "Word", "check_language", "transcriber"]

COMPUTE_TYPES = ("int8", "int8_float32", "int16", "float32")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def check_language(language: str | None) -> str:
    """The language code, checked: two lowercase letters (ISO 639-1). None is refused."""
    if language is None:
        raise ValueError(
            "the language of the recording is required (speech is never auto-detected): give the manifest's "
            "language or --language, e.g. 'fr' or 'en'"
        )
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise ValueError(f"language must be a two-letter ISO 639-1 code such as 'fr' or 'en', got {language!r}")
    return language


@component
class Transcriber:
    """Transcribes a recording into segment cues and timed words; arguments are checked here."""

    def __init__(
        self,
        model_dir: Path | str,
        language: str | None,
        compute_type: str = "int8",
        threads: int = 0,
        vad: bool = True,
        beam_size: int = 5,
        max_media_seconds: float = DEFAULT_MAX_MEDIA_SECONDS,
        progress_bar: bool = True,
    ):
        """``threads`` 0 uses every core; ``beam_size`` 1 (greedy) is about 1.5x faster, with more errors."""
        self.model_dir = Path(model_dir).expanduser().resolve()
        if not (self.model_dir / "model.bin").exists():
            raise ModelMissingError(
                f"whisper model not found at {self.model_dir}; run `make setup` or `kmh setup-models`"
            )
        self.language = check_language(language)
        if compute_type not in COMPUTE_TYPES:
            raise ValueError(f"compute_type must be one of {', '.join(COMPUTE_TYPES)}, got {compute_type!r}")
        if threads < 0:
            raise ValueError(f"threads must be 0 (all cores) or more, got {threads}")
        if not 1 <= beam_size <= 10:
            raise ValueError(f"beam_size must be between 1 and 10, got {beam_size}")
        if max_media_seconds <= 0:
            raise ValueError(f"max_media_seconds must be positive, got {max_media_seconds}")
        self.compute_type = compute_type
        self.threads = threads
        self.vad = vad
        self.beam_size = beam_size
        self.max_media_seconds = max_media_seconds
        self.progress_bar = progress_bar
        self._model = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        from faster_whisper import WhisperModel

        threads = self.threads or len(os.sched_getaffinity(0))
        self._model = WhisperModel(
            str(self.model_dir),
            device="cpu",
            compute_type=self.compute_type,
            cpu_threads=threads,
            local_files_only=True,
        )
        if self.language not in self._model.supported_languages:
            raise ValueError(f"whisper model at {self.model_dir} does not know the language {self.language!r}")

    @component.output_types(cues=list[Cue], words=list[Word], language=str, seconds=float, elapsed=float)
    def run(
        self,
        audio: str | Path | np.ndarray,
        duration: float | None = None,
        language: str | None = None,
        progress: Callable[[float, float], None] | None = None,
    ) -> dict[str, Any]:
        """Transcribe a file (any audio or video ffmpeg reads) or 16 kHz mono float32 samples.

        ``language`` overrides the component's; ``duration`` only sizes the progress bar (measured
        from the audio when left out); ``progress`` hears (seconds transcribed, seconds in all) after
        each segment. Outputs: one cue per whisper segment, the words with their times, the language
        used, the audio's length in seconds and the seconds spent.
        """
        language = check_language(language or self.language)
        if self._model is None:
            raise RuntimeError("Transcriber.warm_up() must be called before run()")
        if language not in self._model.supported_languages:
            raise ValueError(f"whisper model at {self.model_dir} does not know the language {language!r}")
        if isinstance(audio, np.ndarray):
            samples = np.ascontiguousarray(audio, dtype=np.float32)
            if samples.ndim != 1:
                raise ValueError(f"audio samples must be mono (one dimension), got shape {samples.shape}")
            if len(samples) > self.max_media_seconds * SAMPLE_RATE:
                raise ValueError(f"audio lasts over the {self.max_media_seconds:g} s limit (KMH_MAX_MEDIA_SECONDS)")
        else:
            samples = load_audio(audio, SAMPLE_RATE, self.max_media_seconds)
        seconds = len(samples) / SAMPLE_RATE
        started = time.perf_counter()
        segments, _info = self._model.transcribe(
            samples,
            language=language,
            task="transcribe",
            beam_size=self.beam_size,
            vad_filter=self.vad,
            word_timestamps=True,
        )
        cues: list[Cue] = []
        words: list[Word] = []
        from tqdm import tqdm

        label = audio.name if isinstance(audio, Path) else Path(audio).name if isinstance(audio, str) else "audio"
        with tqdm(total=round(duration or seconds, 1), unit="s", desc=f"transcribing {label}",
                  disable=not self.progress_bar, leave=False) as bar:  # fmt: skip
            done = 0.0
            for seg in segments:  # a generator: decoding happens as it is consumed
                text = seg.text.strip()
                if text:
                    cues.append(Cue(float(seg.start), float(seg.end), text))
                words += [Word(float(w.start), float(w.end), w.word) for w in seg.words or [] if w.word.strip()]
                step = min(float(seg.end), bar.total) - done
                if step > 0:
                    bar.update(round(step, 1))
                    done += round(step, 1)
                    if progress is not None:
                        progress(min(done, seconds), seconds)
        if progress is not None:  # the silence after the last segment is done too
            progress(seconds, seconds)
        return {
            "cues": cues,
            "words": words,
            "language": language,
            "seconds": seconds,
            "elapsed": time.perf_counter() - started,
        }


def transcriber(settings: Settings, language: str | None, progress_bar: bool = True) -> Transcriber:
    """The Transcriber set up by KMH_WHISPER_MODEL, KMH_WHISPER_* and KMH_MAX_MEDIA_SECONDS."""
    return Transcriber(
        settings.whisper_model_path,
        language,
        compute_type=settings.whisper_compute_type,
        threads=settings.whisper_threads,
        beam_size=settings.whisper_beam_size,
        max_media_seconds=settings.max_media_seconds,
        progress_bar=progress_bar,
    )
