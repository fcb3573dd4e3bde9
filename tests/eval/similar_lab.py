"""The same-language bias of "more like this" (search/similar.py) on the bilingual library's pairs.

    python tests/eval/similar_lab.py [--zip ../shared/data/service-public-fr-fiches.zip] [--chars 1200]

Each of the 340 English pages of tests/eval/library/en is on the subject of one service-public.fr fiche. Every
fiche's first French page and every English page are embedded as one e5 passage (their first ``--chars``
characters, about one passage of the index); then, from each page that has a page in the other language on its
subject (its twin), the other 758 pages are ranked by cosine, those in the other language raised by ``bonus``:
how often is the twin first, or among the first five, and how many of the first five share the source's language.
search/similar.py raises the other language by ``relevance_floor - relevance_floor_cross`` (0.03 by default).
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from build_library import DEFAULT_ZIP, LIBRARY  # noqa: E402


def pages(archive: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The first French page of each fiche and the English pages, by fiche id."""
    fr: dict[str, str] = {}
    with zipfile.ZipFile(archive) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            name = Path(info.filename).name
            if name.endswith(".txt"):
                fr.setdefault(name.split("_")[0], z.read(info).decode("utf-8", "replace"))
    en = {p.name.split(".")[0]: p.read_text(encoding="utf-8") for p in sorted((LIBRARY / "en").glob("*.en.md"))}
    return fr, en


def measure(ids: list[tuple[str, str]], sims: np.ndarray, bonus: float, source_language: str) -> dict[str, float]:
    langs = np.array([lang for lang, _ in ids])
    fiches = {f for lang, f in ids if lang == "fr"} & {f for lang, f in ids if lang == "en"}
    first = top5 = same = n = 0
    for a, (lang, fiche) in enumerate(ids):
        if lang != source_language or fiche not in fiches:
            continue
        n += 1
        scores = sims[a] + np.where(langs != lang, bonus, 0.0)
        scores[a] = -9.0
        order = np.argsort(-scores)[:5]
        twin = ids.index(("en" if lang == "fr" else "fr", fiche))
        first += int(order[0] == twin)
        top5 += int(twin in order)
        same += int((langs[order] == lang).sum())
    return {"n": n, "first": first / n, "top5": top5 / n, "same": same / (5 * n)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    ap.add_argument("--chars", type=int, default=1200)
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--bonus", default="0,0.02,0.03,0.04,0.05,0.06")
    args = ap.parse_args(argv)
    from sentence_transformers import SentenceTransformer

    fr, en = pages(args.zip)
    ids = [("fr", f) for f in sorted(fr)] + [("en", f) for f in sorted(en)]
    model = SentenceTransformer(str(args.models / "multilingual-e5-small"), device="cpu", local_files_only=True)
    start = time.monotonic()
    texts = ["passage: " + (fr if lang == "fr" else en)[f][: args.chars] for lang, f in ids]
    vectors = model.encode(texts, normalize_embeddings=True, batch_size=16)
    print(f"{len(fr)} French pages (one per fiche), {len(en)} English ones, embedded in "
          f"{time.monotonic() - start:.0f} s")
    sims = vectors @ vectors.T
    print("| bonus | source | twin first | twin in top 5 | top 5 in the source's language |\n|---|---|---:|---:|---:|")
    for bonus in (float(b) for b in args.bonus.split(",")):
        for source in ("fr", "en"):
            m = measure(ids, sims, bonus, source)
            print(f"| {bonus:.2f} | {source} ({m['n']}) | {m['first']:.1%} | {m['top5']:.1%} | {m['same']:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
