"""Fusion of the dense, keyword and sentence rankings: the formulas by hand, and what the searcher asks the store."""

from __future__ import annotations

import pytest

from kmh.settings import Settings
from kmh.store import Hit
from kmh.store.base import dbsf, rrf
from search.searcher import Searcher, SearchQuery


def hits(*pairs: tuple[str, float]) -> list[Hit]:
    return [Hit(i, score, {}) for i, score in pairs]


DENSE = hits(("a", 0.9), ("b", 0.8), ("c", 0.7))
KEYWORD = hits(("b", 3.0), ("a", 1.0))
SENTENCES = hits(("c", 0.95), ("b", 0.85), ("a", 0.6))


def test_rrf_of_three_lists_by_hand():
    k = 60
    fused = dict(rrf([DENSE, KEYWORD, SENTENCES], k))
    assert fused == pytest.approx({
        "a": 1 / 60 + 1 / 61 + 1 / 62,
        "b": 1 / 61 + 1 / 60 + 1 / 61,
        "c": 1 / 62 + 1 / 60,
    })
    weighted = rrf([DENSE, KEYWORD, SENTENCES], k, [1, 1, 2])
    assert [i for i, _ in weighted] == ["b", "a", "c"]
    assert dict(weighted) == pytest.approx({
        "a": 1 / 60 + 1 / 61 + 2 / 62,
        "b": 1 / 61 + 1 / 60 + 2 / 61,
        "c": 1 / 62 + 2 / 60,
    })
    # a heavy sentence ranking puts its first passage first, though it is last in dense and absent in keyword
    assert rrf([DENSE, KEYWORD, SENTENCES], 1, [1, 1, 4])[0][0] == "c"
    # a missing (empty) third list changes nothing
    assert rrf([DENSE, KEYWORD, []], k, [1, 1, 2]) == rrf([DENSE, KEYWORD], k)


def test_dbsf_of_three_lists_by_hand():
    def scaled(values: list[float]) -> list[float]:
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        return [(v - (mean - 3 * std)) / (6 * std) for v in values]

    d, kw, s = scaled([0.9, 0.8, 0.7]), scaled([3.0, 1.0]), scaled([0.95, 0.85, 0.6])
    fused = dict(dbsf([DENSE, KEYWORD, SENTENCES], [1, 0.5, 2]))
    assert fused == pytest.approx({
        "a": d[0] + 0.5 * kw[1] + 2 * s[2],
        "b": d[1] + 0.5 * kw[0] + 2 * s[1],
        "c": d[2] + 2 * s[0],
    })


# ------------------------------------------------------------------------ what the searcher asks the store


class RecordingStore:
    has_sentences = True

    def __init__(self):
        self.calls: list[dict] = []

    def search(self, **kw):
        self.calls.append(kw)
        return []


class NoCatalog:
    def generation(self):
        return 0

    def refs(self, doc_ids):
        return {}

    def all_refs(self, limit):
        return {}


class FixedEmbedder:
    def warm_up(self):
        pass

    def run(self, text: str):
        return {"embedding": [0.1] * 384}


def asked(mode: str = "hybrid", **settings) -> dict:
    store = RecordingStore()
    searcher = Searcher(Settings(**settings), NoCatalog(), store, text_embedder=FixedEmbedder())
    searcher.search(SearchQuery(q="réintégration durable", mode=mode))  # type: ignore[arg-type]
    return store.calls[0]


def test_hybrid_search_asks_for_the_sentence_ranking_with_its_weight():
    call = asked()
    assert call["sentences"] is True and call["weights"] == (1.0, 1.0, 2.0)
    assert call["sentence_candidates"] == 50 and asked(sentence_candidates=20)["sentence_candidates"] == 20
    call = asked(fusion_weights="2,1", sentence_weight=0.5)
    assert call["sentences"] is True and call["weights"] == (2.0, 1.0, 0.5)
    assert asked(sentence_weight=1.0)["weights"] is None  # all ones: the engines' unweighted fusion


@pytest.mark.parametrize("mode", ["dense", "keyword"])
def test_single_rankings_leave_it_out(mode):
    call = asked(mode)
    assert call["sentences"] is False and call["weights"] is None


def test_the_switch_leaves_it_out():
    call = asked(sentence_ranking=False)
    assert call["sentences"] is False and call["weights"] is None
    assert asked(sentence_ranking=False, fusion_weights="2,1")["weights"] == (2.0, 1.0)


def test_sentence_settings_are_checked(monkeypatch):
    monkeypatch.setenv("KMH_SENTENCE_RANKING", "false")
    monkeypatch.setenv("KMH_SENTENCE_WEIGHT", "1.5")
    s = Settings()
    assert s.sentence_ranking is False and s.sentence_weight == 1.5
    monkeypatch.setenv("KMH_SENTENCE_WEIGHT", "-1")
    with pytest.raises(ValueError, match="sentence_weight"):
        Settings()
