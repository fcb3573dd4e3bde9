"""The peer's worker: ChromaDB (cosine) + BM25Okapi, fused by reciprocal rank, over JSON lines.

Run by the peer venv's python (bench/peer.py starts it); it imports nothing from the project, and
chromadb and rank_bm25 only inside the command handlers, so that its pure functions (tokenise,
top_n, rrf) can be imported and tested without them. One JSON object per line on stdin, one
reply per line on stdout ({"error": "..."} when a command fails; the worker goes on):

    {"cmd": "index", "path": "passages.npz", "folder": "chroma/"}
        -> {"passages", "load_seconds", "chroma_seconds", "bm25_seconds", "total_seconds", "versions"}
    {"cmd": "search", "vector": [384 floats, L2-normalised], "text": "question", "k": 10}
        -> {"ids", "chroma_seconds", "bm25_seconds", "fuse_seconds", "seconds"}
    {"cmd": "rss"} -> {"rss_mib", "peak_rss_mib"}
    {"cmd": "quit"} -> {"bye": true}, then exit

50 candidates from each side, reciprocal rank fusion with k=60 (ranks from 1), equal weights. Open WebUI
(backend/open_webui/retrieval/utils.py) fuses langchain's BM25Retriever (BM25Okapi) and its Chroma search
the same way (EnsembleRetriever, c=60) but builds BM25 again from the whole collection for every question
and splits words on spaces; this worker builds BM25 once, when indexing, which flatters the peer.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback

CANDIDATES = 50
RRF_K = 60
WORD = re.compile(r"\w+")  # Unicode word characters: accented letters stay inside their word


def tokenise(text: str) -> list[str]:
    """Lowercased words (letters, digits, underscore; "déjà" stays one word, "l'été" is "l", "été")."""
    return WORD.findall(text.lower())


def top_n(scores, n: int) -> list[int]:
    """Indices of the n highest positive scores, best first (ties by index)."""
    import numpy as np

    scores = np.asarray(scores)
    if len(scores) > n:
        part = np.argpartition(-scores, n - 1)[:n]
    else:
        part = np.arange(len(scores))
    part = part[scores[part] > 0]
    return [int(i) for i in sorted(part, key=lambda i: (-scores[i], i))]


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each id scores the sum of 1 / (k + rank) over the lists (rank from 1), best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    # sorted() is stable: equal scores keep their first appearance.
    return sorted(scores.items(), key=lambda kv: -kv[1])


def read_passages(path: str) -> tuple[list[str], list[str], object]:
    """ids, texts and float32 vectors of a passages file written by bench/peer.py's write_passages."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        ids = [str(i) for i in data["ids"]]
        raw, offsets = data["text_bytes"].tobytes(), data["text_offsets"]
        texts = [raw[offsets[n]:offsets[n + 1]].decode("utf-8") for n in range(len(ids))]
        vectors = np.ascontiguousarray(data["vectors"], dtype=np.float32)
    if vectors.shape[0] != len(ids):
        raise ValueError(f"{len(ids)} ids but {vectors.shape[0]} vectors in {path}")
    return ids, texts, vectors


def rss_mib() -> dict:
    """Resident memory now (VmRSS) and at its peak (VmHWM), from /proc."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return {"rss_mib": fields["VmRSS"], "peak_rss_mib": fields["VmHWM"]}


class Worker:
    """The peer's state: one Chroma collection and one BM25Okapi over the same passages."""

    def __init__(self):
        self.client = None
        self.collection = None
        self.bm25 = None
        self.ids: list[str] = []

    def index(self, path: str, folder: str) -> dict:
        import chromadb
        import numpy as np
        import rank_bm25
        from chromadb.config import Settings

        t0 = time.perf_counter()
        ids, texts, vectors = read_passages(path)
        t1 = time.perf_counter()
        self.client = chromadb.PersistentClient(path=folder, settings=Settings(anonymized_telemetry=False))
        # Open WebUI's collections: cosine space; the vectors come with the passages (no embedding function).
        self.collection = self.client.create_collection("passages", metadata={"hnsw:space": "cosine"},
                                                        embedding_function=None)
        batch = self.client.get_max_batch_size()
        for start in range(0, len(ids), batch):
            end = start + batch
            self.collection.add(ids=ids[start:end], embeddings=vectors[start:end], documents=texts[start:end])
        # One query after adding: any index work Chroma leaves for the first search counts as indexing.
        self.collection.query(query_embeddings=vectors[:1], n_results=1, include=[])
        t2 = time.perf_counter()
        self.bm25 = rank_bm25.BM25Okapi([tokenise(t) for t in texts])
        self.ids = ids
        t3 = time.perf_counter()
        return {"passages": len(ids), "max_batch_size": batch, "load_seconds": t1 - t0,
                "chroma_seconds": t2 - t1, "bm25_seconds": t3 - t2, "total_seconds": t3 - t1,
                "versions": {"chromadb": chromadb.__version__, "rank_bm25": _version("rank_bm25"),
                             "numpy": np.__version__}}

    def search(self, vector: list[float], text: str, k: int) -> dict:
        if self.collection is None:
            raise RuntimeError("search before index")
        t0 = time.perf_counter()
        dense = self.collection.query(query_embeddings=[vector], n_results=min(CANDIDATES, len(self.ids)),
                                      include=[])["ids"][0]
        t1 = time.perf_counter()
        keyword = [self.ids[i] for i in top_n(self.bm25.get_scores(tokenise(text)), CANDIDATES)]
        t2 = time.perf_counter()
        fused = [doc_id for doc_id, _ in rrf([keyword, dense])[:k]]
        t3 = time.perf_counter()
        return {"ids": fused, "chroma_seconds": t1 - t0, "bm25_seconds": t2 - t1, "fuse_seconds": t3 - t2,
                "seconds": t3 - t0}


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def serve(stdin=sys.stdin, stdout=sys.stdout) -> None:
    """Answer one JSON command per line until `quit` or the end of stdin."""
    worker = Worker()
    for line in stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "index":
                reply = worker.index(req["path"], req["folder"])
            elif cmd == "search":
                reply = worker.search(req["vector"], req["text"], int(req.get("k", 10)))
            elif cmd == "rss":
                reply = rss_mib()
            elif cmd == "quit":
                stdout.write(json.dumps({"bye": True}) + "\n")
                stdout.flush()
                return
            else:
                reply = {"error": f"unknown cmd {cmd!r} (index, search, rss, quit)"}
        except Exception as exc:  # one failed command is reported, the worker stays up
            traceback.print_exc(file=sys.stderr)
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


def main() -> None:
    # Replies go to the real stdout; anything else that writes to fd 1 (a library's print, Rust code) goes to stderr.
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin, replies)


if __name__ == "__main__":
    main()
