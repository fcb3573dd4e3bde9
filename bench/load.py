"""Search under load while publishing: 16 clients search for 60 s while a batch of uploads is ingested.

A fresh data folder gets the sample corpus (`kmh ingest corpus/`) and a staff key; a real server (`kmh serve`)
then answers, first with nothing else to do (the idle baseline), then while the background worker ingests a batch
of service-public.fr pages uploaded through POST /api/documents. Printed: requests, errors (target 0), p50/p95/p99
latency, throughput, the jobs finished inside the window and the server's peak resident memory.

    .venv/bin/python bench/load.py [--clients 16] [--seconds 60] [--batch 120] [--idle-seconds 20]
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
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
ZIP = ROOT.parent / "shared" / "data" / "service-public-fr-fiches.zip"


def _bench_search():
    """bench/search.py as a module (its name would clash with the `search` package)."""
    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kmh(*args: str, env: dict) -> str:
    exe = str(Path(sys.executable).with_name("kmh"))
    done = subprocess.run([exe, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0,):
        raise RuntimeError(f"kmh {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def batch_files(folder: Path, n: int) -> list[Path]:
    """``n`` service-public.fr pages (the longest ones: more passages per job) as .txt files."""
    with zipfile.ZipFile(ZIP) as z:
        names = sorted((i for i in z.infolist() if i.filename.endswith(".txt")), key=lambda i: -i.file_size)[:n]
        out = []
        for info in names:
            path = folder / Path(info.filename).name
            path.write_bytes(z.read(info))
            out.append(path)
    return out


def search_load(base: str, qs: list[str], clients: int, seconds: float) -> dict:
    """``clients`` threads searching in a loop for ``seconds``: latencies (ms) and errors."""
    import httpx

    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(timeout=60) as c:
            j = i
            while time.monotonic() < stop:
                q = qs[j % len(qs)]
                j += clients
                t = time.perf_counter()
                try:
                    r = c.get(base + "/api/search", params={"q": q, "k": 10})
                    ok = r.status_code == 200
                    why = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    ok, why = False, type(exc).__name__
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    (latencies.append(ms) if ok else errors.append(why))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {"requests": len(latencies) + len(errors), "errors": len(errors), "error_kinds": sorted(set(errors)),
            "seconds": round(elapsed, 1), "rps": round((len(latencies) + len(errors)) / elapsed, 1),
            **{f"p{p}_ms": round(_pct(latencies, p), 1) for p in (50, 95, 99)},
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the window under ingestion")
    ap.add_argument("--idle-seconds", type=float, default=20.0, help="length of the idle baseline (0: skip)")
    ap.add_argument("--batch", type=int, default=120, help="files uploaded at the start of the window")
    args = ap.parse_args()

    import httpx
    import psutil

    bs = _bench_search()
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kmh-load-", dir=OUT))
    env = {**os.environ, "KMH_DATA_DIR": str(work / "data"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    try:
        t = time.perf_counter()
        kmh("ingest", "corpus/", env=env)
        key = kmh("keys", "create", "--role", "staff", "--name", "load bench", env=env).strip()
        print(f"sample corpus ingested in {time.perf_counter() - t:.1f} s", flush=True)
        files = batch_files(work, args.batch)
        qs = bs.queries()
        proc, base = bs.start_server(env)
        peak = {"rss": 0.0}
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                peak["rss"] = max(peak["rss"], psutil.Process(proc.pid).memory_info().rss / 2**20)
                time.sleep(0.5)

        threading.Thread(target=sample, daemon=True).start()
        try:
            bs.measure(base, qs[:20], 1)  # warm up
            idle = search_load(base, qs, args.clients, args.idle_seconds) if args.idle_seconds else None
            idle_rss = peak["rss"]
            headers = {"Authorization": f"Bearer {key}"}
            jobs = []
            t0 = time.monotonic()
            with httpx.Client(timeout=120) as c:
                for path in files:
                    with path.open("rb") as fh:
                        r = c.post(base + "/api/documents", headers=headers, files={"file": (path.name, fh)})
                    if r.status_code != 202:
                        raise RuntimeError(f"upload of {path.name}: {r.status_code} {r.text[:300]}")
                    jobs.append(r.json()["id"])
            upload_s = time.monotonic() - t0
            busy = search_load(base, qs, args.clients, args.seconds)
            with httpx.Client(timeout=60) as c:
                states = [c.get(f"{base}/api/jobs/{j}", headers=headers).json() for j in jobs]
            done = [s for s in states if s["state"] == "done"]
            failed = [s for s in states if s["state"] == "failed"]
            passages = sum((s["progress"].get("total") or 0) for s in done)
            # then the rest of the batch, with no searches: how long the whole batch took
            with httpx.Client(timeout=60) as c:
                while True:
                    states = [c.get(f"{base}/api/jobs/{j}", headers=headers).json() for j in jobs]
                    if all(s["state"] in ("done", "failed") for s in states):
                        break
                    time.sleep(1)
            batch_s = time.monotonic() - t0
            all_failed = [s for s in states if s["state"] == "failed"]
        finally:
            sampling.set()
            proc.terminate()
            proc.wait(60)
        report = {
            "clients": args.clients, "idle": idle, "during_ingestion": busy,
            "uploads": len(files), "upload_seconds": round(upload_s, 1),
            "jobs_done_in_window": len(done), "jobs_failed_in_window": len(failed),
            "passages_indexed_in_window": passages, "whole_batch_seconds": round(batch_s, 1),
            "batch_failed": [(s["filename"], s["error"]) for s in all_failed],
            "server_peak_rss_mib": round(peak["rss"]), "server_rss_idle_mib": round(idle_rss),
            "machine": f"{os.cpu_count()} cores",
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (OUT / "load.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    if idle:
        print(f"\nidle:             {idle['requests']} requests, {idle['errors']} errors, p50 {idle['p50_ms']} ms, "
              f"p95 {idle['p95_ms']} ms, {idle['rps']} req/s")
    print(f"during ingestion: {busy['requests']} requests, {busy['errors']} errors, p50 {busy['p50_ms']} ms, "
          f"p95 {busy['p95_ms']} ms, {busy['rps']} req/s; {len(done)} of {len(files)} jobs done in the window "
          f"({passages} passages), {len(failed)} failed; whole batch {report['whole_batch_seconds']} s, "
          f"{len(all_failed)} failed; server peak RSS {report['server_peak_rss_mib']} MiB")


if __name__ == "__main__":
    main()
