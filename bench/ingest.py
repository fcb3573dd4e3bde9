"""Ingestion benchmark on the service-public.fr scale corpus.

Ingests the 3,588 short French pages of ../shared/data/service-public-fr-fiches.zip into a
fresh data folder and prints documents per second, passages per second, peak memory, and
the ratio of the pipeline's time to the bare encoder's time on the same passages and sentences
(the sentence ranking embeds each passage's sentences too), measured in the same run (target:
the pipeline costs at most 15% more than the encoder alone).

    .venv/bin/python bench/ingest.py [--zip PATH] [--limit N]
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


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def extract(zip_path: Path, dest: Path, limit: int | None) -> list[Path]:
    with zipfile.ZipFile(zip_path) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".txt"))[:limit]
        for n in names:
            z.extract(n, dest)
    return [dest / n for n in names]


def record_sentences(indexer) -> list[list[str]]:
    """Keep the texts of each call of the indexer's sentence embedder (none when the sentence ranking is off)."""
    calls: list[list[str]] = []
    if "sentences" not in indexer.pipeline.graph.nodes:
        return calls
    embedder = indexer.pipeline.get_component("sentences").embedder
    run = embedder.run

    def recorded(documents):
        calls.append([d.content for d in documents])
        return run(documents=documents)

    embedder.run = recorded
    return calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="corpus zip (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if not args.zip.exists():
        sys.exit(f"error: {args.zip} not found (the scale corpus lives in ../shared/data/)")

    from ingest.indexer import Indexer
    from kmh.embedding import embed_text_of
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings, set_offline_env

    set_offline_env()
    with tempfile.TemporaryDirectory(prefix="kmh-bench-") as tmp:
        tmp = Path(tmp)
        files = extract(args.zip, tmp / "corpus", args.limit)
        settings = Settings(data_dir=tmp / "data")
        catalog, store = open_catalog(settings), open_vector_store(settings)
        indexer = Indexer(settings, catalog, store)
        indexer.warm_up()
        rss_before = peak_rss_mib()
        sentence_calls = record_sentences(indexer)

        t0 = time.perf_counter()
        results = indexer.run([tmp / "corpus"])
        t_pipeline = time.perf_counter() - t0
        ok = [r for r in results if r.status == "new"]
        failed = [r for r in results if r.status == "failed"]
        passages = sum(r.passages for r in ok)
        rss_pipeline = peak_rss_mib()

        # The bare encoder on exactly the strings the pipeline embedded, in the same batches.
        texts, offset = [], None
        while True:
            hits, offset = store.scroll(limit=1000, offset=offset)
            texts += [settings.passage_prefix + embed_text_of(h.payload["text"], h.payload) for h in hits]
            if offset is None:
                break
        model = indexer.pipeline.get_component("embedder").embedding_backend.model
        t0 = time.perf_counter()
        for i in range(0, len(texts), indexer.batch_passages):
            model.encode(texts[i : i + indexer.batch_passages], batch_size=settings.embed_batch_size,
                         normalize_embeddings=True)
        t_passages = time.perf_counter() - t0
        t0 = time.perf_counter()
        for call in sentence_calls:  # the sentence embedder's calls, replayed with the same strings
            model.encode([settings.passage_prefix + t for t in call], batch_size=settings.embed_batch_size,
                         normalize_embeddings=True)
        t_sentences = time.perf_counter() - t0
        t_encoder = t_passages + t_sentences
        indexer.close()
        store.close()
        catalog.close()

    figures = {
        "files": len(files),
        "documents_ingested": len(ok),
        "failed": len(failed),
        "passages": passages,
        "pipeline_seconds": round(t_pipeline, 1),
        "documents_per_second": round(len(ok) / t_pipeline, 2),
        "passages_per_second": round(passages / t_pipeline, 2),
        "sentences_embedded": sum(len(c) for c in sentence_calls),
        "encoder_seconds": round(t_encoder, 1),
        "encoder_seconds_passages": round(t_passages, 1),
        "encoder_seconds_sentences": round(t_sentences, 1),
        "pipeline_to_encoder_time_ratio": round(t_pipeline / t_encoder, 3),
        "peak_rss_mib_after_model_load": round(rss_before),
        "peak_rss_mib": round(max(rss_pipeline, peak_rss_mib())),
    }
    for k, v in figures.items():
        print(f"{k:>32}: {v}")
    if failed:
        print("failures (first 5):", *[f"  {r.path.name}: {r.reason}" for r in failed[:5]], sep="\n")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
