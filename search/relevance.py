"""How well a passage answers a question, comparable across questions: what the relevance floor compares.

A passage's relevance is the best cosine of the question's vector to the passage's own vector and to the vectors
of its sentences (the stored "sentences" multivector), leaving out fragments: sentences of fewer than
MIN_SENTENCE_WORDS words, and those of fewer than FULL_SENTENCE_WORDS that do not end like a sentence (list items,
heading-like lines: "Partenaires d'exécution", "4. Répondre aux besoins des communautés"). Fragments sit close to
any short question: "Recette de la tarte aux pommes" found them as close as an answer. The engine's MaxSim scores an 8-bit copy of the vectors and counts every fragment; it ranks, this judges.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from kmh.store.base import SPANS_FIELD

MIN_SENTENCE_WORDS = 4
FULL_SENTENCE_WORDS = 8
_ENDS_LIKE_SENTENCE = re.compile(r"[.!?…:;][\"»”’)\]]*\s*$")


def is_fragment(sentence: str) -> bool:
    words = len(sentence.split())
    return words < MIN_SENTENCE_WORDS or (words < FULL_SENTENCE_WORDS and not _ENDS_LIKE_SENTENCE.search(sentence))


def exact_relevance(query: np.ndarray, multivector: Sequence[Sequence[float]], spans: Sequence[int] | None,
                    text: str) -> float | None:
    """Best cosine among the passage vector and its sentences that are not fragments; None without vectors. ``spans``: the payload's flat sentence spans (start, end, ...), in multivector order."""
    if not multivector:
        return None
    vectors = np.asarray(multivector, dtype=np.float32)
    keep = [0]
    flat = list(spans or ())
    for k in range(1, len(vectors)):
        if 2 * k <= len(flat) and is_fragment(text[flat[2 * k - 2]:flat[2 * k - 1]]):
            continue
        keep.append(k)
    chosen = vectors[keep]
    norms = np.linalg.norm(chosen, axis=1)
    norms[norms == 0] = 1.0
    return float(np.max(chosen @ query / norms))


class RelevanceJudge:
    """Reads the vectors, spans and texts of some passages in two store reads and judges each one."""

    def __init__(self, store):
        self.store = store

    def judge(self, query: Sequence[float] | None, ids: Sequence[str]) -> dict[str, float]:
        """Relevance by passage id (passages without sentence vectors left out: the caller keeps the engine's)."""
        ids = list(dict.fromkeys(ids))
        if query is None or not ids or not self.store.has_sentences:
            return {}
        vectors = self.store.sentence_vectors(ids)
        if not vectors:
            return {}
        payloads: dict[str, Any] = {h.id: h.payload for h in self.store.retrieve(list(vectors),
                                                                                fields=("text", SPANS_FIELD))}
        q = np.asarray(query, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        out = {}
        for i, multi in vectors.items():
            p = payloads.get(i, {})
            value = exact_relevance(q, multi, p.get(SPANS_FIELD), p.get("text", ""))
            if value is not None:
                out[i] = value
        return out
