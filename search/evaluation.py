"""Retrieval evaluation: document-level recall@1/5/10, MRR@10 and nDCG@10 over a JSONL file of questions.

Each line: ``{"q": "question", "relevant": ["filename or doc_id", ...]}``. A hit is relevant when its
document's filename or id is listed; hits are deduplicated by document (the best passage of each
document counts, in rank order) before the metrics are computed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    """The questions of a JSONL file; blank lines and lines starting with # are skipped."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
        if not isinstance(item, dict) or not str(item.get("q", "")).strip() or not item.get("relevant"):
            raise ValueError(f'{path}:{n}: each line needs "q" and a non-empty "relevant" list')
        rel = item["relevant"]
        item["relevant"] = [rel] if isinstance(rel, str) else list(rel)
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
    """Binary relevance metrics of one ranked document list."""
    wanted = set(relevant)
    gains = [1.0 if (doc_id in wanted or (name is not None and name in wanted)) else 0.0 for doc_id, name in docs]
    n_rel = len(wanted)

    def recall(n: int) -> float:
        return min(1.0, sum(gains[:n]) / n_rel)

    mrr = next((1.0 / (i + 1) for i, g in enumerate(gains[:k]) if g), 0.0)
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(n_rel, k)))
    return {"recall@1": recall(1), "recall@5": recall(5), "recall@10": recall(k), "mrr@10": mrr,
            "ndcg@10": dcg / idcg if idcg else 0.0}


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
) -> dict[str, dict[str, float]]:
    """Mean metrics per variant (variant name -> metric -> value), plus per-query ranks under "_per_query"."""
    base = Searcher(settings, catalog, store, text_embedder=text_embedder, sparse=sparse)
    base.warm_up()
    out: dict[str, dict[str, float]] = {}
    for v in variants:
        searcher = base
        if v.settings:
            searcher = Searcher(settings.model_copy(update=v.settings), catalog, store,
                                text_embedder=base.embedder, sparse=base.sparse)
            searcher._embed_cached = base._embed_cached  # share the query-embedding cache
            searcher.reranker = base.reranker
        sums = dict.fromkeys(METRICS, 0.0)
        for item in queries:
            res = searcher.search(SearchQuery(q=item["q"], k=max(k, 10), mode=v.mode, group_by_document=True))
            m = metrics(ranked_documents(res.hits), item["relevant"], k)
            for name in METRICS:
                sums[name] += m[name]
        out[v.name] = {name: sums[name] / len(queries) for name in METRICS}
    return out


def table(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table: one row per metric, one column per variant."""
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for m in METRICS:
        lines.append(f"| {m} | " + " | ".join(f"{results[n][m]:.3f}" for n in names) + " |")
    return "\n".join(lines)
