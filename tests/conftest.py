"""Shared fixtures. Every test gets its own data folder; the model kit comes from `make setup`.

Each test is marked with its layer, the folder it lives in: tests/unit (no model, store, database or server;
`make test-fast`), tests/integration (the real models, stores, PostgreSQL, servers, espeak-ng, ffmpeg, Whisper)
and tests/browser (Chromium)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kmh.settings import set_offline_env

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
MODELS = Path(os.environ.get("KMH_MODELS_DIR", ROOT / "models")).resolve()

set_offline_env()

CATALOG_BACKENDS = ("sqlite", "postgresql")
LAYERS = ("unit", "integration", "browser")


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the layer its folder names; a test file outside the three folders is an error."""
    here = ROOT / "tests"
    stray: set[str] = set()
    for item in items:
        path = item.path.resolve()
        parts = path.relative_to(here).parts if path.is_relative_to(here) else ()
        if len(parts) > 1 and parts[0] in LAYERS:
            item.add_marker(parts[0])
        else:
            stray.add(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
    if stray:
        raise pytest.UsageError(
            "test files outside tests/unit, tests/integration and tests/browser (put each in the folder of what it "
            "needs; see docs/architecture.md): " + ", ".join(sorted(stray)))


@pytest.fixture(autouse=True)
def isolated_data(tmp_path, monkeypatch) -> Path:
    """Each test writes its catalog, index and originals under its own temporary folder."""
    data = tmp_path / "data"
    monkeypatch.setenv("KMH_DATA_DIR", str(data))
    monkeypatch.setenv("KMH_MODELS_DIR", str(MODELS))
    for var in ("KMH_STORE_BACKEND", "KMH_QDRANT_URL", "KMH_CATALOG_URL", "KMH_EMBEDDING_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return data


@pytest.fixture(scope="session")
def shared_embedders():
    """The real e5 passage embedder (ingestion's, over the process's shared encoder) and text embedder, loaded once
    for the whole session."""
    from ingest.components.passages import PassageEmbedder
    from kmh.embedding import text_embedder, token_encoder
    from kmh.settings import Settings

    settings = Settings(models_dir=MODELS)
    doc = PassageEmbedder(token_encoder(settings), prefix=settings.passage_prefix, sentences=None)
    text = text_embedder(settings)
    doc.warm_up()
    text.warm_up()
    return doc, text


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server (tests/pg.py) for the whole session; fails, never skips, without the binaries."""
    from tests.pg import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(params=CATALOG_BACKENDS)
def catalog_backend(request) -> str:
    """Each catalog test runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def new_catalog_url(catalog_backend: str, tmp_path: Path, request) -> Callable[[], str]:
    """Makes empty catalog databases on the test's backend: a new SQLite file, or an emptied PostgreSQL database."""
    server = request.getfixturevalue("postgres") if catalog_backend == "postgresql" else None
    made = 0

    def new() -> str:
        nonlocal made
        made += 1
        if server is None:
            name = "catalog.sqlite3" if made == 1 else f"catalog{made}.sqlite3"
            return f"sqlite:///{tmp_path / 'data' / name}"
        return server.url(server.empty_database(made))

    return new


@pytest.fixture(scope="session")
def web_template(tmp_path_factory, shared_embedders) -> Path:
    """A data folder with the sample corpus, a 3-page PDF report and a text full of markup, ingested once with the
    real models; web tests copy it (tests.helpers.copy_data) so that what one changes the others do not see."""
    from tests.helpers import build_web_corpus

    return build_web_corpus(tmp_path_factory.mktemp("web-template"))
