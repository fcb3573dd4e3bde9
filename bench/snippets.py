"""What snippets add to a search: in-process, the 46 questions of tests/eval/queries.jsonl over an index of corpus/.

Each question is searched ``--runs`` times with snippets (the page's sentence vectors read in one batch, the best
sentence by cosine, the window cut and marked) and as before them (the whole passage highlighted, the best sentence
by query terms), alternately, after one warm-up search that caches its query vector. Prints the median over the
questions of each one's median time, and of the difference.

    KMH_DATA_DIR=data .venv/bin/python bench/snippets.py [--runs 5] [--mode hybrid] [--k 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Before:
    """What search did before snippets: highlight the whole passage, best sentence by query terms."""

    def __init__(self, highlighter):
        self.highlighter = highlighter

    def fill(self, hits, terms, query, spans) -> None:
        for h in hits:
            h.highlight = self.highlighter.highlight(h.text, terms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", default="hybrid", choices=("hybrid", "dense", "keyword"))
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings, set_offline_env
    from search.searcher import Searcher, SearchQuery

    set_offline_env()
    settings = Settings()
    catalog, store = open_catalog(settings), open_vector_store(settings)
    searcher = Searcher(settings, catalog, store)
    searcher.warm_up()
    lines = (ROOT / "tests" / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    snippets, before = searcher.snippets, Before(searcher.highlighter)

    def timed(q: str, filler) -> float:
        searcher.snippets = filler
        t = time.perf_counter()
        searcher.search(SearchQuery(q=q, k=args.k, mode=args.mode))
        return time.perf_counter() - t

    with_ms, without_ms, added_ms = [], [], []
    for q in questions:
        timed(q, snippets)  # caches the query vector, as a repeated question would be
        a, b = [], []
        for _ in range(args.runs):
            a.append(timed(q, snippets))
            b.append(timed(q, before))
        with_ms.append(1000 * statistics.median(a))
        without_ms.append(1000 * statistics.median(b))
        added_ms.append(with_ms[-1] - without_ms[-1])
    searcher.snippets = snippets
    print(f"{len(questions)} questions x {args.runs} runs, mode {args.mode}, k {args.k}, "
          f"{store.count()} passages in the index")
    print(f"search() with snippets: median {statistics.median(with_ms):.2f} ms")
    print(f"search() before snippets: median {statistics.median(without_ms):.2f} ms")
    print(f"added per search: median {statistics.median(added_ms):.2f} ms, "
          f"max {max(added_ms):.2f} ms")
    store.close()
    catalog.close()


if __name__ == "__main__":
    main()
