"""Moves each test file of tests/ into the folder of what it exercises: tests/unit, tests/integration, tests/browser.

    python tests/layout.py           # print the moves and the edits they need
    python tests/layout.py --apply   # do them: `git mv`, then the edits

Run from the repository root. The edits are those a move needs: ``Path(__file__).resolve().parents[1]`` (the
repository root from tests/) becomes ``parents[2]``, ``from tests.test_x import`` names the module's new folder, and
a path ``tests/test_x.py`` in the code and the docs becomes ``tests/<folder>/test_x.py``. A test file that
LAYOUT does not name stops the script before anything moves: add it with its folder and the reason.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
FOLDERS = ("unit", "integration", "browser")

# file -> (folder, what it needs). unit: nothing but the virtual environment (no model, store, database, server or
# Debian package), seconds each; integration: the real models, stores, catalog databases (PostgreSQL), servers,
# espeak-ng, ffmpeg, Whisper, the FreeDict dictionaries; browser: Chromium.
LAYOUT: dict[str, tuple[str, str]] = {
    "test_api.py": ("integration", "the API in TestClient over a corpus ingested with the real model (shared_embedders)"),
    "test_archive.py": ("integration", "seminars and recordings through the API: espeak-ng speech, Whisper, real model"),
    "test_backup.py": ("integration", "backup and restore of an index ingested with the real model, Searcher"),
    "test_bench_longdocs.py": ("unit", "bench/longdocs.py's generated PDFs read back by the PDF parser; no model"),
    "test_bench_peer.py": ("unit", "bench/peer_worker.py's pure functions and its JSON-lines protocol with a plain "
                           "python child; no model, no server, under a second"),
    "test_browser.py": ("browser", "the pages in Chromium (Playwright) against a ServerProcess"),
    "test_captions.py": ("unit", "WebVTT/SRT parsing and writing on strings"),
    "test_catalog.py": ("integration", "the catalog and its migrations on SQLite and PostgreSQL (new_catalog_url)"),
    "test_catalog_access.py": ("integration", "keys, sessions, audit, jobs in the catalog on SQLite and PostgreSQL"),
    "test_catalog_archive.py": ("integration", "the catalog's seminar archive on SQLite and PostgreSQL"),
    "test_check.py": ("integration", "`kmh check --repair` on a damaged index: real model, ServerProcess, SIGKILLed runs"),
    "test_chunker.py": ("unit", "chunking of in-memory blocks"),
    "test_cli.py": ("integration", "the `kmh` command ingesting and searching with the real model"),
    "test_crash.py": ("integration", "a server process killed during jobs (ServerProcess, real model)"),
    "test_disk_full.py": ("integration", "full tmpfs volumes under a ServerProcess (root), real model"),
    "test_encoder.py": ("integration", "the e5 document encoder (OpenVINO, torch) against sentence-transformers"),
    "test_eval.py": ("integration", "`kmh eval` over the sample corpus ingested with the real model"),
    "test_hostile.py": ("integration", "the parse sandbox's worker processes on bombs, and the Indexer with the real "
                        "model (shared_embedders)"),
    "test_hostile_api.py": ("integration", "hostile uploads through the API (TestClient, real model)"),
    "test_ingest_overlap.py": ("integration", "the Indexer's overlapped stages with the real model and store"),
    "test_ingest_search.py": ("integration", "Indexer then Searcher with the real model and store"),
    "test_limits.py": ("integration", "body limits and sign-in against a ServerProcess (`kmh serve`)"),
    "test_linear.py": ("integration", "pathological documents through the API's jobs (TestClient, real model)"),
    "test_metadata.py": ("unit", "sidecars and metadata inference on text and the seed pages"),
    "test_modelkit.py": ("integration", "the assembled models (e5, ONNX, Whisper) checked against their references"),
    "test_parsers.py": ("unit", "the parsers on files generated in the test and the seed pages; no model"),
    "test_progress.py": ("unit", "rate and time-left estimators on an injected clock"),
    "test_publishing.py": ("integration", "publishing through the API (TestClient, real model, job worker)"),
    "test_retracted.py": ("integration", "every route of the app on the ingested web corpus (web_template)"),
    "test_search.py": ("integration", "Searcher over the corpus ingested with the real model"),
    "test_seminar_manifest.py": ("integration", "seminar manifests, and recordings synthesised with espeak-ng and "
                                 "ffmpeg"),
    "test_settings.py": ("unit", "settings from the environment, validation messages"),
    "test_sparse.py": ("unit", "the BM25 encoder; a plain python child checks hash stability"),
    "test_store_contract.py": ("integration", "the vector store contract on the real engines (qdrant-edge, "
                               "qdrant-client local), 100 cases, lock-holding processes"),
    "test_store_fusion.py": ("unit", "rank fusion by hand and what the Searcher asks a recording fake store"),
    "test_topics.py": ("integration", "the topic suggester with the real model (shared_embedders)"),
    "test_transcribe.py": ("integration", "Whisper on espeak-ng speech decoded by ffmpeg"),
    "test_translate.py": ("integration", "query translation with Debian's FreeDict dictionaries (make setup)"),
    "test_web.py": ("integration", "the web pages in TestClient over the ingested web corpus (web_template)"),
    "test_windows.py": ("unit", "recording windows over generated caption cues"),
}

ROOT_FROM_TESTS = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[1\]")
IMPORT_TEST = re.compile(r"\bfrom tests\.(test_\w+) import\b")
PATH_TEST = re.compile(r"\btests/(test_\w+\.py)\b")
TEXT_FILES = ("*.py", "*.md", "Makefile", "*.toml", "*.cfg", "*.yaml", "*.yml", "*.txt")


def folder_of(name: str) -> str | None:
    """The folder a test file goes (or went) to: LAYOUT's, or the one it is already in."""
    if name in LAYOUT:
        return LAYOUT[name][0]
    placed = [f for f in FOLDERS if (TESTS / f / name).exists()]
    return placed[0] if placed else None


def edited(text: str, moved: bool) -> str:
    """The file's text once the test files are in their folders."""
    if moved:
        text = ROOT_FROM_TESTS.sub("Path(__file__).resolve().parents[2]", text)

    def module(m: re.Match) -> str:
        folder = folder_of(m.group(1) + ".py")
        return f"from tests.{folder}.{m.group(1)} import" if folder else m.group(0)

    def path(m: re.Match) -> str:
        folder = folder_of(m.group(1))
        return f"tests/{folder}/{m.group(1)}" if folder else m.group(0)

    return PATH_TEST.sub(path, IMPORT_TEST.sub(module, text))


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z", "--", *TEXT_FILES], cwd=ROOT, capture_output=True, check=True,
                           text=True).stdout.split("\0")
    return [ROOT / n for n in names if n and (ROOT / n).is_file() and n != "tests/layout.py"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apply", action="store_true", help="do the moves and edits (default: only print them)")
    args = parser.parse_args(argv)

    found = sorted(p.name for p in TESTS.glob("test_*.py"))
    unknown = [n for n in found if n not in LAYOUT]
    if unknown:
        print("not in tests/layout.py's LAYOUT (add each with its folder and reason): " + ", ".join(unknown),
              file=sys.stderr)
        return 2
    bad = {n: f for n, (f, _) in LAYOUT.items() if f not in FOLDERS}
    if bad:
        print(f"unknown folders in LAYOUT: {bad}", file=sys.stderr)
        return 2

    moves = {TESTS / n: TESTS / LAYOUT[n][0] / n for n in found}
    for old, new in moves.items():
        print(f"git mv {old.relative_to(ROOT)} {new.relative_to(ROOT)}  # {LAYOUT[old.name][1]}")
    changes: dict[Path, str] = {}
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8")
        new_text = edited(text, moved=path in moves)
        if new_text != text:
            changes[path] = new_text
            where = moves.get(path, path).relative_to(ROOT)
            lines = sum(a != b for a, b in zip(text.splitlines(), new_text.splitlines()))
            print(f"edit {where}: {lines} line(s)")
    for path in moves:
        for n, line in enumerate(changes.get(path, path.read_text(encoding="utf-8")).splitlines(), 1):
            if "Path(__file__)" in line and "parents[2]" not in line:
                print(f"check by hand {moves[path].relative_to(ROOT)}:{n}: {line.strip()}")
    if not args.apply:
        print(f"{len(moves)} move(s), {len(changes)} edit(s); --apply does them")
        return 0

    for folder in FOLDERS:
        (TESTS / folder).mkdir(exist_ok=True)
    for old, new in moves.items():
        subprocess.run(["git", "mv", str(old.relative_to(ROOT)), str(new.relative_to(ROOT))], cwd=ROOT, check=True)
    for path, text in changes.items():
        moves.get(path, path).write_text(text, encoding="utf-8")
    print(f"moved {len(moves)}, edited {len(changes)}; check with: python -m pytest --collect-only -q")
    return 0


if __name__ == "__main__":
    sys.exit(main())
