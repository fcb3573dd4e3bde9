"""Retrieval evaluation: document-level recall@1/5/10, MRR@10 and nDCG@10 over a JSONL file of questions.

Each line: ``{"q": "question", "relevant": ["filename or doc_id", ...]}``. A hit is relevant when its
document's filename or id is listed; hits are deduplicated by document (the best passage of each
document counts, in rank order) before the metrics are computed.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from kmh.language import guess_language
from kmh.settings import Settings
from search.searcher import Searcher, SearchQuery

METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


@dataclass
class Variant:
    """One column of the table: a search mode and the settings it changes."""

    name: str
    mode: str = "hybrid"
    settings: dict[str, Any] = field(default_factory=dict)


VARIANTS = (
    Variant("hybrid"),  # the configured default
    Variant("dense", "dense"),
    Variant("keyword", "keyword"),
    Variant("rrf k=60", settings={"fusion": "rrf", "rrf_k": 60, "fusion_weights": (1.0, 1.0)}),
    Variant("rrf k=10", settings={"fusion": "rrf", "rrf_k": 10, "fusion_weights": (1.0, 1.0)}),
    Variant("dbsf", settings={"fusion": "dbsf", "fusion_weights": (1.0, 1.0)}),
    Variant("rrf k=60 w=2:1", settings={"fusion": "rrf", "rrf_k": 60, "fusion_weights": (2.0, 1.0)}),
    Variant("dbsf w=2:1", settings={"fusion": "dbsf", "fusion_weights": (2.0, 1.0)}),
    Variant("no sentences", settings={"sentence_ranking": False}),
    Variant("rrf no sentences", settings={"fusion": "rrf", "rrf_k": 60, "fusion_weights": (1.0, 1.0),
                                          "sentence_ranking": False}),
    Variant("sentences w=1", settings={"sentence_ranking": True, "sentence_weight": 1.0}),
    Variant("sentences w=3", settings={"sentence_ranking": True, "sentence_weight": 3.0}),
)


def load_queries(path: Path | str) -> list[dict[str, Any]]:
    """The questions of a JSONL file; blank lines and lines starting with # are skipped.

    Each line: {"q": ..., "relevant": [...]} and optionally "lang" (the question's language, guessed when absent)
    and "need" (an id shared by the same question asked in several languages). ``relevant`` lists file names, doc
    ids or file-name patterns (``F10009_*``), each one answer; an empty list marks a question nothing answers.
    """
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
        if not isinstance(item, dict) or not str(item.get("q", "")).strip() or "relevant" not in item:
            raise ValueError(f'{path}:{n}: each line needs "q" and a "relevant" list (empty: nothing answers it)')
        rel = item["relevant"]
        item["relevant"] = [rel] if isinstance(rel, str) else [x if isinstance(x, str) else tuple(x) for x in rel]
        if not item.get("lang"):
            item["lang"] = guess_language(item["q"], ("fr", "en")) or "fr"
        out.append(item)
    if not out:
        raise ValueError(f"{path}: no questions")
    return out


def ranked_documents(hits) -> list[tuple[str, str | None]]:
    """(doc_id, filename) of the hits' documents, first occurrence of each, in rank order."""
    seen: set[str] = set()
    docs = []
    for h in hits:
        if h.doc_id not in seen:
            seen.add(h.doc_id)
            docs.append((h.doc_id, h.filename))
    return docs


def metrics(docs: list[tuple[str, str | None]], relevant: list[str], k: int = 10) -> dict[str, float]:
    """Binary relevance metrics of one ranked document list (``relevant``: doc ids or file names)."""
    wanted = set(relevant)
    gains = [1.0 if (doc_id in wanted or (name is not None and name in wanted)) else 0.0 for doc_id, name in docs]
    return _metrics(gains, len(wanted), k)


def _metrics(gains: list[float], n_rel: int, k: int) -> dict[str, float]:
    def recall(n: int) -> float:
        return min(1.0, sum(gains[:n]) / n_rel)

    mrr = next((1.0 / (i + 1) for i, g in enumerate(gains[:k]) if g), 0.0)
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(n_rel, k)))
    return {"recall@1": recall(1), "recall@5": recall(5), "recall@10": recall(k), "mrr@10": mrr,
            "ndcg@10": dcg / idcg if idcg else 0.0}


class Answers:
    """Which documents each ``relevant`` entry names, and their language, from the catalog."""

    def __init__(self, catalog):
        self.docs = [(d.id, d.filename, d.language) for d in catalog.every()]
        self._cache: dict[str, tuple[frozenset[str], str | None]] = {}

    def resolve(self, entry: str | tuple[str, ...]) -> tuple[frozenset[str], str | None]:
        """(doc ids, language) of one answer: a doc id, a file name or a file-name pattern, or a tuple of them
        (alternatives: any of them answers)."""
        if entry not in self._cache:
            names = (entry,) if isinstance(entry, str) else entry
            ids = frozenset(i for i, name, _ in self.docs for e in names
                            if e == i or e == name or (name and fnmatchcase(name, e)))
            langs = Counter(lang for i, _, lang in self.docs if i in ids)
            self._cache[entry] = (ids, langs.most_common(1)[0][0] if langs else None)
        return self._cache[entry]


def judge(ranked: list[str], wanted: list[frozenset[str]], ignored: frozenset[str], k: int) -> dict[str, float]:
    """Metrics of a ranked list of doc ids against answers that are each a set of documents (one fiche's pages):
    an answer counts once, at its first document; ``ignored`` documents (answers in another language than the
    direction measured) are taken out of the ranking."""
    gains, seen = [], set()
    for doc_id in ranked:
        if doc_id in ignored:
            continue
        found = next((i for i, ids in enumerate(wanted) if doc_id in ids), None)
        if found is None:
            gains.append(0.0)
        elif found not in seen:
            seen.add(found)
            gains.append(1.0)
    return _metrics(gains, len(wanted), k)


def direction(q_lang: str, doc_lang: str | None) -> str:
    return f"{q_lang.upper()}→{(doc_lang or '?').upper()}"


def evaluate(
    settings: Settings,
    catalog,
    store,
    queries: list[dict[str, Any]],
    *,
    k: int = 10,
    variants=VARIANTS,
    text_embedder=None,
    sparse=None,
) -> dict[str, Any]:
    """Per variant: mean metrics over every (question, answer language) pair ("all") and per direction
    ("FR→EN": French questions, English answers), with the relevance floor applied ("floor", hybrid and dense
    search) and without; and the no-match figures ("no_match": off-topic questions told so, per language, and
    answerable ones whose answer the floor took out of the top ``k``)."""
    answers = Answers(catalog)
    base = Searcher(settings, catalog, store, text_embedder=text_embedder, sparse=sparse)
    base.warm_up()
    out: dict[str, Any] = {}
    for v in variants:
        searcher = base
        if v.settings:
            searcher = Searcher(settings.model_copy(update=v.settings), catalog, store,
                                text_embedder=base.embedder, sparse=base.sparse)
            searcher._embed_cached = base._embed_cached  # share the query-embedding cache
            searcher.reranker = base.reranker
        out[v.name] = _run(searcher, v, queries, answers, k)
    return out


def _run(searcher: Searcher, v: Variant, queries, answers: Answers, k: int) -> dict[str, Any]:
    sums: dict[str, dict[str, dict[str, float]]] = {"plain": {}, "floor": {}}
    counts: Counter = Counter()
    off: Counter = Counter()
    off_told: Counter = Counter()
    lost: Counter = Counter()
    for item in queries:
        res = searcher.search(SearchQuery(q=item["q"], k=max(3 * k, 30), mode=v.mode, group_by_document=True,
                                          include_weak=True))
        lang = item["lang"]
        if not item["relevant"]:
            off[lang] += 1
            off_told[lang] += res.no_match
            continue
        ranked = [d for d, _ in ranked_documents(res.hits)]
        strong = [] if res.no_match else ranked  # the floor only ever empties a whole list
        by_lang: dict[str | None, list[frozenset[str]]] = {}
        for entry in item["relevant"]:
            ids, doc_lang = answers.resolve(entry)
            by_lang.setdefault(doc_lang, []).append(ids)
        for doc_lang, wanted in by_lang.items():
            ignored = frozenset().union(*(ids for other, sets in by_lang.items() if other != doc_lang for ids in sets))
            for key in (direction(lang, doc_lang), "all"):
                counts[key] += 1
                for name, ranking in (("plain", ranked), ("floor", strong)):
                    m = judge(ranking, wanted, ignored, k)
                    acc = sums[name].setdefault(key, dict.fromkeys(METRICS, 0.0))
                    for metric in METRICS:
                        acc[metric] += m[metric]
            top = judge(ranked, wanted, ignored, k)["recall@10"]
            kept = judge(strong, wanted, ignored, k)["recall@10"]
            lost["answers"] += 1
            lost["lost"] += top > kept
    result: dict[str, Any] = {}
    for name in ("plain", "floor"):
        result[name] = {key: {m: acc[m] / counts[key] for m in METRICS} for key, acc in sums[name].items()}
        result[name]["_n"] = dict(counts)
    result["no_match"] = {
        **{f"off-topic {lang.upper()}": off_told[lang] / off[lang] for lang in sorted(off)},
        "answers lost": lost["lost"] / lost["answers"] if lost["answers"] else 0.0,
        "_n": {**{f"off-topic {lang.upper()}": off[lang] for lang in sorted(off)}, "answers lost": lost["answers"]},
    }
    return result


def table(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table: one row per metric, one column per variant."""
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for m in METRICS:
        lines.append(f"| {m} | " + " | ".join(f"{results[n][m]:.3f}" for n in names) + " |")
    return "\n".join(lines)


def report(results: dict[str, Any], *, floor: bool = True) -> str:
    """Markdown: every metric over all questions, then nDCG@10, recall@1 and recall@10 per direction, then the
    no-match rates; with the relevance floor applied unless ``floor`` is False."""
    which = "floor" if floor else "plain"
    names = list(results)
    parts = [table({n: results[n][which]["all"] for n in names})]
    keys = sorted({key for n in names for key in results[n][which] if key not in ("all", "_n")}, key=_direction_order)
    for metric in ("ndcg@10", "recall@1", "recall@10"):
        lines = [f"| {metric} | questions | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
        for key in keys + ["all"]:
            n = results[names[0]][which]["_n"].get(key, 0)
            cells = [results[v][which].get(key, {}).get(metric) for v in names]
            lines.append(f"| {key} | {n} | " + " | ".join("" if c is None else f"{c:.3f}" for c in cells) + " |")
        parts.append("\n".join(lines))
    rows = [key for key in results[names[0]]["no_match"] if key != "_n"]
    lines = ["| no match | questions | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for key in rows:
        n = results[names[0]]["no_match"]["_n"].get(key, 0)
        lines.append(f"| {key} | {n} | " + " | ".join(f"{results[v]['no_match'][key]:.3f}" for v in names) + " |")
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _direction_order(key: str) -> tuple[int, str]:
    order = {"FR→FR": 0, "EN→FR": 1, "FR→EN": 2, "EN→EN": 3}
    return order.get(key, 9), key


def floor_data(searcher: Searcher, queries, answers: Answers, k: int = 10) -> list[dict[str, Any]]:
    """For each question: its need, whether it is off-topic, what decides "no match" (the best relevance among the
    passages the searcher judges, in the question's language, "same", and in others, "cross"), and its answers
    found in the top ``k`` documents, each with its best relevance there and its side (hybrid search)."""
    from search.searcher import relevance

    rows = []
    for item in queries:
        q = item["q"]
        language = guess_language(q, ("fr", "en"))
        pool = searcher._pool(q, "hybrid", SearchQuery(q=q).to_filter(searcher.filters), language)
        judged = searcher._judge(q, "hybrid", pool)
        by_side: dict[str, float] = {}
        best: dict[str, float] = {}
        docs: list[str] = []
        for h, ref in pool:
            value = judged.get(h.id, relevance(h, "hybrid"))
            if ref.id not in best:
                docs.append(ref.id)
            if value is not None:
                best[ref.id] = max(best.get(ref.id, -1.0), value)
            if h.id in judged:
                side = _side(item["lang"], h.payload.get("language"))
                by_side[side] = max(by_side.get(side, -1.0), judged[h.id])
        found = []
        for entry in item["relevant"]:
            ids, doc_lang = answers.resolve(entry)
            inside = [best.get(d, -1.0) for d in docs[:k] if d in ids]
            if inside:
                found.append((max(inside), _side(item["lang"], doc_lang)))
        rows.append({"need": item.get("need") or q, "off": not item["relevant"], "best": by_side, "found": found})
    return rows


def _side(question_lang: str | None, passage_lang: str | None) -> str:
    same = question_lang is None or passage_lang is None or question_lang == passage_lang
    return "same" if same else "cross"


GRID = tuple(round(0.75 + i / 1000, 3) for i in range(201))  # candidate floors, 0.750 to 0.950


def floor_figures(rows: list[dict[str, Any]], floors: tuple[float, float]) -> dict[str, float]:
    """Off-topic questions told "no match", answers (found in the top k) lost because their question was told
    "no match", and answerable questions told "no match", at these (same-language, cross-language) floors."""
    limit = dict(zip(("same", "cross"), floors))
    off = [r for r in rows if r["off"]]
    found = [(v, side) for r in rows if not r["off"] for v, side in r["found"]]
    answerable = [r for r in rows if not r["off"]]

    def nothing(r: dict) -> bool:
        return all(r["best"].get(side, -1.0) < limit[side] for side in limit)

    lost = sum(len(r["found"]) for r in answerable if nothing(r))
    return {"off-topic no match": sum(map(nothing, off)) / len(off) if off else 0.0,
            "answers lost": lost / len(found) if found else 0.0,
            "answerable told no match": sum(map(nothing, answerable)) / len(answerable) if answerable else 0.0}


def floor_grid(rows: list[dict[str, Any]], grid) -> tuple[Any, Any, int]:
    """For every pair (same-language floor, cross-language floor) of ``grid`` x ``grid``: the answers found in the
    top k whose question it tells "no match", the off-topic questions it tells so, and how many answers were found."""
    import numpy as np

    lost, told = np.zeros((len(grid), len(grid))), np.zeros((len(grid), len(grid)))
    for r in rows:
        nothing = (r["best"].get("same", -1.0) < grid)[:, None] & (r["best"].get("cross", -1.0) < grid)[None, :]
        if r["off"]:
            told += nothing
        else:
            lost += nothing * len(r["found"])
    return lost, told, sum(len(r["found"]) for r in rows if not r["off"])


def pick_floors(rows: list[dict[str, Any]], max_lost: float = 0.02) -> tuple[float, float]:
    """The (same-language, cross-language) floors on GRID that tell the most off-topic questions "no match" while
    losing at most ``max_lost`` of the answers found in the top k (an answer is lost when its question is told
    "no match": the floor empties a list, it does not cut into one); ties: fewer answers lost, then lower floors."""
    import numpy as np

    grid = np.array(GRID)
    lost, told, found = floor_grid(rows, grid)
    if not found:
        raise ValueError("no answerable question found its answer: nothing to calibrate on")
    key = np.where(lost <= max_lost * found + 1e-9, told * 10_000 - lost, -np.inf)
    i, j = np.unravel_index(int(np.argmax(key)), key.shape)
    return float(grid[i]), float(grid[j])


def calibrate(rows: list[dict[str, Any]], max_lost: float = 0.02, folds: int = 2) -> dict[str, Any]:
    """The floors from all questions, and cross-validated figures: the floors picked on all needs but one fold's,
    measured on that fold (needs keep their languages together), averaged over folds."""
    import zlib

    floors = pick_floors(rows, max_lost)
    held: list[dict[str, float]] = []
    for f in range(folds):
        part = [zlib.crc32(str(r["need"]).encode()) % folds == f for r in rows]
        train = [r for r, p in zip(rows, part) if not p]
        test = [r for r, p in zip(rows, part) if p]
        held.append(floor_figures(test, pick_floors(train, max_lost)))
    cross = {key: sum(h[key] for h in held) / folds for key in held[0]}
    return {"floor": floors[0], "floor_cross": floors[1], "in_sample": floor_figures(rows, floors),
            "cross_validated": cross}
