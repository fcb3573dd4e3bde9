"""The benchmark's peer (bench/peer.py, bench/peer_worker.py) without its venv: chromadb takes minutes to
install, so these run the worker's pure functions and its JSON-lines protocol with the project's python."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = load("peer_worker")
peer = load("peer")


def test_worker_imports_neither_chromadb_nor_the_project():
    assert "chromadb" not in sys.modules and "rank_bm25" not in sys.modules
    source = (ROOT / "bench" / "peer_worker.py").read_text()
    assert "from kmh" not in source and "import kmh" not in source and "from ingest" not in source


def test_tokenise_keeps_french_accents_and_lowercases():
    assert worker.tokenise("L'ÉTÉ à Saly : déjà 12 acteurs, côte-d'Ivoire!") == [
        "l", "été", "à", "saly", "déjà", "12", "acteurs", "côte", "d", "ivoire"]
    assert worker.tokenise("  ,;  ") == []


def test_top_n_best_first_positive_only():
    scores = np.array([0.5, 0.0, 2.0, 1.0, 2.0, -1.0])
    assert worker.top_n(scores, 3) == [2, 4, 3]  # the tie at 2.0 by index
    assert worker.top_n(scores, 10) == [2, 4, 3, 0]  # zero and negative scores are no match
    assert worker.top_n(np.array([]), 5) == []


def test_rrf_sums_reciprocal_ranks_with_k_60():
    fused = worker.rrf([["a", "b", "c"], ["c", "d"]])
    assert [i for i, _ in fused] == ["c", "a", "b", "d"]  # b and d tie: b came first
    scores = dict(fused)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["d"] == pytest.approx(1 / 62) and scores["b"] == pytest.approx(1 / 62)
    assert worker.rrf([["x"], ["y"]], k=0) == [("x", 1.0), ("y", 1.0)]  # ties keep their first appearance


def test_passages_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(10, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"p{n}" for n in range(10)]
    texts = [f"Passage {n} : démarches à l'état civil, « guillemets » et 🙂" * (n + 1) for n in range(10)]
    path = peer.write_passages(tmp_path / "passages.npz", ids, texts, vectors)
    got_ids, got_texts, got_vectors = worker.read_passages(str(path))
    assert got_ids == ids and got_texts == texts
    assert got_vectors.dtype == np.float32 and np.array_equal(got_vectors, vectors)
    with pytest.raises(ValueError, match="differ in length"):
        peer.write_passages(tmp_path / "bad.npz", ids, texts[:9], vectors)


def test_protocol_end_to_end_without_chromadb(tmp_path):
    """The client and the worker process speak JSON lines; a failed command is reported and the worker goes on."""
    ids = [f"p{n}" for n in range(10)]
    vectors = np.eye(10, 384, dtype=np.float32)
    path = peer.write_passages(tmp_path / "passages.npz", ids, [f"texte {n}" for n in ids], vectors)
    with peer.Peer(python=Path(sys.executable)) as p:
        pid = p.proc.pid
        rss = p.rss_mib()
        assert 1 < rss["rss_mib"] <= rss["peak_rss_mib"] < 500 and rss["round_trip_seconds"] > 0
        with pytest.raises(peer.PeerError, match="search before index"):
            p.search(vectors[0], "texte", k=3)
        # The project's python has no chromadb: the index command fails by name, lazily, inside its handler.
        with pytest.raises(peer.PeerError, match="No module named 'chromadb'"):
            p.index(path, tmp_path / "chroma")
        with pytest.raises(peer.PeerError, match="unknown cmd 'nope'"):
            p.call("nope")
        assert p.rss_mib()["rss_mib"] > 1 and p.proc.pid == pid  # still the same worker
        proc = p.proc
    assert proc.returncode == 0  # quit ends it cleanly
    with pytest.raises(peer.PeerError, match="no python at"):
        peer.Peer(python=tmp_path / "missing" / "python").start()
