"""Settings: defaults, the KMH_ prefix, validation with the variable named."""

import pytest
from pydantic import ValidationError

from kmh.settings import Settings


def test_defaults_put_everything_under_the_data_folder(isolated_data):
    s = Settings()
    assert s.data_dir == isolated_data.resolve()
    assert s.store_backend == "edge"
    assert s.catalog_db_url == f"sqlite:///{isolated_data.resolve() / 'catalog.sqlite3'}"
    assert s.index_path == isolated_data.resolve() / "index"
    assert s.embedding_model_path.name == "multilingual-e5-small"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("KMH_CHUNK_MAX_WORDS", "300")
    monkeypatch.setenv("KMH_EMBEDDING_MODEL", str(tmp_path / "m"))
    s = Settings()
    assert s.chunk_max_words == 300
    assert s.embedding_model_path == (tmp_path / "m").resolve()


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"KMH_STORE_BACKEND": "elastic"}, "store_backend"),
        ({"KMH_STORE_BACKEND": "qdrant"}, "KMH_QDRANT_URL"),
        ({"KMH_CHUNK_MIN_WORDS": "400"}, "chunk_min_words"),
        ({"KMH_MAX_FILE_MB": "0"}, "max_file_mb"),
        ({"KMH_MAX_PAGES": "0"}, "max_pages"),
        ({"KMH_PARSE_MEMORY_MB": "256"}, "parse_memory_mb"),
        ({"KMH_PARSE_TIMEOUT_S": "0"}, "parse_timeout_s"),
        ({"KMH_PUBLIC_URL": "kmh.example.org"}, "public_url"),
    ],
)
def test_bad_values_name_the_field(monkeypatch, env, field):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValidationError, match=field):
        Settings()


def test_postgresql_catalog_url_is_accepted():
    from kmh.catalog import make_engine

    s = Settings(catalog_url="postgresql+psycopg://kmh:secret@db.internal:5432/kmh")
    engine = make_engine(s.catalog_db_url)  # builds the engine and loads the driver; connects lazily
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    engine.dispose()
