"""Transcription benchmark: real-time factor and word error rate of the Transcriber on this machine.

Speaks a few paragraphs of English and French reintegration text with espeak-ng (about a minute
and a half per language, paragraphs separated by silences), then transcribes each recording with
the real whisper-base model (int8, VAD filter on, language given) and prints, per language and
beam size, the median real-time factor over the runs (transcription seconds / audio seconds;
target <= 0.35 with the first beam size, the default 5) and the word error rate against the spoken text
(lowercased, punctuation dropped, apostrophes and hyphens split into words).

    .venv/bin/python bench/transcribe.py [--beams 5,1] [--runs 3] [--languages en,fr] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RTF = 0.35
SILENCE_SECONDS = 1.5

# No figures (spoken and written forms differ) and no words spelled differently in British and American English.
TEXTS = {
    "en": [
        "Sustainable reintegration requires economic self-sufficiency, social stability and psychosocial "
        "well-being. Returning migrants should be able to cope with the factors that push them to leave again.",
        "Before departure, each person meets a staff member who explains the assistance available in the country "
        "of origin. After arrival, a case worker helps with housing, medical care and the first steps of a "
        "business plan.",
        "Many returnees start small businesses in farming, trade or transport. Training in bookkeeping and "
        "marketing is offered to every person who receives a grant, and local mentors visit the new "
        "businesses during the first year.",
        "Community projects bring together returnees and local residents, so that the whole community benefits "
        "from the support. Wells, schools and clinics have been repaired with the help of these groups.",
        "Psychosocial support matters as much as money. Social workers listen to people who suffered violence or "
        "detention during their journey, and they refer the most difficult cases to expert services.",
        "Monitoring surveys are carried out several months after return. They measure income, access to services "
        "and the feeling of being safe, and the results are used to improve the support.",
    ],
    "fr": [
        "La réintégration durable suppose l'autonomie économique, la stabilité sociale et le bien-être "
        "psychosocial des migrants de retour. Ceux-ci doivent pouvoir faire face aux causes du départ.",
        "Avant le départ, chaque personne rencontre un conseiller qui présente l'aide disponible dans le pays "
        "d'origine. Après l'arrivée, un agent l'accompagne pour le logement, les soins et son projet.",
        "Beaucoup de personnes de retour créent une petite entreprise dans l'agriculture, le commerce ou le "
        "transport. Une formation en gestion est proposée à chaque bénéficiaire d'une subvention.",
        "Les projets communautaires réunissent les migrants de retour et les habitants, afin que toute la "
        "communauté profite de l'aide. Des puits et des écoles ont été réparés grâce à ces groupes.",
        "Le soutien psychosocial compte autant que l'argent. Les conseillers écoutent les personnes qui ont subi "
        "des violences pendant leur voyage et orientent les cas difficiles vers des services spécialisés.",
        "Des enquêtes de suivi sont menées plusieurs mois après le retour. Elles mesurent les revenus, l'accès "
        "aux services et le sentiment de sécurité, afin d'améliorer les programmes.",
    ],
}
VOICES = {"en": "en-us", "fr": "fr"}


def speak(text: str, voice: str, wav: Path, speed: int = 150) -> None:
    """Write ``text`` spoken by espeak-ng to ``wav``."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)


def recording(language: str, folder: Path) -> np.ndarray:
    """The paragraphs of ``language`` spoken one after the other, 16 kHz mono, silences around them."""
    from ingest.media.audio import SAMPLE_RATE, load_audio

    silence = np.zeros(int(SILENCE_SECONDS * SAMPLE_RATE), np.float32)
    parts = [silence]
    for i, text in enumerate(TEXTS[language]):
        wav = folder / f"{language}-{i}.wav"
        speak(text, VOICES[language], wav)
        parts += [load_audio(wav), silence]
    return np.concatenate(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beams", default="5,1", help="beam sizes, the first is the one judged (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=3, help="runs per language and beam size; the median is kept")
    ap.add_argument("--languages", default="en,fr", help="among: en, fr (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for the model; 0 = all cores")
    ap.add_argument("--model", type=Path, default=None, help="faster-whisper folder (default: KMH settings)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()

    from kmh.settings import Settings, set_offline_env

    set_offline_env()
    if not shutil.which("espeak-ng"):
        sys.exit("espeak-ng not found: install it (make setup does it)")
    from ingest.media.transcribe import Transcriber
    from ingest.media.wer import word_error_rate

    settings = Settings()
    model = args.model or settings.whisper_model_path
    beams = [int(b) for b in args.beams.split(",")]
    languages = args.languages.split(",")
    cores = len(os.sched_getaffinity(0))
    print(f"model {model}, int8, VAD on, {args.threads or cores} threads on {cores} cores, {args.runs} runs each")
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        audio = {lang: recording(lang, Path(tmp)) for lang in languages}
    for beam in beams:
        transcriber = Transcriber(model, "en", threads=args.threads, beam_size=beam, progress_bar=False)
        transcriber.warm_up()
        for lang in languages:
            seconds = len(audio[lang]) / 16000
            runs = [transcriber.run(audio=audio[lang], language=lang) for _ in range(args.runs)]
            rtf = statistics.median(r["elapsed"] / seconds for r in runs)
            text = " ".join(c.text for c in runs[0]["cues"])
            err = word_error_rate(" ".join(TEXTS[lang]), text)
            figures.append({"language": lang, "beam_size": beam, "audio_seconds": round(seconds, 1),
                            "rtf_median": round(rtf, 3), "rtf_runs": [round(r["elapsed"] / seconds, 3) for r in runs],
                            "wer": round(err, 3)})  # fmt: skip
            each = ", ".join(f"{r['elapsed'] / seconds:.3f}" for r in runs)
            print(f"{lang}  beam {beam}  audio {seconds:5.1f} s  RTF median {rtf:.3f} (runs {each})  WER {err:.1%}")
            if lang != "en" or beam == beams[0]:
                print(f"    {text[:300]}{'…' if len(text) > 300 else ''}")
    judged = [f for f in figures if f["beam_size"] == beams[0]]
    worst = max(f["rtf_median"] for f in judged)
    verdict = "OK" if worst <= TARGET_RTF else "OVER"
    print(f"beam {beams[0]}: worst median RTF {worst:.3f} (target <= {TARGET_RTF}): {verdict}")
    if args.json:
        summary = {"cores": cores, "threads": args.threads or cores, "figures": figures}
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
