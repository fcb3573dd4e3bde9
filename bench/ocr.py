"""OCR benchmark: word accuracy and seconds per page of scanned PDF pages read by ingest.parsers.ocr (tesseract).

Renders French and English pages with a system font (ingest.scansynth), spoils each in every combination of a turn
(-3, -1.5, +1, +2.5 degrees), a Gaussian blur (0.8 or 1.5 px) and noise (light: 0.5% salt-and-pepper specks and grey
noise of sigma 10; heavy: 2% and 25), saves it as an image-only PDF and parses it with parse_file (OCR on, defaults
KMH_OCR_*). Prints, per language, the word accuracy (1 - word error rate of ingest.media.wer, over all words), the
worst page, the mean page confidence and the seconds per page: wall clock, and the CPU seconds of tesseract itself
(the machine may be shared; CPU time is the steadier figure).

    .venv/bin/python bench/ocr.py [--languages fr,en] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Two pages per language, written for this benchmark (no figures of any programme).
PAGES = {
    "fr": [
        [("title", "Note de terrain sur le suivi de la réintégration"),
         ("text", "Les conseillers en réintégration rencontrent chaque personne de retour dans les deux semaines qui "
                  "suivent son arrivée. Ensemble, ils évaluent ses besoins économiques, sociaux et psychosociaux, puis "
                  "établissent un plan de réintégration personnalisé."),
         ("text", "L'approche intégrée associe les communautés d'origine, les autorités locales et les partenaires "
                  "techniques. Les projets collectifs, comme les coopératives agricoles ou les ateliers de couture, "
                  "renforcent la cohésion sociale et profitent aussi aux membres de la communauté."),
         ("text", "Un suivi régulier, à trois, six et douze mois, permet de vérifier si la réintégration est "
                  "durable : la personne dispose-t-elle d'un revenu stable, d'un logement, d'un accès aux soins et "
                  "d'un réseau de soutien ?")],
        [("title", "Coordination avec les autorités locales"),
         ("text", "Les comités de pilotage réunissent les ministères concernés, les collectivités territoriales et les "
                  "organisations de la société civile. Ils examinent les orientations vers les services publics "
                  "d'emploi, de santé et d'éducation, et veillent à ce que les personnes de retour y aient accès."),
         ("text", "Les agents municipaux reçoivent une formation sur l'approche intégrée. Ils apprennent à repérer les "
                  "besoins psychosociaux, à orienter les familles et à associer les chefs coutumiers aux activités "
                  "communautaires. Les enseignements tirés sont partagés lors d'ateliers réguliers.")],
    ],
    "en": [
        [("title", "Field note on reintegration follow-up"),
         ("text", "Reintegration counsellors meet every returnee within two weeks of arrival. Together they assess "
                  "economic, social and psychosocial needs, and agree on a personalised reintegration plan."),
         ("text", "The integrated approach involves communities of origin, local authorities and technical partners. "
                  "Collective projects such as farming cooperatives or tailoring workshops strengthen social "
                  "cohesion and also benefit community members who never migrated."),
         ("text", "Regular follow-up at three, six and twelve months shows whether reintegration is sustainable: "
                  "does the person have a steady income, housing, access to health care and a support network?")],
        [("title", "Working with local authorities"),
         ("text", "Steering committees bring together the ministries concerned, local governments and civil society "
                  "organisations. They review referrals to public employment, health and education services, and "
                  "make sure that returnees can use them."),
         ("text", "Municipal staff are trained in the integrated approach. They learn to recognise psychosocial "
                  "needs, to refer families and to involve traditional leaders in community activities. Lessons "
                  "learned are shared in regular workshops.")],
    ],
}
SKEWS = (-3.0, -1.5, 1.0, 2.5)
BLURS = (0.8, 1.5)
NOISE = {"light": (0.005, 10.0), "heavy": (0.02, 25.0)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(languages: list[str]) -> dict:
    from ingest.media.wer import spoken_words, word_error_rate
    from ingest.parsers import parse_file
    from ingest.scansynth import Degradation, render_page, write_image_pdf

    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for language in languages:
            pages = []
            combos = list(itertools.product(SKEWS, BLURS, NOISE.items()))
            for n, (skew, blur, (noise_name, (salt, sigma))) in enumerate(combos):
                paragraphs = PAGES[language][n % len(PAGES[language])]
                image = render_page(paragraphs, degradation=Degradation(skew, blur, salt, sigma, seed=n))
                path = write_image_pdf(Path(tmp) / f"{language}-{n}.pdf", [image])
                cpu, started = _children_cpu(), time.perf_counter()
                doc = parse_file(path, max_bytes=50 * 1024 * 1024)
                seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
                reference = " ".join(text for _, text in paragraphs)
                hypothesis = " ".join(b.text for b in doc.blocks)
                words = len(spoken_words(reference))
                pages.append({"skew": skew, "blur": blur, "noise": noise_name, "words": words,
                              "errors": word_error_rate(reference, hypothesis) * words, "seconds": seconds,
                              "tesseract_cpu_s": cpu, "confidence": doc.blocks[0].ocr if doc.blocks else None,
                              "notes": doc.notes})
                print(f"{language} skew {skew:+.1f} blur {blur} {noise_name:5s}: "
                      f"accuracy {1 - pages[-1]['errors'] / words:.3f}, confidence {pages[-1]['confidence']}, "
                      f"{seconds:.1f} s ({cpu:.1f} s tesseract CPU)", flush=True)
            words = sum(p["words"] for p in pages)
            report[language] = {
                "pages": len(pages),
                "words": words,
                "word_accuracy": round(1 - sum(p["errors"] for p in pages) / words, 4),
                "worst_page_accuracy": round(min(1 - p["errors"] / p["words"] for p in pages), 4),
                "mean_confidence": round(statistics.mean(p["confidence"] or 0 for p in pages), 1),
                "median_seconds_per_page": round(statistics.median(p["seconds"] for p in pages), 2),
                "median_tesseract_cpu_s_per_page": round(statistics.median(p["tesseract_cpu_s"] for p in pages), 2),
                "pages_left_out": sum(1 for p in pages if p["notes"]),
                "detail": pages,
            }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="fr,en")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = run(args.languages.split(","))
    print()
    print("| language | pages | words | word accuracy | worst page | mean confidence | s/page (wall) | "
          "tesseract CPU s/page | left out |")
    print("|---|---|---|---|---|---|---|---|---|")
    for language, r in report.items():
        print(f"| {language} | {r['pages']} | {r['words']} | {r['word_accuracy']:.1%} | {r['worst_page_accuracy']:.1%} "
              f"| {r['mean_confidence']} | {r['median_seconds_per_page']} | {r['median_tesseract_cpu_s_per_page']} "
              f"| {r['pages_left_out']} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
