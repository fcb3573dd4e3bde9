"""Offline comparison of cross-language retrieval candidates on an ingested library (docs/evaluation.md).

    python tests/eval/fusion_lab.py QUESTIONS.jsonl [--cache lab.pickle]

Reads each question's raw rankings once from the store of KMH_DATA_DIR (dense top 100, BM25 top 100 with and
without the dictionary translation at several weights, MaxSim of the candidates, each passage's language and
document), then fuses them in Python in every way compared, and prints nDCG@10 / recall@1 / recall@10 per
direction (FR→FR, EN→FR, FR→EN, EN→EN). Search itself (search.searcher) implements the one kept.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TRANSLATION_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def collect(questions_path: Path) -> dict:
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings
    from kmh.sparse import term_index
    from kmh.store.base import DENSE, SPARSE, Filter, RankRequest, SparseVector
    from search.evaluation import Answers, load_queries
    from search.searcher import Searcher
    from search.translate import QueryTranslator

    settings = Settings()
    catalog = open_catalog(settings)
    store = open_vector_store(settings)
    searcher = Searcher(settings, catalog, store)
    searcher.warm_up()
    translator = QueryTranslator(settings.dictionary_dir, searcher.sparse)
    answers = Answers(catalog)
    flt = Filter(equals={"status": "published"})
    items = load_queries(questions_path)
    rows = []
    for n, item in enumerate(items):
        q, lang = item["q"], item["lang"]
        dense = searcher.embed_query(q)
        plain = searcher.sparse.encode_query(q)
        other = "en" if lang == "fr" else "fr"
        extra = translator.translate(q, lang, other).terms
        requests = [RankRequest(DENSE, dense, 100, flt)]
        for w in TRANSLATION_WEIGHTS:
            weights = dict(zip(plain.indices, plain.values))
            for term, value in extra.items():
                i = term_index(term)
                weights[i] = max(weights.get(i, 0.0), value * w / 0.5)
            weights = {i: v for i, v in weights.items() if v > 0}
            idx = sorted(weights)
            requests.append(RankRequest(SPARSE, SparseVector(idx, [weights[i] for i in idx]), 100, flt))
        lists = [store._ranked([r], False)[0] if (r.using != SPARSE or r.vector.indices) else [] for r in requests]
        cand = tuple(dict.fromkeys(h.id for hits in lists for h in hits[:50]))
        maxsim = store._by_sentences(dense, [[h for h in lists[0][:50]]] + [hits[:50] for hits in lists[1:]])
        ids = set(cand) | {h.id for hits in lists for h in hits}
        meta = {h.id: (h.payload.get("doc_id"), h.payload.get("language"), h.payload.get("doc_version"))
                for h in store.retrieve(sorted(ids), fields=("doc_id", "language", "doc_version"))}
        rows.append({"q": q, "lang": lang, "relevant": item["relevant"],
                     "dense": [(h.id, h.score) for h in lists[0]],
                     "sparse": {w: [(h.id, h.score) for h in lists[1 + i]] for i, w in enumerate(TRANSLATION_WEIGHTS)},
                     "maxsim": [(h.id, h.score) for h in maxsim], "meta": meta})
        if n % 50 == 0:
            print(f"{n}/{len(items)}", file=sys.stderr)
    refs = catalog.refs({m[0] for r in rows for m in r["meta"].values()})
    current = {d: (ref.version, ref.status) for d, ref in refs.items()}
    resolved = {}
    for r in rows:
        for entry in r["relevant"]:
            resolved[entry] = answers.resolve(entry)
    store.close()
    catalog.close()
    return {"rows": rows, "current": current, "resolved": resolved}


def dbsf_scores(hits: list[tuple[str, float]]) -> dict[str, float]:
    if not hits:
        return {}
    values = [s for _, s in hits]
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    if sd == 0:
        return {i: 0.5 for i, _ in hits}
    low = mean - 3 * sd
    return {i: (s - low) / (6 * sd) for i, s in hits}


def fuse(row: dict, *, tw: float, weights=(1.0, 1.0, 2.0), per_language: str = "none") -> list[str]:
    """Passage ids, best first. per_language: "none" (DBSF as Qdrant), "split" (each list normalised within each
    passage language), "center" (each language's scores shifted to the list's mean before normalising)."""
    lang_of = {i: m[1] for i, m in row["meta"].items()}
    lists = [row["dense"], row["sparse"][tw], row["maxsim"]]
    total: dict[str, float] = defaultdict(float)
    for w, hits in zip(weights, lists):
        if not w or not hits:
            continue
        if per_language == "split":
            groups: dict[str, list] = defaultdict(list)
            for i, s in hits:
                groups[lang_of.get(i) or "?"].append((i, s))
            normed = {}
            for g in groups.values():
                normed.update(dbsf_scores(g))
        elif per_language == "center":
            groups = defaultdict(list)
            for i, s in hits:
                groups[lang_of.get(i) or "?"].append(s)
            overall = statistics.fmean(s for _, s in hits)
            shift = {g: overall - statistics.fmean(v) for g, v in groups.items()}
            normed = dbsf_scores([(i, s + shift[lang_of.get(i) or "?"]) for i, s in hits])
        else:
            normed = dbsf_scores(hits)
        for i, v in normed.items():
            total[i] += w * v
    return [i for i, _ in sorted(total.items(), key=lambda t: (-t[1], t[0]))]


def documents(row: dict, ids: list[str], current: dict) -> list[str]:
    out, seen = [], set()
    for i in ids:
        doc, _, version = row["meta"].get(i, (None, None, None))
        if doc is None or doc in seen or current.get(doc, (None,))[0] != version:
            continue
        seen.add(doc)
        out.append(doc)
    return out


def score(data: dict, ranker) -> dict[str, dict[str, float]]:
    from search.evaluation import direction, judge

    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    for row in data["rows"]:
        if not row["relevant"]:
            continue
        docs = documents(row, ranker(row), data["current"])
        by_lang: dict = defaultdict(list)
        for entry in row["relevant"]:
            ids, lang = data["resolved"][entry]
            by_lang[lang].append(ids)
        for lang, wanted in by_lang.items():
            ignored = frozenset().union(*(i for other, sets in by_lang.items() if other != lang for i in sets))
            m = judge(docs, wanted, ignored, 10)
            for key in (direction(row["lang"], lang), "all"):
                counts[key] += 1
                for metric in ("ndcg@10", "recall@1", "recall@10"):
                    sums[key][metric] += m[metric]
    return {k: {m: v / counts[k] for m, v in sums[k].items()} for k in sums}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("fusion-lab.pickle"))
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.cache.is_file():
        data = pickle.loads(args.cache.read_bytes())
    else:
        data = collect(args.questions)
        args.cache.write_bytes(pickle.dumps(data))
    variants = {
        "dense": lambda r: [i for i, _ in r["dense"]],
        "keyword": lambda r: [i for i, _ in r["sparse"][0.0]],
        "keyword+dict 0.5": lambda r: [i for i, _ in r["sparse"][0.5]],
        "hybrid (today)": lambda r: fuse(r, tw=0.0),
    }
    for tw in TRANSLATION_WEIGHTS[1:]:
        variants[f"hybrid dict {tw}"] = lambda r, tw=tw: fuse(r, tw=tw)
    for mode in ("split", "center"):
        variants[f"hybrid {mode}"] = lambda r, m=mode: fuse(r, tw=0.0, per_language=m)
        for tw in TRANSLATION_WEIGHTS[1:]:
            variants[f"hybrid {mode} dict {tw}"] = lambda r, m=mode, tw=tw: fuse(r, tw=tw, per_language=m)
    for w in ((1, 1, 3), (1, 0.5, 2), (0.5, 1, 2), (1, 1, 1)):
        variants[f"hybrid w={w}"] = lambda r, w=w: fuse(r, tw=0.0, weights=w)
        variants[f"hybrid center dict 0.5 w={w}"] = lambda r, w=w: fuse(r, tw=0.5, weights=w, per_language="center")
    keys = ("FR\u2192FR", "EN\u2192FR", "FR\u2192EN", "EN\u2192EN", "all")
    print("| variant | " + " | ".join(f"{k} nDCG" for k in keys) + " | all R@1 | all R@10 |")
    print("|---|" + "---:|" * (len(keys) + 2))
    for name, ranker in variants.items():
        res = score(data, ranker)
        cells = [f"{res.get(k, {}).get('ndcg@10', 0):.3f}" for k in keys]
        print(f"| {name} | " + " | ".join(cells) + f" | {res['all']['recall@1']:.3f} | {res['all']['recall@10']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
