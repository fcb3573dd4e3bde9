"""Search latency benchmark: /api/search over HTTP at 10k and 100k passages.

Realistic French passages: the service-public.fr pages of ../shared/data are parsed and
chunked by the real pipeline and embedded by the real model, passages and their sentences
(cached in bench/out/), then replicated with variations (sentence order shuffled, lead words
added and words dropped, the passage and sentence vectors moved by a small random offset,
BM25 recomputed on the varied text, varied metadata) to reach each size. For each size and backend, a real server (`kmh serve`) answers distinct
queries (so the query-embedding cache never hits) from 1 client and from 8 concurrent
clients; p50/p95/p99 and the server's resident memory are printed.

Next to ours, a real peer (bench/peer.py: ChromaDB + rank_bm25's BM25Okapi fused by reciprocal rank,
Open WebUI's default, in bench/.peer-venv, made on first use; --no-peer leaves it out) indexes the same
passages and vectors and answers the same questions from 1 client, in turns with ours (our answer,
then the peer's, question by question: load from elsewhere falls on both). The questions are embedded once
beforehand by the project's query embedder, so the peer's latency excludes query embedding where ours
includes it: the table also shows the peer with the median embedding time added, and ours/peer ratios.

Then, on the same index with the server stopped, what recording a search for the search analytics adds to it
(services.analytics: the search kept in memory, its id made) is timed in-process around each of N searches, and
printed as the median added microseconds against the median search of the same run; the background thread's
writing, off the request path, is timed too. `--analytics-only` builds each size and measures only that.

    .venv/bin/python bench/search.py [--sizes 10000 100000] [--requests 120] [--local-requests 16] [--no-peer]
    .venv/bin/python bench/search.py --sizes 10000 --pages 60 --analytics-only
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ZIP = ROOT.parent / "shared" / "data" / "service-public-fr-fiches.zip"
OUT = ROOT / "bench" / "out"

TOPICS_FR = ["passeport", "carte d'identité", "allocations familiales", "logement social", "retraite anticipée",
             "permis de conduire", "aide juridictionnelle", "congé parental", "bourse étudiante", "titre de séjour",
             "chômage", "naturalisation", "impôt sur le revenu", "mariage civil", "succession", "RSA",
             "carte grise", "accident du travail", "assurance maladie", "déménagement", "casier judiciaire",
             "allocation logement", "prime d'activité", "arrêt maladie", "divorce", "adoption", "tutelle",
             "stage en entreprise", "création d'entreprise", "inscription sur les listes électorales"]
TEMPLATES_FR = ["Comment faire une demande de {t} ?", "Quelles pièces fournir pour {t} ?", "Quel est le délai pour {t} ?",
                "Qui peut bénéficier de {t} ?", "Combien coûte {t} ?", "{t} : quelles démarches en ligne ?",
                "Où s'adresser pour {t} ?", "Quels recours en cas de refus de {t} ?"]
TOPICS_EN = ["passport renewal", "family allowance", "social housing", "early retirement", "driving licence",
             "legal aid", "parental leave", "student grant", "residence permit", "unemployment benefit",
             "citizenship", "income tax", "sick leave", "vehicle registration", "health insurance"]
TEMPLATES_EN = ["How do I apply for {t}?", "What documents are needed for {t}?", "Who is eligible for {t}?",
                "How long does {t} take?", "Where do I go for {t}?", "What does {t} cost?"]


LEAD_WORDS = ("mise à jour", "précision", "rappel", "nouveauté", "attention", "exemple", "cas particulier",
              "à savoir", "conseil", "important", "note", "complément", "délai", "procédure", "formulaire")


def queries() -> list[str]:
    fr = [tpl.format(t=t) for tpl, t in itertools.product(TEMPLATES_FR, TOPICS_FR)]
    en = [tpl.format(t=t) for tpl, t in itertools.product(TEMPLATES_EN, TOPICS_EN)]
    qs = fr + en
    random.Random(7).shuffle(qs)
    return qs


# ------------------------------------------------------------------------------------------- data


def base_passages(limit_pages: int) -> dict:
    """Parse, chunk and embed the first pages of the corpus with the real pipeline (cached)."""
    OUT.mkdir(parents=True, exist_ok=True)
    cache = OUT / f"base-{limit_pages}-sentences.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=True)
        return {"vectors": data["vectors"], "items": list(data["items"]), "sentence_vectors": data["sentence_vectors"]}
    from ingest.chunking import Chunker
    from ingest.parsers import parse_file
    from ingest.components.passages import PassageEmbedder
    from kmh.embedding import token_encoder
    from kmh.settings import Settings
    from haystack import Document

    settings = Settings()
    chunker = Chunker(settings.chunk_min_words, settings.chunk_max_words, settings.chunk_overlap_words)
    items = []
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(ZIP) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".txt"))[:limit_pages]
        for n in names:
            z.extract(n, tmp)
            parsed = parse_file(Path(tmp) / n, max_bytes=settings.max_file_bytes)
            _, passages = chunker.split(parsed.blocks, "fr")
            for p in passages:
                items.append({"title": parsed.meta.title or Path(n).stem, "section": p.section, "text": p.text,
                              "page": p.page, "start": p.start, "end": p.end, "filename": Path(n).name,
                              "sentences": [p.text[a:b] for a, b in p.sentences], "spans": p.sentences})
    # Passage and sentence vectors as ingestion makes them (ingest.components.passages).
    embedder = PassageEmbedder(token_encoder(settings), prefix=settings.passage_prefix,
                               sentences=settings.sentence_vectors)
    docs = [Document(content=i["text"], meta={"title": i["title"], "section": i["section"],
                                              "sentences": [(a, b) for a, b in i.pop("spans")]}) for i in items]
    print(f"embedding {len(docs)} base passages and their sentences (cached afterwards in {cache})", flush=True)
    embedded = embedder.run(documents=docs)["documents"]
    vectors = np.asarray([d.embedding for d in embedded], dtype=np.float32)
    sentence_vectors = np.empty(len(items), dtype=object)
    for n, d in enumerate(embedded):
        sentence_vectors[n] = np.asarray(d.meta["sentence_vectors"][1:], dtype=np.float32)
    np.savez(cache, vectors=vectors, items=np.asarray(items, dtype=object), sentence_vectors=sentence_vectors)
    return {"vectors": vectors, "items": items, "sentence_vectors": sentence_vectors}


def build(data_dir: Path, size: int, base: dict, backend: str, qdrant_url: str | None,
          peer_file: Path | None = None) -> dict:
    """A data folder with `size` passages (and their documents in the catalog); the seconds of its indexing.

    With `peer_file`, the same passages (title and text, as our BM25 reads them) and the same passage
    vectors are also written there for the peer (bench/peer.py)."""
    from sqlalchemy import insert

    from kmh.ids import passage_id
    from kmh.catalog.models import Document as DocRow, DocumentVersion
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings
    from kmh.sparse import Bm25Encoder
    from kmh.store import SparseVector, StoredPassage

    settings = Settings(data_dir=data_dir, store_backend=backend, qdrant_url=qdrant_url)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    bm25, rng = Bm25Encoder(), np.random.default_rng(size)
    vectors, items = base["vectors"], base["items"]
    types = ["report", "knowledge_paper", "handbook", "news", "seminar_page"]
    countries = ["Senegal", "Morocco", "Togo", "Mali", "Guinea", "Niger", "Côte d'Ivoire", "Cameroon"]
    now = datetime.now(timezone.utc)
    points, docs, versions = [], [], []
    peer_ids, peer_texts = [], []
    peer_vectors = np.empty((size, vectors.shape[1]), dtype=np.float32) if peer_file else None
    t_bm25 = t_upsert = 0.0
    t0 = time.perf_counter()
    for n in range(size):
        i, replica = n % len(items), n // len(items)
        item = items[i]
        sentences = item["text"].split(". ")
        rnd = random.Random(n)
        rnd.shuffle(sentences)
        # Replicas differ in order, length and one lead word, so no two share a BM25 vector (no score ties).
        lead = " ".join(rnd.sample(LEAD_WORDS, rnd.randint(1, 4)))
        words = f"{lead.capitalize()}. {'. '.join(sentences)}".split(" ")
        # and 2-15 % of the words dropped: replicas of one passage get different lengths and term counts,
        # as distinct passages have (a few dropped words gave exact BM25 ties that real passages do not have)
        for _ in range(int(len(words) * rnd.uniform(0.02, 0.15))):
            words.pop(rnd.randrange(1, len(words)))
        text = " ".join(words) if replica else item["text"]
        noise = rng.normal(size=vectors.shape[1]).astype(np.float32)
        vec = vectors[i] + (0.25 * noise / np.linalg.norm(noise) if replica else 0)
        vec /= np.linalg.norm(vec)
        # The multivector: the passage's vector, then its sentences' vectors moved the same way.
        sent = base["sentence_vectors"][i]
        if replica and len(sent):
            noise = rng.normal(size=sent.shape).astype(np.float32)
            sent = sent + 0.25 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
            sent = sent / np.linalg.norm(sent, axis=1, keepdims=True)
        multi = [vec.tolist()] + sent.tolist()
        doc_id = f"{n:012x}"
        year = 2012 + n % 13
        meta = {
            "doc_id": doc_id, "doc_version": 1, "title": item["title"], "filename": item["filename"],
            "doc_type": types[n % len(types)], "language": "fr", "countries": [countries[n % len(countries)]],
            "programme": None, "published": f"{year}-01-01", "year": year, "source_url": None,
            "status": "published", "kind": "document", "index": 0, "page": item["page"],
            "section": item["section"], "section_path": [item["section"]] if item["section"] else [],
            "start": item["start"], "end": item["end"], "text": text,
        }
        t = time.perf_counter()
        sv = bm25.encode_document(f"{item['title']}\n{text}", "fr")
        t_bm25 += time.perf_counter() - t
        if peer_file:
            peer_ids.append(passage_id(doc_id, 1, 0))
            peer_texts.append(f"{item['title']}\n{text}")
            peer_vectors[n] = vec
        points.append(StoredPassage(passage_id(doc_id, 1, 0), multi[0], SparseVector(sv.indices, sv.values), meta,
                                    sentences=multi))
        docs.append(dict(id=doc_id, sha256=f"{n:064x}", filename=item["filename"], source_key=f"bench/{n}",
                         title=item["title"], doc_type=meta["doc_type"], language="fr", published=date(year, 1, 1),
                         countries=meta["countries"], status="published", version=1, ingested_at=now, updated_at=now,
                         passage_count=1, format="txt", mime="text/plain", outline=[], original_path=f"o/{n}.txt"))
        versions.append(dict(doc_id=doc_id, version=1, sha256=f"{n:064x}", filename=item["filename"],
                             original_path=f"o/{n}.txt", ingested_at=now, passage_count=1))
        if len(points) == 2000 or n == size - 1:
            t = time.perf_counter()
            store.upsert(points)
            t_upsert += time.perf_counter() - t
            with catalog.session(write=True) as s:
                s.execute(insert(DocRow), docs)
                s.execute(insert(DocumentVersion), versions)
            points, docs, versions = [], [], []
    t1 = time.perf_counter()
    store.optimize()
    t_optimize = time.perf_counter() - t1
    print(f"  built {size} passages ({backend}): {t1 - t0:.0f} s with the data made on the way "
          f"(BM25 encoding {t_bm25:.1f} s, upserts {t_upsert:.1f} s), optimize {t_optimize:.0f} s", flush=True)
    store.close()
    catalog.close()
    if peer_file:
        from bench.peer import write_passages

        write_passages(peer_file, peer_ids, peer_texts, peer_vectors)
    return {"bm25_seconds": round(t_bm25, 2), "upsert_seconds": round(t_upsert, 2),
            "optimize_seconds": round(t_optimize, 2), "index_seconds": round(t_bm25 + t_upsert + t_optimize, 2)}


# ------------------------------------------------------------------------------------------ serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("kmh")), "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            r = httpx.get(base + "/readyz", timeout=2)
        except httpx.HTTPError:
            r = None
        if r is not None and r.status_code == 200:
            return proc, base
        if r is not None and r.json().get("phase") == "failed":
            proc.kill()
            raise RuntimeError(f"server failed to load: {r.json().get('detail')}")
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server not ready after 300 s")


def measure(base: str, qs: list[str], clients: int, after: Callable[[str], None] | None = None) -> list[float]:
    """Latency in ms of each question; with one client, `after` (untimed) is called after each answer."""
    import httpx

    def one(q: str, client: httpx.Client) -> float:
        t = time.perf_counter()
        r = client.get(base + "/api/search", params={"q": q, "k": 10})
        r.raise_for_status()
        return (time.perf_counter() - t) * 1000

    if clients == 1:
        lat = []
        with httpx.Client(timeout=900) as c:
            for q in qs:
                lat.append(one(q, c))
                if after is not None:
                    after(q)
        return lat
    pool = [httpx.Client(timeout=900) for _ in range(clients)]
    try:
        with ThreadPoolExecutor(clients) as ex:
            return list(ex.map(lambda iq: one(iq[1], pool[iq[0] % clients]), enumerate(qs)))
    finally:
        for c in pool:
            c.close()


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def rss_mib(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def run_case(data_dir: Path, backend: str, qdrant_url: str | None, qs: list[str], requests: int,
             clients_list: tuple[int, ...] = (1, 8), turns: PeerTurns | None = None) -> dict:
    """Ours from 1 and 8 clients; with `turns`, the peer is asked each question of the 1-client run right after us."""
    env = {**os.environ, "KMH_DATA_DIR": str(data_dir), "KMH_STORE_BACKEND": backend}
    if qdrant_url:
        env["KMH_QDRANT_URL"] = qdrant_url
    proc, base = start_server(env)
    try:
        measure(base, ["warm-up " + q for q in qs[:5]], 1)  # first requests load lazy parts
        out = {"rss_mib_idle": round(rss_mib(proc.pid))}
        stream = iter(qs)
        for clients in clients_list:
            batch = [next(stream) for _ in range(requests)]
            after = turns.ask if turns is not None and clients == 1 else None
            peer_before = turns.seconds if after else 0.0
            t = time.perf_counter()
            lat = measure(base, batch, clients, after)
            wall = time.perf_counter() - t - ((turns.seconds - peer_before) if after else 0.0)
            out[f"{clients}_client"] = {
                "requests": len(lat), "p50_ms": round(pct(lat, 50), 1), "p95_ms": round(pct(lat, 95), 1),
                "p99_ms": round(pct(lat, 99), 1), "mean_ms": round(statistics.mean(lat), 1),
                "throughput_rps": round(len(lat) / wall, 1),
            }
            print(f"  {clients} client(s): {json.dumps(out[f'{clients}_client'])}", flush=True)
            out[f"{clients}_client"]["load_average_1min"] = round(os.getloadavg()[0], 1)
        out["rss_mib_after"] = round(rss_mib(proc.pid))
        return out
    finally:
        proc.terminate()
        proc.wait(30)


def analytics_cost(data_dir: Path, backend: str, qdrant_url: str | None, qs: list[str], n: int = 80) -> dict:
    """What recording a search for the analytics adds to it: the searches of ``qs`` (distinct: the query-embedding
    cache never hits) run in-process through services.search on the index of ``data_dir``, each followed by the
    call GET /api/search makes to record it (services.analytics.record_search), both timed; then the background
    writing of those searches, timed apart (it runs off the request path)."""
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings
    from search.results import SearchQuery
    from search.searcher import Searcher
    from services import analytics, search as service

    settings = Settings(data_dir=data_dir, store_backend=backend, qdrant_url=qdrant_url)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        searcher = Searcher(settings, catalog, store)
        searcher.warm_up()
        recorder = analytics.SearchRecorder(catalog, days=settings.analytics_days)  # not started: flushed below
        for q in qs[-n - 3:-n]:  # warm-up, recorded and written: the writing's statements are compiled
            results = service.search(searcher=searcher, query=SearchQuery(q="warm-up " + q, k=10))
            analytics.record_search(recorder=recorder, query=results.query, results=results, channel="api")
        recorder.flush()
        search_ms, record_us = [], []
        for q in qs[-n:]:
            t0 = time.perf_counter()
            results = service.search(searcher=searcher, query=SearchQuery(q=q, k=10))
            t1 = time.perf_counter()
            search_id = analytics.record_search(recorder=recorder, query=results.query, results=results, channel="api")
            t2 = time.perf_counter()
            assert search_id is not None
            search_ms.append((t1 - t0) * 1000)
            record_us.append((t2 - t1) * 1e6)
        t = time.perf_counter()
        written = recorder.flush()
        write_us = (time.perf_counter() - t) * 1e6 / max(1, written)
        assert written == n and catalog.searches(limit=1)[1] == n + 3
        # the same call alone, in a loop on the last answer: its own cost, without what the search leaves running
        alone = []
        for _ in range(2000):
            t = time.perf_counter()
            analytics.record_search(recorder=recorder, query=results.query, results=results, channel="api")
            alone.append((time.perf_counter() - t) * 1e6)
        catalog.delete_searches(audit=False)
    finally:
        store.close()
        catalog.close()
    out = {"searches": n, "search_p50_ms": round(statistics.median(search_ms), 2),
           "record_p50_us": round(statistics.median(record_us), 1), "record_p99_us": round(pct(record_us, 99), 1),
           "record_share_of_search_p50": round(statistics.median(record_us) / 1000 / statistics.median(search_ms), 5),
           "record_alone_p50_us": round(statistics.median(alone), 1),
           "background_write_us_per_search": round(write_us, 1), "load_average_1min": round(os.getloadavg()[0], 1)}
    print(f"  analytics: recording a search adds a median of {out['record_p50_us']} µs (p99 {out['record_p99_us']} µs) "
          f"to a search of median {out['search_p50_ms']} ms ({n} searches, in-process, same index; "
          f"{out['record_alone_p50_us']} µs when timed alone); the background thread writes them at "
          f"{out['background_write_us_per_search']} µs a search", flush=True)
    return out


# ------------------------------------------------------------------------------------------- peer


def embed_queries(texts: list[str]) -> tuple[list[list[float]], list[float]]:
    """Each question embedded once by the project's query embedder (as the server's); vectors and ms each."""
    from kmh.embedding import text_embedder
    from kmh.settings import Settings

    embedder = text_embedder(Settings())
    embedder.warm_up()
    for q in texts[:3]:
        embedder.run(text="warm-up " + q)
    vectors, ms = [], []
    for q in texts:
        t = time.perf_counter()
        vectors.append(embedder.run(text=q)["embedding"])
        ms.append((time.perf_counter() - t) * 1000)
    return vectors, ms


class PeerTurns:
    """The peer's side of the 1-client run: each question, with its vector, asked right after ours asked it, so
    that load from elsewhere on the machine falls on both alike."""

    def __init__(self, peer, vectors: dict[str, list[float]]):
        self.peer, self.vectors = peer, vectors
        self.replies: list[dict] = []
        self.seconds = 0.0

    def ask(self, question: str) -> None:
        t = time.perf_counter()
        self.replies.append(self.peer.search(self.vectors[question], question, k=10))
        self.seconds += time.perf_counter() - t


def index_peer(peer, passages: Path, folder: Path, warm: list[tuple[list[float], str]]) -> dict:
    """The peer indexes the passages into a new Chroma folder and BM25, then answers the warm-up questions."""
    from bench.peer import dir_mib

    index = peer.index(passages, folder)
    out = {"index": {"passages": index["passages"], "chroma_seconds": round(index["chroma_seconds"], 2),
                     "bm25_seconds": round(index["bm25_seconds"], 2),
                     "index_seconds": round(index["total_seconds"], 2), "chroma_disk_mib": round(dir_mib(folder))},
           "versions": index["versions"], "rss_mib_idle": round(peer.rss_mib()["rss_mib"])}
    print(f"  peer indexed: {json.dumps(out['index'])}", flush=True)
    for vector, text in warm:
        peer.search(vector, text, k=10)
    return out


def peer_figures(out: dict, turns: PeerTurns) -> dict:
    """The peer's 1-client latency (round trips over its pipe) and the median time of each part in its worker."""
    lat = [r["round_trip_seconds"] * 1000 for r in turns.replies]
    out["1_client"] = {
        "requests": len(lat), "p50_ms": round(pct(lat, 50), 1), "p95_ms": round(pct(lat, 95), 1),
        "p99_ms": round(pct(lat, 99), 1), "mean_ms": round(statistics.mean(lat), 1),
        "throughput_rps": round(len(lat) / turns.seconds, 1),
    }
    out["worker_p50_ms"] = {part: round(statistics.median(r[f"{part}_seconds"] * 1000 for r in turns.replies), 2)
                            for part in ("chroma", "bm25", "fuse")}
    out["rss_mib_after"] = round(turns.peer.rss_mib()["rss_mib"])
    print(f"  peer 1 client: {json.dumps(out['1_client'])}; in the worker, p50 per part: "
          f"{json.dumps(out['worker_p50_ms'])}", flush=True)
    return out


def compare(ours: dict, ours_index: dict, peer: dict, embed_ms: float) -> dict:
    """Ours over the peer's figures from the same run; the peer's latency with the query embedding added too."""
    o, p = ours["1_client"], peer["1_client"]
    return {
        "query_embedding_p50_ms": round(embed_ms, 1),
        "peer_plus_embedding_p50_ms": round(p["p50_ms"] + embed_ms, 1),
        "peer_plus_embedding_p95_ms": round(p["p95_ms"] + embed_ms, 1),
        "ratio_ours_to_peer_p50": round(o["p50_ms"] / p["p50_ms"], 2),
        "ratio_ours_to_peer_p95": round(o["p95_ms"] / p["p95_ms"], 2),
        "ratio_ours_to_peer_plus_embedding_p50": round(o["p50_ms"] / (p["p50_ms"] + embed_ms), 2),
        "ratio_ours_to_peer_plus_embedding_p95": round(o["p95_ms"] / (p["p95_ms"] + embed_ms), 2),
        "ratio_ours_to_peer_index_seconds": round(ours_index["index_seconds"] / peer["index"]["index_seconds"], 2),
    }


def print_table(rows: list[dict]) -> None:
    print("\nOurs (kmh serve over HTTP, query embedded inside) and the peer (ChromaDB + BM25Okapi, RRF k=60, over a "
          "pipe, given the query vector),\none client, the same passages, vectors and questions, asked in turns "
          "(ours, then the peer, question by question):")
    print(f"{'passages':>9} {'engine':<34} {'index s':>8} {'p50 ms':>7} {'p95 ms':>7} {'RSS MiB':>8} {'disk MiB':>9}")
    for r in rows:
        size, ours, peer, c = r["size"], r["ours"], r["peer"], r["comparison"]
        print(f"{size:>9,} {'ours (qdrant-edge)':<34} {r['ours_index']['index_seconds']:>8.1f} "
              f"{ours['1_client']['p50_ms']:>7.1f} {ours['1_client']['p95_ms']:>7.1f} {ours['rss_mib_after']:>8} "
              f"{r['ours_disk_mib']:>9}")
        print(f"{size:>9,} {'peer (Chroma + BM25Okapi)':<34} {peer['index']['index_seconds']:>8.1f} "
              f"{peer['1_client']['p50_ms']:>7.1f} {peer['1_client']['p95_ms']:>7.1f} {peer['rss_mib_after']:>8} "
              f"{peer['index']['chroma_disk_mib']:>9}")
        label = f"peer + query embedding ({c['query_embedding_p50_ms']} ms)"
        print(f"{size:>9,} {label:<34} {'':>8} {c['peer_plus_embedding_p50_ms']:>7.1f} "
              f"{c['peer_plus_embedding_p95_ms']:>7.1f}")
        print(f"{'':>9} ours/peer: p50 {c['ratio_ours_to_peer_p50']}x, p95 {c['ratio_ours_to_peer_p95']}x; "
              f"with the query embedding added to the peer: p50 {c['ratio_ours_to_peer_plus_embedding_p50']}x, "
              f"p95 {c['ratio_ours_to_peer_plus_embedding_p95']}x; indexing {c['ratio_ours_to_peer_index_seconds']}x "
              "(below 1: ours faster)")
    print("The peer's latency excludes embedding the question (done once beforehand in the bench process); ours "
          "includes it.\nIndexing excludes passage embedding on both sides (vectors given); ours also indexes "
          "each passage's sentence vectors.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--pages", type=int, default=1200, help="service-public pages embedded for real (cached)")
    ap.add_argument("--requests", type=int, default=120, help="requests per client setting (edge backend)")
    ap.add_argument("--local-requests", type=int, default=16, help="the same for qdrant-client's local mode")
    ap.add_argument("--local-sizes", type=int, nargs="*", default=None,
                    help="sizes also run on qdrant-client's local mode (default: all of --sizes; its build is slow)")
    ap.add_argument("--local-clients", type=int, nargs="+", default=[1, 8],
                    help="client counts for local mode (at 100k, 8 clients queue for minutes: use 1)")
    ap.add_argument("--no-peer", action="store_true",
                    help="leave out the peer (ChromaDB + rank_bm25 in bench/.peer-venv, made on first use)")
    ap.add_argument("--analytics-only", action="store_true",
                    help="build each size and measure only what recording a search for the analytics adds to it")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    from kmh.settings import set_offline_env

    set_offline_env()
    qs = queries()
    need = 2 * max(args.requests, args.local_requests) + 5
    if len(qs) < need:
        sys.exit(f"only {len(qs)} distinct queries for {need} requests: lower --requests")
    venv = None
    if args.analytics_only:
        args.no_peer, args.local_sizes = True, []
    if not args.no_peer:
        from bench.peer import ensure_peer_venv

        venv = ensure_peer_venv()
    base = base_passages(args.pages)
    print(f"{len(base['items'])} base passages from {args.pages} pages", flush=True)
    results, rows = {}, []
    if venv:
        # The questions the 1-client run of ours asks (run_case: 5 warm-up ones, then the first `requests`).
        warm_texts, batch_texts = ["warm-up " + q for q in qs[:5]], qs[:args.requests]
        vectors, embed_ms = embed_queries(warm_texts + batch_texts)
        warm, by_text = list(zip(vectors[:5], warm_texts)), dict(zip(batch_texts, vectors[5:]))
        embed_p50 = statistics.median(embed_ms[5:])
        print(f"peer: {len(vectors)} questions embedded beforehand by the query embedder, p50 {embed_p50:.1f} ms "
              f"each (the peer's latency excludes it, ours includes it)", flush=True)
    with tempfile.TemporaryDirectory(prefix="kmh-bench-search-") as tmp:
        local_sizes = args.sizes if args.local_sizes is None else args.local_sizes
        for size in args.sizes:
            cases = [("edge", args.requests)] + ([("qdrant", args.local_requests)] if size in local_sizes else [])
            for backend, requests in cases:
                data = Path(tmp) / f"{backend}-{size}"
                url = str(data / "qdrant-local") if backend == "qdrant" else None
                peer_file = Path(tmp) / f"peer-{size}.npz" if venv and backend == "edge" else None
                index = build(data, size, base, backend, url, peer_file)
                key = f"{size} passages, {'qdrant-edge (embedded)' if backend == 'edge' else 'qdrant-client local mode'}"
                clients = (1, 8) if backend == "edge" else tuple(args.local_clients)
                if peer_file:
                    from bench.peer import Peer

                    folder = Path(tmp) / f"peer-chroma-{size}"
                    with Peer(venv) as worker:
                        peer = index_peer(worker, peer_file, folder, warm)
                        turns = PeerTurns(worker, by_text)
                        results[key] = {"index": index, **run_case(data, backend, url, qs, requests, clients, turns)}
                        peer_figures(peer, turns)
                elif args.analytics_only:
                    results[key] = {"index": index}
                else:
                    results[key] = {"index": index, **run_case(data, backend, url, qs, requests, clients)}
                if backend == "edge":  # in this process: its query-embedding cache is empty
                    results[key]["analytics"] = analytics_cost(data, backend, url, qs)
                print(key, json.dumps(results[key], indent=1), flush=True)
                import shutil

                from bench.peer import dir_mib

                disk = results[key]["disk_mib"] = round(dir_mib(data))
                shutil.rmtree(data, ignore_errors=True)
                if peer_file:
                    peer["comparison"] = compare(results[key], index, peer, embed_p50)
                    results[f"{size} passages, peer (ChromaDB + rank_bm25 BM25Okapi, RRF k=60)"] = peer
                    print(f"  peer vs ours: {json.dumps(peer['comparison'])}", flush=True)
                    rows.append({"size": size, "ours": results[key], "ours_index": index, "ours_disk_mib": disk,
                                 "peer": peer, "comparison": peer["comparison"]})
                    shutil.rmtree(folder, ignore_errors=True)
                    peer_file.unlink()
    if rows:
        print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
