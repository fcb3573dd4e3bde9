"""One contract for both vector store backends, run on the real engines.

"edge" is qdrant-edge in a temporary folder; "qdrant" is qdrant-client's local mode in a temporary folder,
standing in for a Qdrant server. A congruence test checks that both give the same answers.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from kmh.sparse import Bm25Encoder
from kmh.store import Filter, Hit, SparseVector, StoredPassage, StoreError, StoreLockedError, VectorStore, open_store
from kmh.store.base import DENSE, HNSW_EF_CONSTRUCT, HNSW_M, SPARSE

DIM = 384
BACKENDS = ["edge", "qdrant"]

# (language, doc_id, year, countries, text)
# fmt: off
SENTENCES = [
    ("fr", "d0", 2016, ["SN"], "Le retour volontaire des migrants au Sénégal a concerné 11 300 personnes."),
    ("fr", "d0", 2016, ["SN"], "La réintégration économique passe par des microentreprises."),
    ("fr", "d0", 2016, ["SN", "ML"], "Les acteurs nationaux ont participé à l'atelier de Saly sur la réintégration durable."),
    ("fr", "d1", 2018, ["ML"], "Au Mali, les réintégrations réussies reposent sur un accompagnement psychosocial."),
    ("fr", "d1", 2018, ["ML"], "Les migrants de retour reçoivent une formation professionnelle et un kit de démarrage."),
    ("fr", "d1", 2018, ["ML", "NE"], "Le suivi des bénéficiaires dure douze mois après leur arrivée."),
    ("fr", "d2", 2019, ["NE"], "Au Niger, le centre de transit accueille les migrants avant leur retour."),
    ("fr", "d2", 2019, ["NE"], "La dimension communautaire de la réintégration renforce la cohésion sociale."),
    ("fr", "d2", 2019, ["NE", "GN"], "Les partenaires ont financé des projets collectifs dans les régions de départ."),
    ("fr", "d3", 2021, ["GN"], "En Guinée, 3,5 % des bénéficiaires ont migré de nouveau."),
    ("fr", "d3", 2021, ["GN"], "Le conseil en réintégration oriente chaque migrant vers les services disponibles."),
    ("fr", "d3", 2021, ["GN", "SN"], "Les femmes migrantes de retour ont bénéficié d'un appui spécifique."),
    ("fr", "d4", 2023, ["CI"], "En Côte d'Ivoire, la santé mentale fait partie du parcours de réintégration."),
    ("fr", "d4", 2023, ["CI"], "Le séminaire a réuni les ministères, les ONG et les associations de migrants."),
    ("fr", "d4", 2023, ["CI", "SN"], "Les leçons apprises sur le retour ont été présentées aux bailleurs."),
    ("en", "d5", 2017, ["NG"], "Voluntary return from Libya helped stranded migrants go home to Nigeria."),
    ("en", "d5", 2017, ["NG"], "Economic reintegration support included business training and cash grants."),
    ("en", "d5", 2017, ["NG", "GH"], "Returnees reported that psychosocial counselling eased their reintegration."),
    ("en", "d6", 2019, ["GH"], "In Ghana, community projects brought returnees and residents together."),
    ("en", "d6", 2019, ["GH"], "Monitoring surveys measured sustainable reintegration after twelve months."),
    ("en", "d6", 2019, ["GH", "GM"], "The reintegration handbook describes case management step by step."),
    ("en", "d7", 2020, ["GM"], "The Gambia programme trained counsellors to assist returning migrants."),
    ("en", "d7", 2020, ["GM"], "Around 11,300 migrants returned in 2019 with assistance."),
    ("en", "d7", 2020, ["GM", "SN"], "Referral mechanisms link returnees to health, housing and education services."),
    ("en", "d8", 2022, ["ET"], "Ethiopian returnees from Saudi Arabia needed mental health care."),
    ("en", "d8", 2022, ["ET"], "Women returnees faced stigma, debts and family pressure after their return."),
    ("en", "d8", 2022, ["ET", "SO"], "Livelihood grants were combined with vocational training and mentoring."),
    ("en", "d9", 2024, ["SO"], "Remote monitoring by phone kept contact with returnees in Somalia."),
    ("en", "d9", 2024, ["SO"], "The evaluation found that reintegration outcomes improved when communities were involved."),
    ("en", "d9", 2024, ["SO", "ET"], "Data protection rules govern how returnee case files are shared between partners."),
]
# fmt: on

QUERIES = [
    "réintégration des migrants de retour",
    "reintegration support for returnees",
    "santé mentale psychosocial",
    "11 300 migrants",
    "training grants",
    "Combien d'acteurs nationaux ont participé à l'atelier de Saly ?",
]

ENC = Bm25Encoder()


def pid(i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kmh-test/{i}"))


def sentence_vectors(i: int) -> list[list[float]] | None:
    """Passage i's multivector: 1 to 3 basis vectors (exact in half precision), none for every tenth passage.
    Its MaxSim with a query is then the query's largest component among those axes, over its norm."""
    if i % 10 == 9:
        return None
    out = []
    for k in range(1 + i % 3):
        v = [0.0] * DIM
        v[(7 * i + 131 * k) % DIM] = 1.0
        out.append(v)
    return out


def _passages() -> list[StoredPassage]:
    rng = np.random.default_rng(1234)
    out = []
    for i, (lang, doc, year, countries, text) in enumerate(SENTENCES):
        dense = rng.normal(size=DIM).astype(np.float32)
        payload = {
            "doc_id": doc,
            "doc_version": 1 + i % 2,
            "language": lang,
            "doc_type": "report" if i % 3 else "seminar",
            "countries": countries,
            "programme": None,
            "topics": ["reintegration"] if "reint" in text.lower() or "réint" in text.lower() else [],
            "kind": "text",
            "status": "published",
            "year": year,
            "page": 1 + i % 4,
            "score_hint": 0.5 + i / 100,
            "text": text,
        }
        out.append(StoredPassage(pid(i), dense.tolist(), ENC.encode_document(text, lang), payload, sentence_vectors(i)))
    return out


PASSAGES = _passages()
BY_ID = {p.id: p for p in PASSAGES}


def query_vector(i: int, noise: float = 0.6, seed: int = 7) -> list[float]:
    """A query near passage i (so dense search has a clear, non-trivial ranking)."""
    rng = np.random.default_rng(seed + i)
    return (np.asarray(PASSAGES[i].dense) + noise * rng.normal(size=DIM)).tolist()


def open_backend(backend: str, root: Path, dim: int = DIM) -> VectorStore:
    if backend == "edge":
        return open_store("edge", path=root / "edge", dim=dim)
    return open_store("qdrant", url=str(root / "local"), dim=dim)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store(backend, tmp_path):
    """A store of its own, for tests that change it."""
    s = open_backend(backend, tmp_path)
    s.upsert(PASSAGES)
    s.optimize()
    yield s
    s.close()


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request, tmp_path_factory):
    """One store per backend for the read-only tests."""
    s = open_backend(request.param, tmp_path_factory.mktemp(request.param))
    s.upsert(PASSAGES)
    s.optimize()
    yield s
    s.close()


def ids(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


def matching(pred) -> set[str]:
    return {p.id for p in PASSAGES if pred(p.payload)}


# expected scores, computed from the definitions


def cosine_ranking(q: list[float], pool: set[str] | None = None) -> list[tuple[str, float]]:
    qv = np.asarray(q, dtype=np.float64)
    out = []
    for p in PASSAGES:
        if pool is not None and p.id not in pool:
            continue
        v = np.asarray(p.dense, dtype=np.float64)
        out.append((p.id, float(qv @ v / (np.linalg.norm(qv) * np.linalg.norm(v)))))
    return sorted(out, key=lambda t: (-t[1], t[0]))


def bm25_ranking(
    q: SparseVector, passages: list[StoredPassage], pool: set[str] | None = None
) -> list[tuple[str, float]]:
    """Qdrant's IDF modifier: idf = ln((N - df + 0.5) / (df + 0.5) + 1), N and df over all live points."""
    n = len(passages)
    df = Counter(i for p in passages for i in set(p.sparse.indices))
    out = []
    for p in passages:
        if pool is not None and p.id not in pool:
            continue
        w = dict(zip(p.sparse.indices, p.sparse.values))
        score = sum(math.log((n - df[i] + 0.5) / (df[i] + 0.5) + 1) * w[i] for i in q.indices if i in w)
        if score > 0:
            out.append((p.id, score))
    return sorted(out, key=lambda t: (-t[1], t[0]))


def maxsim_ranking(q: list[float], pool: set[str]) -> list[tuple[str, float]]:
    """The pool's passages that have sentence vectors, by their best cosine with the query."""
    qv = np.asarray(q, dtype=np.float64)
    qv /= np.linalg.norm(qv)
    out = []
    for p in PASSAGES:
        if p.id in pool and p.sentences:
            out.append((p.id, max(float(qv @ np.asarray(v)) for v in p.sentences)))
    return sorted(out, key=lambda t: (-t[1], t[0]))


def rrf_ranking(lists: list[list[tuple[str, float]]], k: int, weights=None) -> list[tuple[str, float]]:
    scores: Counter[str] = Counter()
    for n, ranked in enumerate(lists):
        for rank, (i, _) in enumerate(ranked):
            scores[i] += (1.0 if weights is None else weights[n]) / (k + rank)
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))


# the contract


def test_upsert_count_and_payload_roundtrip(shared):
    assert shared.count() == len(PASSAGES)
    assert shared.has_sentences
    assert shared.count(Filter(equals={"language": "fr"})) == 15
    hit = shared.retrieve([PASSAGES[0].id])[0]
    assert hit.payload == PASSAGES[0].payload  # None, empty list, float, list[str] survive
    assert hit.score == 0.0


def test_retrieve_keeps_the_order_asked_and_skips_missing(shared):
    wanted = [PASSAGES[5].id, str(uuid.uuid4()), PASSAGES[2].id, PASSAGES[17].id]
    hits = shared.retrieve(wanted)
    assert ids(hits) == [PASSAGES[5].id, PASSAGES[2].id, PASSAGES[17].id]
    assert [h.payload["text"] for h in hits] == [SENTENCES[i][4] for i in (5, 2, 17)]
    assert shared.retrieve([]) == []
    with pytest.raises(ValueError, match="UUID"):
        shared.retrieve(["not-a-uuid"])


def test_retrieve_selected_fields_and_twice_asked_ids(shared):
    wanted = [PASSAGES[5].id, PASSAGES[2].id, PASSAGES[5].id]
    hits = shared.retrieve(wanted, fields=("doc_id", "year", "no_such_field"))
    assert ids(hits) == wanted
    assert [h.payload for h in hits] == [{"doc_id": PASSAGES[i].payload["doc_id"], "year": PASSAGES[i].payload["year"]}
                                         for i in (5, 2, 5)]
    hits[0].payload["year"] = 0  # an id asked twice gets two payloads, not one shared
    assert hits[2].payload["year"] == PASSAGES[5].payload["year"]
    assert [h.payload for h in shared.retrieve(wanted[:1], fields=())] == [{}]


@pytest.mark.parametrize(
    "flt, pred",
    [
        (Filter(equals={"doc_id": "d3"}), lambda p: p["doc_id"] == "d3"),
        (Filter(equals={"doc_id": ["d3", "d7"]}), lambda p: p["doc_id"] in ("d3", "d7")),
        (Filter(equals={"countries": "SN"}), lambda p: "SN" in p["countries"]),
        (Filter(equals={"countries": ("GN", "GM")}), lambda p: bool({"GN", "GM"} & set(p["countries"]))),
        (
            Filter(equals={"doc_version": 2, "language": "en"}),
            lambda p: p["doc_version"] == 2 and p["language"] == "en",
        ),
        (Filter(equals={"doc_id": []}), lambda p: False),
        (Filter(ranges={"year": (2018, 2020)}), lambda p: 2018 <= p["year"] <= 2020),
        (Filter(ranges={"year": (None, 2017)}), lambda p: p["year"] <= 2017),
        (Filter(ranges={"year": (2022, None), "page": (2, 3)}), lambda p: p["year"] >= 2022 and 2 <= p["page"] <= 3),
        (Filter(ranges={"score_hint": (0.6, 0.705)}), lambda p: 0.6 <= p["score_hint"] <= 0.705),
        (Filter(not_equals={"language": "fr"}), lambda p: p["language"] != "fr"),
        (Filter(not_equals={"doc_id": ["d0", "d1", "d9"]}), lambda p: p["doc_id"] not in ("d0", "d1", "d9")),
        (Filter(not_equals={"countries": "SN"}), lambda p: "SN" not in p["countries"]),
        (
            Filter(equals={"language": "fr"}, ranges={"year": (2019, None)}, not_equals={"doc_type": "seminar"}),
            lambda p: p["language"] == "fr" and p["year"] >= 2019 and p["doc_type"] != "seminar",
        ),
    ],
)
def test_filters(shared, flt, pred):
    expected = matching(pred)
    assert shared.count(flt) == len(expected)
    scrolled, _ = shared.scroll(flt, limit=100)
    assert set(ids(scrolled)) == expected
    hits = shared.search(dense=query_vector(0), mode="dense", limit=50, flt=flt)
    assert set(ids(hits)) == expected
    q = ENC.encode_query("réintégration des migrants de retour")
    hits = shared.search(dense=query_vector(0), sparse=q, mode="hybrid", limit=50, flt=flt)
    assert set(ids(hits)) == expected


def test_dense_search_is_exact_cosine(shared):
    for i in (0, 11, 22):
        q = query_vector(i)
        hits = shared.search(dense=q, mode="dense", limit=10)
        expected = cosine_ranking(q)[:10]
        assert ids(hits) == [e[0] for e in expected]
        assert [h.score for h in hits] == pytest.approx([e[1] for e in expected], abs=1e-4)
        assert hits[0].id == PASSAGES[i].id
        assert hits[0].payload["text"] == SENTENCES[i][4]
    own = shared.search(dense=PASSAGES[3].dense, mode="dense", limit=1)[0]
    assert own.id == PASSAGES[3].id and own.score == pytest.approx(1.0, abs=1e-5)


def test_keyword_search_is_bm25_with_idf(shared):
    for text in QUERIES:
        q = ENC.encode_query(text)
        hits = shared.search(sparse=q, mode="keyword", limit=10)
        expected = bm25_ranking(q, PASSAGES)[:10]
        assert ids(hits) == [e[0] for e in expected], text
        assert [h.score for h in hits] == pytest.approx([e[1] for e in expected], rel=1e-4), text
    # a French query finds English passages and the other way round
    fr = shared.search(sparse=ENC.encode_query("réintégration"), mode="keyword", limit=30)
    assert {h.payload["language"] for h in fr} == {"fr", "en"}
    top = shared.search(sparse=ENC.encode_query("atelier de Saly"), mode="keyword", limit=1)
    assert top[0].id == PASSAGES[2].id
    assert shared.search(sparse=ENC.encode_query("le la les"), mode="keyword") == []


@pytest.mark.parametrize("k", [60, 2])
def test_hybrid_search_is_rrf(shared, k):
    for n, text in enumerate(QUERIES):
        dq, sq = query_vector(3 * n), ENC.encode_query(text)
        hits = shared.search(dense=dq, sparse=sq, mode="hybrid", limit=10, rrf_k=k, prefetch_limit=12)
        expected = rrf_ranking([cosine_ranking(dq)[:12], bm25_ranking(sq, PASSAGES)[:12]], k)[:10]
        assert ids(hits) == [e[0] for e in expected], text
        assert [h.score for h in hits] == pytest.approx([e[1] for e in expected], rel=1e-5), text


@pytest.mark.parametrize("weights", [None, (1.0, 1.0, 2.0), (0.5, 2.0, 1.0)])
def test_sentence_ranking_is_maxsim_over_the_candidates(shared, weights):
    assert shared.has_sentences
    without = 0  # candidates without sentence vectors: in the other lists only
    for n, text in enumerate(QUERIES):
        dq, sq = query_vector(3 * n + 1), ENC.encode_query(text)
        hits = shared.search(dense=dq, sparse=sq, limit=10, prefetch_limit=8, sentences=True, weights=weights)
        dense, keyword = cosine_ranking(dq)[:8], bm25_ranking(sq, PASSAGES)[:8]
        pool = {i for i, _ in dense + keyword}
        by_sentences = maxsim_ranking(dq, pool)
        without += len(pool) - len(by_sentences)
        expected = rrf_ranking([dense, keyword, by_sentences], 60, weights)[:10]
        assert ids(hits) == [e[0] for e in expected], text
        assert [h.score for h in hits] == pytest.approx([e[1] for e in expected], rel=1e-5), text
    assert without > 0
    # the third list changes the order; without it, the two-list fusion is unchanged
    dq, sq = query_vector(2), ENC.encode_query(QUERIES[0])
    two = shared.search(dense=dq, sparse=sq, limit=10, prefetch_limit=8)
    assert ids(two) == [e[0] for e in rrf_ranking([cosine_ranking(dq)[:8], bm25_ranking(sq, PASSAGES)[:8]], 60)[:10]]
    assert ids(two) != ids(shared.search(dense=dq, sparse=sq, limit=10, prefetch_limit=8, sentences=True))


def test_sentence_ranking_scores_only_the_best_candidates_of_each_list(shared):
    for n, text in enumerate(QUERIES):
        dq, sq = query_vector(3 * n + 2), ENC.encode_query(text)
        hits = shared.search(dense=dq, sparse=sq, limit=10, prefetch_limit=8, sentences=True, sentence_candidates=3)
        dense, keyword = cosine_ranking(dq)[:8], bm25_ranking(sq, PASSAGES)[:8]
        by_sentences = maxsim_ranking(dq, {i for i, _ in dense[:3] + keyword[:3]})
        expected = rrf_ranking([dense, keyword, by_sentences], 60)[:10]
        assert ids(hits) == [e[0] for e in expected], text
    with pytest.raises(ValueError, match="sentence_candidates"):
        shared.search(dense=dq, sparse=sq, sentences=True, sentence_candidates=0)


def test_sentence_ranking_with_filter_dbsf_and_other_modes(shared):
    flt = Filter(equals={"language": "en"})
    en = matching(lambda p: p["language"] == "en")
    dq, sq = query_vector(20), ENC.encode_query("reintegration support for returnees")
    hits = shared.search(dense=dq, sparse=sq, limit=5, flt=flt, prefetch_limit=6, sentences=True)
    dense, keyword = cosine_ranking(dq, en)[:6], bm25_ranking(sq, PASSAGES, en)[:6]
    by_sentences = maxsim_ranking(dq, {i for i, _ in dense + keyword})
    assert ids(hits) == [e[0] for e in rrf_ranking([dense, keyword, by_sentences], 60)[:5]]
    dbsf = shared.search(dense=dq, sparse=sq, limit=5, flt=flt, fusion="dbsf", sentences=True)
    assert len(dbsf) == 5 and all(h.payload["language"] == "en" for h in dbsf)
    # stop words only: dense and sentence rankings, keyword weight skipped
    hits = shared.search(dense=dq, sparse=ENC.encode_query("the of"), limit=4, sentences=True, weights=(1, 5, 2))
    dense = cosine_ranking(dq)[:100]
    expected = rrf_ranking([dense, maxsim_ranking(dq, {i for i, _ in dense})], 60, (1, 2))[:4]
    assert ids(hits) == [e[0] for e in expected]
    # dense and keyword search ignore it
    dense_only = shared.search(dense=dq, mode="dense", limit=5)
    assert shared.search(dense=dq, mode="dense", limit=5, sentences=True) == dense_only
    with pytest.raises(ValueError, match="3 non-negative"):
        shared.search(dense=dq, sparse=sq, sentences=True, weights=(1, 1))
    with pytest.raises(ValueError, match="2 non-negative"):
        shared.search(dense=dq, sparse=sq, weights=(1, 1, 1))


def test_hybrid_with_filter_and_dbsf(shared):
    flt = Filter(equals={"language": "en"})
    dq, sq = query_vector(20), ENC.encode_query("reintegration support for returnees")
    en = matching(lambda p: p["language"] == "en")
    hits = shared.search(dense=dq, sparse=sq, limit=5, flt=flt, prefetch_limit=8)
    expected = rrf_ranking([cosine_ranking(dq, en)[:8], bm25_ranking(sq, PASSAGES, en)[:8]], 60)[:5]
    assert ids(hits) == [e[0] for e in expected]
    dbsf = shared.search(dense=dq, sparse=sq, limit=5, flt=flt, fusion="dbsf")
    assert len(dbsf) == 5 and all(h.payload["language"] == "en" for h in dbsf)
    assert [h.score for h in dbsf] == sorted((h.score for h in dbsf), reverse=True)
    # a query of stop words only: hybrid falls back to its dense list
    dense_only = shared.search(dense=dq, sparse=ENC.encode_query("the of"), limit=3)
    assert ids(dense_only) == [i for i, _ in cosine_ranking(dq)[:3]]


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_offset_paging(shared, mode):
    dq, sq = query_vector(4), ENC.encode_query("migrants retour reintegration returnees")
    full = shared.search(dense=dq, sparse=sq, mode=mode, limit=12)
    assert len(full) == 12
    pages = [shared.search(dense=dq, sparse=sq, mode=mode, limit=4, offset=o) for o in (0, 4, 8)]
    assert [ids(p) for p in pages] == [ids(full)[0:4], ids(full)[4:8], ids(full)[8:12]]
    assert shared.search(dense=dq, sparse=sq, mode=mode, limit=5, offset=1000) == []


def test_search_argument_errors(shared):
    dq, sq = query_vector(0), ENC.encode_query("retour")
    with pytest.raises(ValueError, match="dense"):
        shared.search(sparse=sq, mode="hybrid")
    with pytest.raises(ValueError, match="dense"):
        shared.search(sparse=sq, mode="dense")
    with pytest.raises(ValueError, match="sparse"):
        shared.search(dense=dq, mode="keyword")
    with pytest.raises(ValueError, match="sparse"):
        shared.search(dense=dq)
    with pytest.raises(ValueError, match="dimensions"):
        shared.search(dense=[0.1] * 10, mode="dense")
    with pytest.raises(ValueError, match="mode"):
        shared.search(dense=dq, mode="semantic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fusion"):
        shared.search(dense=dq, sparse=sq, fusion="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        shared.search(dense=dq, mode="dense", limit=0)
    # keyword search needs no dense vector, dense search no sparse one
    assert shared.search(sparse=sq, mode="keyword", limit=1)
    assert shared.search(dense=dq, mode="dense", limit=1)


def test_delete_by_filter(store):
    store.delete(Filter(equals={"doc_id": "d1"}))
    assert store.count() == len(PASSAGES) - 3
    assert store.count(Filter(equals={"doc_id": "d1"})) == 0
    assert "d1" not in store.facet("doc_id") and store.facet("doc_id")["d2"] == 3
    store.delete(Filter(equals={"doc_id": "d2"}, not_equals={"doc_version": 1}))
    assert store.count(Filter(equals={"doc_id": "d2"})) == 2
    assert store.retrieve([PASSAGES[3].id, PASSAGES[6].id]) == store.retrieve([PASSAGES[6].id])
    hits = store.search(dense=PASSAGES[4].dense, mode="dense", limit=30)
    assert PASSAGES[4].id not in ids(hits) and len(hits) == len(PASSAGES) - 4
    # keyword scores use the IDF of the passages left
    left = [p for p in PASSAGES if p.id in {h.id for h in hits}]
    q = ENC.encode_query("réintégration des migrants de retour")
    expected = bm25_ranking(q, left)[:8]
    got = store.search(sparse=q, mode="keyword", limit=8)
    assert ids(got) == [e[0] for e in expected]
    assert [h.score for h in got] == pytest.approx([e[1] for e in expected], rel=1e-4)
    with pytest.raises(ValueError, match="empty filter"):
        store.delete(Filter())


def test_set_payload_changes_filters_and_keeps_other_fields(store):
    a, b = PASSAGES[0], PASSAGES[1]
    store.set_payload([a.id, b.id, "00000000-0000-0000-0000-00000000beef"], {"topics": ["community"]})
    assert store.count(Filter(equals={"topics": "community"})) == 2
    store.set_payload([b.id], {"topics": []})
    hits = store.search(dense=a.dense, mode="dense", limit=5, flt=Filter(equals={"topics": "community"}))
    assert ids(hits) == [a.id]
    got = store.retrieve([a.id])[0].payload
    assert got["topics"] == ["community"] and got["doc_id"] == a.payload["doc_id"] and got["text"] == a.payload["text"]
    store.set_payload([], {"topics": ["x"]})  # nothing to do
    assert store.count(Filter(equals={"topics": "x"})) == 0


def test_dense_vectors_are_returned_by_id(shared):
    got = shared.dense_vectors([PASSAGES[2].id, PASSAGES[0].id, "00000000-0000-0000-0000-00000000beef"])
    assert set(got) == {PASSAGES[2].id, PASSAGES[0].id}
    for p in (PASSAGES[0], PASSAGES[2]):
        v, w = np.asarray(got[p.id]), np.asarray(p.dense)
        assert float(v @ w / np.linalg.norm(v) / np.linalg.norm(w)) == pytest.approx(1.0, abs=1e-5)
    assert shared.dense_vectors([]) == {}


def test_sentence_vectors_are_returned_by_id_in_one_read(shared):
    with_three = next(p for i, p in enumerate(PASSAGES) if i % 3 == 2 and p.sentences)
    without = PASSAGES[9]
    assert without.sentences is None
    asked = [with_three.id, PASSAGES[0].id, without.id, "00000000-0000-0000-0000-00000000beef", PASSAGES[0].id]
    got = shared.sentence_vectors(asked)
    assert set(got) == {with_three.id, PASSAGES[0].id}  # none for a passage without, nor for an unknown id
    for p in (with_three, PASSAGES[0]):
        assert got[p.id] == p.sentences  # every vector, in the order written (basis vectors: exact in half precision)
    assert len(got[with_three.id]) == 3
    assert shared.sentence_vectors([]) == {}
    with pytest.raises(ValueError, match="UUID"):
        shared.sentence_vectors(["not-a-uuid"])


def as_dict(sparse: SparseVector) -> dict[int, float]:
    return dict(zip(sparse.indices, sparse.values))


def exported(store: VectorStore, batch: int = 256) -> list[StoredPassage]:
    return [p for page in store.export(batch) for p in page]


def test_export_pages_every_passage_with_its_vectors(shared):
    pages = list(shared.export(batch=7))
    assert [len(page) for page in pages] == [7, 7, 7, 7, 2]
    got = [p for page in pages for p in page]
    assert [p.id for p in got] == sorted(BY_ID, key=lambda i: uuid.UUID(i).int)  # id order, each once
    for p in got:
        want = BY_ID[p.id]
        assert p.payload == want.payload
        v = np.asarray(want.dense) / np.linalg.norm(want.dense)  # cosine vectors are kept normalised
        assert np.asarray(p.dense) == pytest.approx(v, abs=1e-6)
        assert as_dict(p.sparse) == pytest.approx(as_dict(want.sparse), rel=1e-6)  # kept in float32
        assert p.sentences == want.sentences  # basis vectors: exact in half precision; None where there are none
    assert sum(1 for p in got if p.sentences is None) == 3
    with pytest.raises(ValueError, match="batch"):
        shared.export(batch=0)


def backend_of(store: VectorStore) -> str:
    return "edge" if type(store).__name__ == "EdgeStore" else "qdrant"


@pytest.mark.parametrize("target", BACKENDS)
def test_export_reimported_into_a_fresh_store_answers_the_same(shared, target, tmp_path):
    source = exported(shared)
    with open_backend(target, tmp_path) as copy:
        for page in shared.export(batch=10):
            copy.upsert(page)
        copy.optimize()
        again = exported(copy)
        assert [p.id for p in again] == [p.id for p in source]
        assert [p.payload for p in again] == [p.payload for p in source]
        if target == backend_of(shared) == "edge":  # it keeps them exactly as it gave them (local mode normalises
            assert again == source                  # the normalised vectors again: the last bit can move)
        for a, b in zip(again, source):
            assert a.dense == pytest.approx(b.dense, abs=1e-6)
            assert a.sparse.indices == b.sparse.indices and a.sparse.values == pytest.approx(b.sparse.values, rel=1e-6)
            assert (a.sentences is None) == (b.sentences is None)
            if a.sentences is not None:
                assert np.asarray(a.sentences) == pytest.approx(np.asarray(b.sentences), abs=1e-3)  # half precision
        same = target == backend_of(shared)
        for n, text in enumerate(QUERIES):
            dq, sq = query_vector(n * 4), ENC.encode_query(text)
            for kw in (dict(dense=dq, mode="dense"), dict(sparse=sq, mode="keyword"), dict(dense=dq, sparse=sq),
                       dict(dense=dq, sparse=sq, sentences=True), dict(dense=dq, sparse=sq, fusion="dbsf"),
                       dict(dense=dq, sparse=sq, flt=Filter(equals={"language": "en"}), sentences=True)):
                a, b = shared.search(limit=10, **kw), copy.search(limit=10, **kw)
                assert ids(a) == ids(b), kw
                assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-6 if same else 1e-4), kw
                assert [h.payload for h in a] == [h.payload for h in b]
        assert copy.facet("countries") == shared.facet("countries")


def test_clear_deletes_every_passage(store):
    store.clear()
    assert store.count() == 0 and exported(store) == []
    assert store.search(dense=query_vector(0), mode="dense") == []
    store.upsert(PASSAGES[:3])  # the collection and its settings stay
    assert store.count() == 3 and store.has_sentences
    assert ids(store.search(dense=PASSAGES[1].dense, mode="dense", limit=1)) == [PASSAGES[1].id]


def test_facet_counts(shared):
    assert shared.facet("language") == {"fr": 15, "en": 15}
    countries = Counter(c for p in PASSAGES for c in p.payload["countries"])
    assert shared.facet("countries") == dict(sorted(countries.items(), key=lambda t: (-t[1], t[0])))
    years = shared.facet("year", flt=Filter(equals={"language": "en"}))
    assert years == {2017: 3, 2019: 3, 2020: 3, 2022: 3, 2024: 3}
    # limit keeps the most frequent values, ties by value
    assert shared.facet("countries", limit=3) == {"SN": 6, "ET": 4, "GH": 4}
    assert shared.facet("doc_id", flt=Filter(equals={"doc_id": "nope"})) == {}


def test_scroll_pages_to_exhaustion(shared):
    seen: list[str] = []
    offset = None
    pages = 0
    while True:
        page, offset = shared.scroll(limit=7, offset=offset)
        seen += ids(page)
        pages += 1
        assert all(h.score == 0.0 and "text" in h.payload for h in page)
        if offset is None:
            break
    assert pages == 5 and sorted(seen) == sorted(BY_ID) and len(set(seen)) == len(seen)
    assert seen == sorted(seen, key=lambda i: uuid.UUID(i).int)  # id order
    flt = Filter(equals={"language": "en"})
    first, nxt = shared.scroll(flt, limit=10)
    second, end = shared.scroll(flt, limit=10, offset=nxt)
    assert end is None and len(first) == 10 and len(second) == 5
    assert {h.payload["language"] for h in first + second} == {"en"}
    # ids(): every page at once, in the same order
    assert shared.ids() == seen
    assert shared.ids(flt) == ids(first + second)


def test_upsert_replaces_an_existing_id(store):
    old = PASSAGES[8]
    text = "Texte remplacé sur la gouvernance des retours."
    new = StoredPassage(
        old.id, PASSAGES[9].dense, ENC.encode_document(text, "fr"), {**old.payload, "text": text, "doc_version": 7}
    )
    store.upsert([new])
    assert store.count() == len(PASSAGES)
    assert store.retrieve([old.id])[0].payload["doc_version"] == 7
    assert store.count(Filter(equals={"doc_version": 7})) == 1
    hits = store.search(dense=PASSAGES[9].dense, mode="dense", limit=2)
    assert {h.id for h in hits} == {old.id, PASSAGES[9].id}
    assert all(h.score == pytest.approx(1.0, abs=1e-5) for h in hits)
    # the replaced text is gone from keyword search, the new one is found, with live IDF
    current = [new if p.id == old.id else p for p in PASSAGES]
    for words in ("projets collectifs", "gouvernance des retours"):
        q = ENC.encode_query(words)
        expected = bm25_ranking(q, current)[:5]
        got = store.search(sparse=q, mode="keyword", limit=5)
        assert ids(got) == [e[0] for e in expected]
        assert [h.score for h in got] == pytest.approx([e[1] for e in expected], rel=1e-4)


def test_ensure_is_idempotent_and_reopen_keeps_data(backend, tmp_path):
    s = open_backend(backend, tmp_path)
    s.upsert(PASSAGES[:10])
    s.ensure()
    s.ensure()
    assert s.count() == 10
    s.close()
    s.close()  # twice is fine
    with open_backend(backend, tmp_path) as again:
        again.ensure()
        assert again.count() == 10
        assert again.retrieve([PASSAGES[4].id])[0].payload == PASSAGES[4].payload
        again.upsert(PASSAGES[10:])
        assert again.count() == len(PASSAGES)
    with open_backend(backend, tmp_path) as third:
        assert third.count() == len(PASSAGES)
        q = ENC.encode_query("reintegration")
        assert ids(third.search(sparse=q, mode="keyword", limit=5)) == [e[0] for e in bm25_ranking(q, PASSAGES)[:5]]


def test_reopen_with_another_dimension_fails(backend, tmp_path):
    open_backend(backend, tmp_path).close()
    with pytest.raises(StoreError):
        open_backend(backend, tmp_path, dim=16)


def test_upsert_checks_dimension_and_ids(store):
    with pytest.raises(ValueError, match="dimensions"):
        store.upsert([StoredPassage(pid(99), [0.1] * 8, SparseVector([1], [1.0]), {})])
    with pytest.raises(ValueError, match="UUID"):
        store.upsert([StoredPassage("a" * 64, [0.1] * DIM, SparseVector([1], [1.0]), {})])
    with pytest.raises(ValueError, match="sentence vector"):
        store.upsert([StoredPassage(pid(99), [0.1] * DIM, SparseVector([1], [1.0]), {}, [[0.1] * DIM, [0.1] * 8])])
    assert store.count() == len(PASSAGES)


def test_replacing_a_passage_replaces_or_drops_its_sentence_vectors(store):
    dq, sq = query_vector(0), ENC.encode_query("retour")
    target = PASSAGES[0]
    axis = int(np.argmax(np.abs(dq)))
    best = [0.0] * DIM
    best[axis] = float(np.sign(dq[axis]))
    store.upsert([StoredPassage(target.id, target.dense, target.sparse, target.payload, [best])])
    by_sentences = store._by_sentences(dq, [[Hit(p.id, 0.0, {}) for p in PASSAGES]])
    assert by_sentences[0].id == target.id
    assert by_sentences[0].score == pytest.approx(abs(dq[axis]) / np.linalg.norm(dq), abs=1e-3)
    assert len(by_sentences) == sum(1 for p in PASSAGES if p.sentences)
    store.upsert([StoredPassage(target.id, target.dense, target.sparse, target.payload)])  # now without any
    by_sentences = store._by_sentences(dq, [[Hit(p.id, 0.0, {}) for p in PASSAGES]])
    assert target.id not in ids(by_sentences) and len(by_sentences) == sum(1 for p in PASSAGES if p.sentences) - 1
    assert target.id in ids(store.search(dense=dq, sparse=sq, limit=len(PASSAGES), sentences=True))


def legacy_store(backend: str, root: Path) -> VectorStore:
    """A store whose collection was created before the sentence multivector existed (dense + bm25 only)."""
    if backend == "edge":
        import qdrant_edge as qe

        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            hnsw_config=qe.HnswIndexConfig(m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=10_000),
        )
        qe.EdgeShard.create(str(root / "edge"), config).close()
    else:
        from qdrant_client import QdrantClient
        from qdrant_client import models as qm

        client = QdrantClient(path=str(root / "local"))
        client.create_collection(
            "passages",
            vectors_config={DENSE: qm.VectorParams(size=DIM, distance=qm.Distance.COSINE)},
            sparse_vectors_config={SPARSE: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
        )
        client.close()
    return open_backend(backend, root)


def test_a_store_without_sentence_vectors_keeps_working(backend, tmp_path):
    with legacy_store(backend, tmp_path) as s:
        assert not s.has_sentences
        with pytest.raises(ValueError, match="re-create the index"):
            s.upsert(PASSAGES[:1])
        s.upsert([StoredPassage(p.id, p.dense, p.sparse, p.payload) for p in PASSAGES])
        dq, sq = query_vector(5), ENC.encode_query(QUERIES[1])
        two = s.search(dense=dq, sparse=sq, limit=10, prefetch_limit=12)
        expected = rrf_ranking([cosine_ranking(dq)[:12], bm25_ranking(sq, PASSAGES)[:12]], 60)[:10]
        assert ids(two) == [e[0] for e in expected]
        assert s.search(dense=dq, sparse=sq, limit=10, prefetch_limit=12, sentences=True) == two
        weighted = s.search(dense=dq, sparse=sq, limit=10, prefetch_limit=12, sentences=True, weights=(2, 1, 3))
        assert weighted == s.search(dense=dq, sparse=sq, limit=10, prefetch_limit=12, weights=(2, 1))
        assert s.sentence_vectors([p.id for p in PASSAGES]) == {}
    with open_backend(backend, tmp_path) as again:  # reopened, still without
        assert not again.has_sentences and again.count() == len(PASSAGES)


# both backends give the same answers


def test_backends_agree(tmp_path):
    edge = open_backend("edge", tmp_path)
    server = open_backend("qdrant", tmp_path)
    try:
        for s in (edge, server):
            s.upsert(PASSAGES)
            s.optimize()

        def same(tol=1e-4, **kw):
            a, b = edge.search(**kw), server.search(**kw)
            assert ids(a) == ids(b), kw.get("mode")
            assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=tol)
            assert [h.payload for h in a] == [h.payload for h in b]
            return a

        flts = [
            None,
            Filter(equals={"language": "fr"}),
            Filter(ranges={"year": (2018, 2022)}, not_equals={"doc_id": "d6"}),
        ]
        for n, text in enumerate(QUERIES):
            dq, sq = query_vector(n * 5), ENC.encode_query(text)
            for flt in flts:
                assert same(dense=dq, mode="dense", limit=10, flt=flt)
                same(sparse=sq, mode="keyword", limit=10, flt=flt)
                assert same(dense=dq, sparse=sq, mode="hybrid", limit=10, flt=flt, prefetch_limit=15)
                same(dense=dq, sparse=sq, mode="hybrid", limit=8, offset=3, flt=flt, rrf_k=10)
                same(dense=dq, sparse=sq, mode="hybrid", limit=10, flt=flt, fusion="dbsf")
                assert same(dense=dq, sparse=sq, limit=10, flt=flt, prefetch_limit=15, sentences=True)
                # edge keeps sentence vectors in half precision (the query too), local mode in double: DBSF,
                # which scales each list by its spread, shows the difference in the 4th decimal
                same(1e-3, dense=dq, sparse=sq, limit=10, flt=flt, sentences=True, weights=(1, 1, 2), fusion="dbsf")

        # after deletes and replacements (where a stale IDF would show)
        for s in (edge, server):
            s.delete(Filter(equals={"doc_id": ["d0", "d5"]}))
            s.upsert([StoredPassage(PASSAGES[9].id, PASSAGES[9].dense, ENC.encode_document("retour retour", "fr"), {})])
        for n, text in enumerate(QUERIES):
            dq, sq = query_vector(n), ENC.encode_query(text)
            same(sparse=sq, mode="keyword", limit=10)
            same(dense=dq, sparse=sq, mode="hybrid", limit=10)
            same(dense=dq, sparse=sq, mode="hybrid", limit=10, sentences=True)
        assert edge.count() == server.count() == len(PASSAGES) - 6
        assert edge.facet("countries") == server.facet("countries")
        assert edge.scroll(limit=100) == server.scroll(limit=100)
        wanted = [p.id for p in reversed(PASSAGES)]
        assert edge.retrieve(wanted) == server.retrieve(wanted)
    finally:
        edge.close()
        server.close()


def test_ties_are_broken_by_id_on_both_backends(tmp_path):
    """Twelve copies of one passage tie in every ranking; both backends order them by id, page by page."""
    copies = [
        StoredPassage(pid(100 + i), PASSAGES[0].dense, PASSAGES[0].sparse, {"programme": f"p{i:02d}"})
        for i in range(12)
    ]
    tied = sorted([PASSAGES[0].id] + [c.id for c in copies])
    stores = [open_backend("edge", tmp_path), open_backend("qdrant", tmp_path)]
    try:
        for s in stores:
            s.upsert(PASSAGES + copies)
        dq, sq = PASSAGES[0].dense, ENC.encode_query("retour volontaire Sénégal")
        for mode in ("dense", "keyword", "hybrid"):
            for limit, offset in ((5, 0), (5, 3), (4, 10), (13, 0)):
                kw = dict(dense=dq, sparse=sq, mode=mode, limit=limit, offset=offset, prefetch_limit=6)
                a, b = (s.search(**kw) for s in stores)
                assert ids(a) == ids(b), (mode, limit, offset)
                if mode != "hybrid":
                    want = tied[offset : offset + limit]
                    assert ids(a)[: len(want)] == want
            # a cut inside the tie keeps the smallest ids in the candidate lists, too
            assert ids(stores[0].search(dense=dq, sparse=sq, limit=3, prefetch_limit=6)) == tied[:3]
        assert stores[0].facet("programme", limit=3) == stores[1].facet("programme", limit=3)
        assert stores[0].facet("programme", limit=3) == {"p00": 1, "p01": 1, "p02": 1}
    finally:
        for s in stores:
            s.close()


# one process owns an edge store

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    if sys.argv[2] == "raw":
        import qdrant_edge
        held = qdrant_edge.EdgeShard.load(sys.argv[1])
    else:
        from kmh.store import open_store
        held = open_store("edge", path=Path(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.read()
    held.close()
    """
)


def test_edge_folder_is_locked_in_the_same_process(tmp_path):
    first = open_store("edge", path=tmp_path / "idx")
    with pytest.raises(StoreLockedError, match="one process owns"):
        open_store("edge", path=tmp_path / "idx")
    first.close()
    second = open_store("edge", path=tmp_path / "idx")  # released on close
    second.close()


@pytest.mark.parametrize("how", ["store", "raw"])
def test_edge_folder_is_locked_by_another_process(tmp_path, how):
    folder = tmp_path / "idx"
    open_store("edge", path=folder).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), how], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as info:
            open_store("edge", path=folder)
        assert info.value.path == folder.resolve()
    finally:
        proc.communicate("", timeout=60)
    assert proc.returncode == 0
    open_store("edge", path=folder).close()


def test_open_store_arguments_and_light_import(tmp_path):
    with pytest.raises(ValueError, match="path"):
        open_store("edge")
    with pytest.raises(ValueError, match="url"):
        open_store("qdrant")
    with pytest.raises(ValueError, match="backend"):
        open_store("faiss", path=tmp_path)
    with open_store("qdrant", url=":memory:", dim=8) as mem:
        mem.upsert([StoredPassage(pid(1), [1.0] * 8, SparseVector([3], [1.0]), {"doc_id": "x"})])
        assert mem.count() == 1
    code = "import sys, kmh.store; print(sorted(m for m in sys.modules if m.startswith('qdrant')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
