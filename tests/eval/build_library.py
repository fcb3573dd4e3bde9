"""Build the bilingual evaluation library: a folder of documents to ingest and its questions file.

    python tests/eval/build_library.py OUT [--zip ../shared/data/service-public-fr-fiches.zip]
    kmh ingest OUT/docs && kmh eval OUT/questions.jsonl

Documents (OUT/docs):
- fr/: every page of the service-public.fr archive (3,588 French pages of 419 fiches; a fiche such as F10009
  has one page per case, e.g. "à Paris" and "cas général");
- en/: English pages written for this set (tests/eval/library/en/ID.en.md), each on the subject of one fiche,
  340 of them: 240 answer the questions, 100 more are there to compete;
- sample/: the sample corpus's handbook and news pages (French, on migrants' return and reintegration).

Questions (OUT/questions.jsonl, the format of search.evaluation.load_queries): every need of
tests/eval/library/questions-*.jsonl asked in French and in English, its answers the fiche's French pages
(``F10009_*``) and its English page (``F10009.en.md``), and the off-topic questions of offtopic-*.jsonl,
which nothing answers (``relevant`` empty).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LIBRARY = HERE / "library"
DEFAULT_ZIP = ROOT.parent / "shared" / "data" / "service-public-fr-fiches.zip"


def read_needs(folder: Path = LIBRARY) -> tuple[list[dict], list[dict]]:
    """The answerable needs and the off-topic ones, each {"id", "fr", "en", "relevant"}, in file order."""
    needs, off = [], []
    for pattern, out in (("questions-*.jsonl", needs), ("offtopic-*.jsonl", off)):
        for path in sorted(folder.glob(pattern)):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                item = json.loads(line)
                missing = [key for key in ("id", "fr", "en", "relevant") if key not in item]
                if missing:
                    raise ValueError(f"{path}:{n}: missing {', '.join(missing)}")
                out.append(item)
    return needs, off


def twins(pages: dict[str, str]) -> dict[str, set[str]]:
    """Fiches that share a page word for word (some fiches are copies of others, e.g. F2882 and F34701), each
    with the set of its twins, itself included."""
    group = {fiche: {fiche} for fiche in {name.split("_")[0] for name in pages}}
    first: dict[str, str] = {}
    for name, text in sorted(pages.items()):
        fiche, key = name.split("_")[0], " ".join(text.split())
        other = first.setdefault(key, fiche)
        if other != fiche and group[other] is not group[fiche]:
            merged = group[other] | group[fiche]
            for member in merged:
                group[member] = merged
    return group


def questions(needs: list[dict], off: list[dict], group: dict[str, set[str]] | None = None,
              english: set[str] | None = None) -> list[dict]:
    """One line per question: both languages of each need, and its two answers, each a list of alternatives:
    the French pages of its fiches and of their twins (a question cannot tell copies apart), and the English
    pages written for its fiches."""
    out = []
    for need in needs:
        fiches = sorted(set().union(*({f} | (group or {}).get(f, set()) for f in need["relevant"])))
        en = [f"{f}.en.md" for f in need["relevant"] if english is None or f"{f}.en.md" in english]
        relevant = [[f"{f}_*" for f in fiches], en]
        for lang in ("fr", "en"):
            out.append({"q": need[lang], "lang": lang, "need": need["id"], "relevant": relevant})
    for need in off:
        for lang in ("fr", "en"):
            out.append({"q": need[lang], "lang": lang, "need": need["id"], "relevant": []})
    return out


def build(out: Path, archive: Path) -> dict[str, int]:
    docs = out / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    (docs / "fr").mkdir(parents=True)
    counts = {"fr": 0, "en": 0, "sample": 0}
    pages: dict[str, str] = {}
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            name = Path(info.filename).name
            if info.is_dir() or not name.endswith(".txt"):
                continue
            data = z.read(info)
            (docs / "fr" / name).write_bytes(data)
            pages[name] = data.decode("utf-8", "replace")
            counts["fr"] += 1
    shutil.copytree(LIBRARY / "en", docs / "en")
    counts["en"] = len(list((docs / "en").glob("*.md")))
    for sub in ("handbooks", "news"):
        shutil.copytree(ROOT / "corpus" / sub, docs / "sample" / sub)
        counts["sample"] += sum(1 for f in (docs / "sample" / sub).iterdir() if not f.name.endswith(".meta.yaml"))
    needs, off = read_needs()
    fiches = {p.name.split("_")[0] for p in (docs / "fr").iterdir()}
    english = {p.name for p in (docs / "en").iterdir()}
    for need in needs:
        for fiche in need["relevant"]:
            if fiche not in fiches or f"{fiche}.en.md" not in english:
                raise ValueError(f"need {need['id']}: no French pages or English page for fiche {fiche}")
    lines = questions(needs, off, twins(pages), english)
    (out / "questions.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                                         encoding="utf-8")
    counts.update(needs=len(needs), offtopic=len(off), questions=len(lines))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write docs/ and questions.jsonl into")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="the service-public.fr archive")
    args = parser.parse_args(argv)
    if not args.zip.is_file():
        print(f"error: {args.zip} not found (../shared/data/service-public-fr-fiches.zip)", file=sys.stderr)
        return 2
    counts = build(args.out, args.zip)
    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
