"""Pick the relevance floors (KMH_RELEVANCE_FLOOR, KMH_RELEVANCE_FLOOR_CROSS) from two ingested sets of questions.

    python tests/eval/calibrate_floors.py --library DATA_DIR QUESTIONS --sample DATA_DIR QUESTIONS

The floors on search.evaluation.GRID that tell the most off-topic questions of the library "no match" while
taking out of the top 10 at most --max-lost (2 %) of the library's answers found there and at most
--sample-answers (0) of the sample questions' answers, with both floors --margin (0.005) higher: the sample's
factoid questions ("How many national actors were trained at the workshop in Saly?") are the closest answers to
the floor, and such questions are what the floor must never silence.
Prints the choice, its cross-validated figures on the library, and the frontier (docs/evaluation.md, "No match").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def rows_of(data_dir: Path, questions: Path) -> list[dict]:
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings
    from search.evaluation import Answers, floor_data, load_queries
    from search.searcher import Searcher

    settings = Settings(data_dir=data_dir)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        searcher = Searcher(settings, catalog, store)
        searcher.warm_up()
        return floor_data(searcher, load_queries(questions), Answers(catalog))
    finally:
        store.close()
        catalog.close()


def main(argv=None) -> int:
    from search.evaluation import GRID, calibrate, floor_figures, floor_grid

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", nargs=2, type=Path, required=True, metavar=("DATA_DIR", "QUESTIONS"))
    parser.add_argument("--sample", nargs=2, type=Path, required=True, metavar=("DATA_DIR", "QUESTIONS"))
    parser.add_argument("--max-lost", type=float, default=0.02)
    parser.add_argument("--sample-answers", type=int, default=0)
    parser.add_argument("--margin", type=float, default=0.005,
                        help="the sample's answers must still be kept with both floors this much higher")
    args = parser.parse_args(argv)
    library, sample = rows_of(*args.library), rows_of(*args.sample)
    grid = np.array(GRID)
    lib_lost, told, lib_n = floor_grid(library, grid)
    sample_lost, _, sample_n = floor_grid(sample, grid + args.margin)
    off = [r for r in library if r["off"]]
    frontier = []
    for allowed in range(0, 5):
        ok = (lib_lost <= args.max_lost * lib_n + 1e-9) & (sample_lost <= allowed)
        key = np.where(ok, told * 10_000 - lib_lost, -np.inf)
        i, j = np.unravel_index(int(np.argmax(key)), key.shape)
        floors = (float(grid[i]), float(grid[j]))
        frontier.append({"sample answers lost": int(sample_lost[i, j]), "floors": floors,
                         "library": floor_figures(library, floors), "sample": floor_figures(sample, floors)})
    chosen = frontier[args.sample_answers]
    print(json.dumps({"chosen": chosen, "library answers": lib_n, "sample answers": sample_n,
                      "library off-topic": len(off), "library only (2 %)": calibrate(library, args.max_lost),
                      "frontier": frontier}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
