"""Ingestion benchmark: passages per second and words per second against the bare float32 encoder, same run.

Two sets:
- "pages": the 3,588 short French pages of ../shared/data/service-public-fr-fiches.zip;
- "reports": long PDF reports made by bench/longdocs.py (20 files of 30 to 100 pages, headings, tables, French,
  English and bilingual).

Each set is ingested into a fresh data folder (embedded qdrant-edge store, SQLite catalog) by the full pipeline
(sniff, parse in the sandbox, metadata, chunk, embed passages and their sentences, BM25, upsert, catalog, original
kept), with the settings of this checkout unless --config asks for others: "before" is the previous pipeline
(PyTorch float32), "late" pools sentence vectors from the passage's pass, "no-sentences" skips them. Then, in the same process, the bare
sentence-transformers encoder in float32 reads the same words: each document's passages joined in order and cut in
200-word windows ("passage: " in front, batches of 16). Words per second of the pipeline over those of the encoder
is the speed-up; the target is at least 2 with the sentence ranking on, and at least 30 passages per second.

The peer (bench/peer.py: ChromaDB plus rank_bm25 in a venv of its own, as Open WebUI runs them) then indexes the
same passages with the same vectors; its time excludes embedding, which it is given.

    .venv/bin/python bench/ingest.py [--sets pages reports] [--limit N] [--config after before] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_ZIP = ROOT.parent / "shared" / "data" / "service-public-fr-fiches.zip"
WINDOW_WORDS = 200
CONFIGS = {
    "after": {},
    "before": {"document_backend": "torch", "sentence_vectors": "separate"},
    "late": {"sentence_vectors": "late"},
    "no-sentences": {"sentence_ranking": False},
}


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def extract(zip_path: Path, dest: Path, limit: int | None) -> list[Path]:
    with zipfile.ZipFile(zip_path) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".txt"))[:limit]
        for n in names:
            z.extract(n, dest)
    return [dest / n for n in names]


def make_set(name: str, dest: Path, limit: int | None, zip_path: Path) -> Path:
    if name == "pages":
        extract(zip_path, dest, limit)
    else:
        from bench.longdocs import make_longdocs

        t0 = time.perf_counter()
        files = make_longdocs(dest, count=limit or 20)
        print(f"reports: {len(files)} PDFs made in {time.perf_counter() - t0:.1f} s", flush=True)
    return dest


def ingest(folder: Path, data: Path, overrides: dict) -> dict:
    """Ingest ``folder`` into a fresh ``data`` folder; figures and the stored passages, per document in order."""
    from ingest.indexer import Indexer
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings

    settings = Settings(data_dir=data, **overrides)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    indexer = Indexer(settings, catalog, store)
    t0 = time.perf_counter()
    indexer.warm_up()
    t_load = time.perf_counter() - t0
    t0, cpu0 = time.perf_counter(), time.process_time()
    results = indexer.run([folder])
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    indexer.close()
    ok = [r for r in results if r.status == "new"]
    failed = [r for r in results if r.status == "failed"]
    passages, offset = [], None
    while True:
        hits, offset = store.scroll(limit=1000, offset=offset)
        passages += [h.payload | {"id": h.id} for h in hits]
        if offset is None:
            break
    sentences = store.sentence_vectors([p["id"] for p in passages]) if store.has_sentences else {}
    vectors = {i: multi[0] for i, multi in sentences.items()} or None  # the multivector starts with the passage's
    store.close()
    catalog.close()
    passages.sort(key=lambda p: (p["doc_id"], p.get("start") or 0, p.get("page") or 0))
    words = sum(len(p["text"].split()) for p in passages)
    return {
        "documents": len(ok), "failed": len(failed), "failures": [f"{r.path.name}: {r.reason}" for r in failed[:5]],
        "passages": len(passages), "sentences": sum(len(v) - 1 for v in sentences.values()),
        "words": words, "seconds": seconds, "cpu_seconds": cpu, "model_load_seconds": t_load,
        "_passages": passages, "_vectors": vectors,
    }


def windows(passages: list[dict]) -> list[str]:
    """Each document's passages joined in order, cut in windows of WINDOW_WORDS words."""
    by_doc: dict[str, list[str]] = {}
    for p in passages:
        by_doc.setdefault(p["doc_id"], []).extend(p["text"].split())
    return ["passage: " + " ".join(w[i:i + WINDOW_WORDS]) for w in by_doc.values() for i in range(0, len(w), WINDOW_WORDS)]


def bare_encoder(texts: list[str]) -> float:
    """Seconds of the bare sentence-transformers encoder in float32 over ``texts``, batches of 16."""
    from sentence_transformers import SentenceTransformer

    from kmh.settings import Settings

    model = SentenceTransformer(str(Settings().embedding_model_path), device="cpu", local_files_only=True)
    model.encode(texts[:16], batch_size=16)  # warm
    t0 = time.perf_counter()
    model.encode(texts, batch_size=16, normalize_embeddings=True)
    return time.perf_counter() - t0


def peer(passages: list[dict], vectors, workdir: Path) -> dict | None:
    import numpy as np

    from bench.peer import peer_index_seconds
    from kmh.embedding import embed_text_of

    if vectors is None:
        return None
    ids = [p["id"] for p in passages]
    texts = [embed_text_of(p["text"], p) for p in passages]
    return peer_index_seconds(ids, texts, np.asarray([vectors[i] for i in ids], np.float32), workdir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", choices=["pages", "reports"], default=["pages", "reports"])
    ap.add_argument("--config", nargs="+", choices=sorted(CONFIGS), default=["after"],
                    help="pipeline settings to run, each on a fresh data folder (default: %(default)s)")
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="service-public zip (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages / N reports")
    ap.add_argument("--no-peer", action="store_true", help="skip the ChromaDB + rank_bm25 peer")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if "pages" in args.sets and not args.zip.exists():
        sys.exit(f"error: {args.zip} not found (the scale corpus lives in ../shared/data/)")

    from kmh.settings import set_offline_env

    set_offline_env()
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="kmh-bench-") as tmp:
        tmp = Path(tmp)
        for name in args.sets:
            folder = make_set(name, tmp / name, args.limit, args.zip)
            runs = {}
            for config in args.config:
                print(f"{name}: ingesting with {config} {CONFIGS[config] or '(this checkout)'}", flush=True)
                runs[config] = ingest(folder, tmp / f"data-{name}-{config}", CONFIGS[config])
            rss = peak_rss_mib()
            first = runs[args.config[0]]
            texts = windows(first["_passages"])
            print(f"{name}: bare encoder on {len(texts)} windows of {WINDOW_WORDS} words", flush=True)
            t_bare = bare_encoder(texts)
            bare_wps = first["words"] / t_bare
            out = {"bare_encoder_seconds": round(t_bare, 1), "bare_encoder_words_per_second": round(bare_wps),
                   "windows": len(texts), "peak_rss_mib_pipelines": round(rss),
                   "peak_rss_mib_parse_worker": round(peak_rss_mib(resource.RUSAGE_CHILDREN))}
            for config, r in runs.items():
                out[config] = {
                    k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items() if not k.startswith("_")
                } | {
                    "passages_per_second": round(r["passages"] / r["seconds"], 2),
                    "words_per_second": round(r["words"] / r["seconds"]),
                    "words_per_second_over_bare_encoder": round(r["words"] / r["seconds"] / bare_wps, 2),
                }
            if not args.no_peer:
                out["peer"] = peer(first["_passages"], first["_vectors"], tmp / f"peer-{name}")
                if out["peer"]:
                    out["peer"]["index_seconds_over_ours"] = round(out["peer"]["total_seconds"] / first["seconds"], 3)
            figures[name] = out
            print(json.dumps({name: out}, indent=2, ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
