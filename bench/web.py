"""What the web pages cost on top of the API: the same questions through /api/search (JSON) and /search (the
results page, rendered by Jinja2), and the time of the other main pages, against a real `kmh serve` over the
sample corpus. One client, requests in turn, so the figures are latencies, not throughput.

    .venv/bin/python bench/web.py [--rounds 3]

Prints p50/p95 per page and the median ratio results page / API for the same question.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def _bench_search():
    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=80, help="distinct questions (each asked once per round)")
    ap.add_argument("--rounds", type=int, default=3, help="times each page is requested")
    args = ap.parse_args()

    import httpx

    bs = _bench_search()
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kmh-web-", dir=OUT))
    env = {**os.environ, "KMH_DATA_DIR": str(work / "data")}
    try:
        subprocess.run([str(Path(sys.executable).with_name("kmh")), "ingest", "corpus/"], env=env, cwd=ROOT,
                       check=True, capture_output=True)
        proc, base = bs.start_server(env)
        try:
            with httpx.Client(base_url=base, timeout=60) as c:
                docs = c.get("/api/documents", params={"limit": 50}).json()["items"]
                doc = next(d["id"] for d in docs if d["doc_type"] == "handbook")
                rec = next(d["id"] for d in docs if d["doc_type"] == "recording")
                seminar = c.get("/api/seminars").json()[0]["id"]
                qs = bs.queries()[: args.questions]
                for q in qs[:10]:  # warm up both paths
                    c.get("/api/search", params={"q": q}), c.get("/search", params={"q": q})
                api, page, ratio = [], [], []
                for _ in range(args.rounds):
                    for q in qs:
                        t0 = time.perf_counter()
                        r1 = c.get("/api/search", params={"q": q})
                        t1 = time.perf_counter()
                        r2 = c.get("/search", params={"q": q})
                        t2 = time.perf_counter()
                        assert r1.status_code == 200 and r2.status_code == 200, (r1.text[:200], r2.text[:200])
                        api.append((t1 - t0) * 1000)
                        page.append((t2 - t1) * 1000)
                        ratio.append((t2 - t1) / (t1 - t0))
                others = {"/": "home", f"/documents/{doc}": "document (handbook)",
                          f"/seminars/{seminar}": "seminar (player, transcript)",
                          f"/recordings/{rec}?t=381": "recording", "/topics": "topics"}
                timings = {}
                for url, name in others.items():
                    times = []
                    for _ in range(args.rounds * 10):
                        t0 = time.perf_counter()
                        r = c.get(url)
                        times.append((time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200, (url, r.status_code)
                    timings[name] = (times, len(r.content))
        finally:
            proc.terminate()
            proc.wait(60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [("/api/search (JSON)", api, None), ("/search (results page)", page, None)]
    report = {"machine": f"{os.cpu_count()} cores", "questions": len(qs), "rounds": args.rounds,
              "median_ratio_page_over_api": round(statistics.median(ratio), 3), "pages": {}}
    print(f"{'page':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>8}")
    for name, values, _ in rows:
        report["pages"][name] = {"n": len(values), "p50_ms": round(_pct(values, 50), 1),
                                 "p95_ms": round(_pct(values, 95), 1)}
        print(f"{name:34} {len(values):5d} {_pct(values, 50):8.1f} {_pct(values, 95):8.1f}")
    for name, (values, size) in timings.items():
        report["pages"][name] = {"n": len(values), "p50_ms": round(_pct(values, 50), 1),
                                 "p95_ms": round(_pct(values, 95), 1), "bytes": size}
        print(f"{name:34} {len(values):5d} {_pct(values, 50):8.1f} {_pct(values, 95):8.1f} {size:8d}")
    print(f"median ratio results page / API, same question: {report['median_ratio_page_over_api']}")
    (OUT / "web.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
