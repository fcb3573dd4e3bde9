"""Shared fixtures. Every test gets its own data folder; the model kit comes from `make setup`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kmh.settings import set_offline_env

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
MODELS = Path(os.environ.get("KMH_MODELS_DIR", ROOT / "models")).resolve()

set_offline_env()


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
    """The real e5 document and text embedders, loaded once for the whole session."""
    from kmh.embedding import document_embedder, text_embedder
    from kmh.settings import Settings

    settings = Settings(models_dir=MODELS)
    doc, text = document_embedder(settings), text_embedder(settings)
    doc.warm_up()
    text.warm_up()
    return doc, text
