"""A real peer for the benchmarks: what most self-hosted RAG tools run (Open WebUI's default).

ChromaDB holds the passage vectors (cosine space) and BM25 (rank_bm25's BM25Okapi) the same
passages' words; the two lists of 50 candidates are fused by reciprocal rank (k=60). It lives in
a venv of its own (`bench/.peer-venv`, made by `ensure_peer_venv`) and runs as a worker process
(`bench/peer_worker.py`, JSON lines over stdin/stdout) that is given the same passages, the same
vectors and the same questions as ours. chromadb is never a dependency of the project.

    with Peer() as peer:
        peer.index(write_passages(tmp / "passages.npz", ids, texts, vectors), tmp / "chroma")
        hit_ids = peer.search(query_vector, "question", k=10)["ids"]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "bench" / ".peer-venv"
WORKER = ROOT / "bench" / "peer_worker.py"
# Exact versions that install here with python3.11 (2026-12): the marker file holds them.
PINS = ("chromadb==1.5.9", "rank_bm25==0.2.2", "numpy==2.4.6")
MARKER = "kmh-peer-pins.txt"


class PeerError(RuntimeError):
    """The peer's venv could not be made, or its worker failed or answered with an error."""


def peer_python(venv: Path = PEER_VENV) -> Path:
    return venv / "bin" / "python"


def ensure_peer_venv(path: Path = PEER_VENV) -> Path:
    """The peer's venv, made with `python3.11 -m venv` and the pinned packages only when missing."""
    marker, want = path / MARKER, "\n".join(PINS) + "\n"
    if marker.exists() and marker.read_text() == want and peer_python(path).exists():
        return path
    t0 = time.perf_counter()
    if not peer_python(path).exists():
        python = shutil.which("python3.11")
        if python is None:
            raise PeerError("python3.11 not found on PATH: the peer's venv needs it")
        print(f"peer: creating the venv {path}", flush=True)
        made = subprocess.run([python, "-m", "venv", str(path)], capture_output=True, text=True)
        if made.returncode != 0:
            raise PeerError(f"python3.11 -m venv {path} failed: {made.stderr.strip()[-2000:]}")
    log = path / "pip-install.log"
    print(f"peer: pip install {' '.join(PINS)} (a few minutes; log in {log})", flush=True)
    with log.open("w") as out:
        pip = subprocess.run([str(peer_python(path)), "-m", "pip", "install", "--progress-bar", "off", *PINS],
                             stdout=out, stderr=subprocess.STDOUT)
    if pip.returncode != 0:
        tail = log.read_text()[-3000:]
        raise PeerError(f"pip install of the peer ({' '.join(PINS)}) failed with exit {pip.returncode}; "
                        f"the end of {log}:\n{tail}")
    marker.write_text(want)
    print(f"peer: venv ready in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def write_passages(path: Path, ids: list[str], texts: list[str], vectors: np.ndarray) -> Path:
    """The passages as the worker reads them: one .npz, texts as UTF-8 bytes cut at offsets (no pickle)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not (len(ids) == len(texts) == len(vectors)):
        raise ValueError(f"ids ({len(ids)}), texts ({len(texts)}) and vectors ({len(vectors)}) differ in length")
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.cumsum([0] + [len(b) for b in encoded], dtype=np.int64)
    np.savez(path, ids=np.asarray(ids, dtype=str), text_bytes=np.frombuffer(b"".join(encoded), dtype=np.uint8),
             text_offsets=offsets, vectors=vectors)
    return path


class Peer:
    """The worker process of the peer; each call sends one command and times its round trip."""

    def __init__(self, venv: Path = PEER_VENV, python: Path | None = None):
        self.python = python or peer_python(venv)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Peer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        if not Path(self.python).exists():
            raise PeerError(f"no python at {self.python}: run ensure_peer_venv() first")
        # -I: the worker sees neither the project nor PYTHONPATH, only its own venv.
        self.proc = subprocess.Popen([str(self.python), "-I", str(WORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1, cwd=WORKER.parent)

    def call(self, cmd: str, **args) -> dict:
        """Send one command; its reply with `round_trip_seconds` added, or PeerError."""
        if self.proc is None or self.proc.poll() is not None:
            raise PeerError("the peer's worker is not running")
        t = time.perf_counter()
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        elapsed = time.perf_counter() - t
        if not line:
            raise PeerError(f"the peer's worker exited (code {self.proc.wait(10)}) during {cmd!r}")
        reply = json.loads(line)
        if "error" in reply:
            raise PeerError(f"peer {cmd!r}: {reply['error']}")
        reply["round_trip_seconds"] = elapsed
        return reply

    def index(self, passages: Path, folder: Path) -> dict:
        """Index the passages file into a new Chroma folder and BM25; seconds per part."""
        return self.call("index", path=str(passages), folder=str(folder))

    def search(self, vector, text: str, k: int = 10) -> dict:
        """The top k ids of the fused ranking, with the worker's seconds per part."""
        return self.call("search", vector=[float(x) for x in vector], text=text, k=k)

    def rss_mib(self) -> dict:
        """The worker's resident memory now and at its peak, in MiB."""
        return self.call("rss")

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(60)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        finally:
            self.proc = None


def dir_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def peer_index_seconds(ids: list[str], texts: list[str], vectors: np.ndarray, workdir: Path) -> dict:
    """Index these passages in the peer (venv made if missing) in workdir; its seconds, memory and disk."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    venv = ensure_peer_venv()
    data = write_passages(workdir / "peer-passages.npz", ids, texts, vectors)
    with Peer(venv) as peer:
        done = peer.index(data, workdir / "peer-chroma")
        rss = peer.rss_mib()
    return {"passages": done["passages"], "chroma_seconds": round(done["chroma_seconds"], 2),
            "bm25_seconds": round(done["bm25_seconds"], 2), "total_seconds": round(done["total_seconds"], 2),
            "rss_mib": round(rss["rss_mib"]), "peak_rss_mib": round(rss["peak_rss_mib"]),
            "chroma_disk_mib": round(dir_mib(workdir / "peer-chroma")), "versions": done["versions"]}


if __name__ == "__main__":
    sys.exit(print(ensure_peer_venv()))
