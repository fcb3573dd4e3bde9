"""One settings object for the whole product, read from ``KMH_*`` environment variables."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HAYSTACK_TELEMETRY_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def set_offline_env() -> None:
    """Make every library we use stay off the network (called by the CLI and the app, not on import)."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KMH_", env_file=".env", extra="ignore")

    # Folder for the catalog, the embedded index and the kept originals.
    data_dir: Path = Path("data")
    # Vector store: "edge" = embedded qdrant-edge in data_dir/index; "qdrant" = a Qdrant server or cluster.
    store_backend: Literal["edge", "qdrant"] = "edge"
    # URL of the Qdrant server or cluster (store_backend="qdrant"); ":memory:" or a path uses qdrant-client's local mode.
    qdrant_url: str | None = None
    # API key for the Qdrant server, if it needs one.
    qdrant_api_key: str | None = None
    # Name of the collection holding the passages.
    collection: str = "passages"
    # SQLAlchemy URL of the catalog; default: SQLite file data_dir/catalog.sqlite3. PostgreSQL URLs work too.
    catalog_url: str | None = None
    # Folder where `kmh setup-models` puts the model kit.
    models_dir: Path = Path("models")
    # sentence-transformers folder of the embedding model; default models_dir/multilingual-e5-small.
    embedding_model: Path | None = None
    # faster-whisper (CTranslate2) folder of the speech model; default models_dir/whisper-base.
    whisper_model: Path | None = None
    # CTranslate2 weights type for transcription on the CPU (int8: the fastest).
    whisper_compute_type: Literal["int8", "int8_float32", "int16", "float32"] = "int8"
    # Beam size of the speech decoder: 5 costs about 1.5x the time of 1 (greedy) but has clearly fewer errors in French
    # (bench/transcribe.py: real-time factor 0.11-0.16 against 0.07-0.09 on 2 cores, both far under the 0.35 target).
    whisper_beam_size: int = Field(5, ge=1, le=10)
    # CPU threads for transcription; 0 = all cores.
    whisper_threads: int = Field(0, ge=0)
    # Recordings longer than this (seconds) are refused before decoding; default 4 hours.
    max_media_seconds: float = Field(4 * 3600.0, gt=0)
    # Recording passages aim for this many seconds, cut at cue boundaries (sentence ends preferred), never across a
    # session, nor across a change of speaker once segment_min_seconds long.
    segment_min_seconds: float = Field(30.0, gt=0)
    segment_max_seconds: float = Field(60.0, gt=0)
    # Prefixes the e5 family needs before queries and passages.
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    # Query embedding: "onnx" (ONNX Runtime on the exported model, ~3x faster) or "torch" (sentence-transformers).
    query_backend: Literal["onnx", "torch"] = "onnx"
    # Passages aim for this many words, cut at sentence boundaries, never across a page.
    chunk_min_words: int = Field(120, ge=10)
    chunk_max_words: int = Field(250, ge=20)
    # Words of the previous passage repeated at the start of the next (whole sentences).
    chunk_overlap_words: int = Field(40, ge=0)
    # Files larger than this are refused.
    max_file_mb: float = Field(50.0, gt=0)
    # PDFs and presentations with more pages (slides) than this are refused before their text is extracted.
    max_pages: int = Field(2000, ge=1)
    # Parse each document in a separate worker process with a memory cap and a time limit, so a hostile file can
    # neither exhaust the server's memory nor hang it; false parses in-process (for debugging).
    parse_isolation: bool = True
    # Memory cap of the parse worker in MB (its whole process: the parser libraries take about 400 MB of it).
    parse_memory_mb: int = Field(1536, ge=768)
    # Time limit for parsing one document, in seconds; the worker is stopped and replaced when it runs over.
    parse_timeout_s: float = Field(300.0, gt=0)
    # OCR of PDF pages without a usable text layer (scans, broken font encodings), with tesseract (ingest.parsers.ocr):
    # on or off, its languages, the rendering resolution, and what a page needs to be indexed: a mean word confidence
    # (0-100) of at least KMH_OCR_MIN_CONFIDENCE and KMH_OCR_MIN_WORDS words; poorer pages are reported, not indexed.
    ocr: bool = True
    ocr_languages: str = Field("fra+eng", pattern=r"^[a-z_]{3,}(\+[a-z_]{3,})*$")
    ocr_dpi: int = Field(300, ge=100, le=600)
    ocr_min_confidence: float = Field(70.0, ge=0, le=100)
    ocr_min_words: int = Field(10, ge=1)
    # Document embedding at ingestion (kmh.encoder): "openvino" (bfloat16 where the CPU has it, about 2.3x the
    # passages per second of float32 on 2 cores) or "torch" (PyTorch float32, the reference).
    document_backend: Literal["openvino", "torch"] = "openvino"
    # Precision of the openvino backend: "auto" (bf16 where the CPU has bfloat16 instructions, else f32), "bf16", "f32".
    document_precision: Literal["auto", "bf16", "f32"] = "auto"
    # Padded tokens per encoder batch: passages are sorted by length and batched up to this many tokens.
    embed_batch_tokens: int = Field(4096, ge=512)
    # Torch threads for the encoder; 0 = library default.
    torch_threads: int = Field(0, ge=0)
    # Search: candidates ranked per query (the "result set" that facets count and pages are cut from).
    search_pool: int = Field(100, ge=1, le=5000)
    # Hybrid fusion of the rankings: "dbsf" (distribution-based score fusion, the best in docs/evaluation.md) or "rrf"
    # (reciprocal rank fusion).
    fusion: Literal["rrf", "dbsf"] = "dbsf"
    # The k of reciprocal rank fusion: sum of 1 / (rrf_k + rank).
    rrf_k: int = Field(60, ge=1)
    # Weights of the dense and keyword rankings in the fusion, "dense,keyword"; 1,1 is Qdrant's plain fusion.
    fusion_weights: Annotated[tuple[float, float], NoDecode] = (1.0, 1.0)
    # Sentence ranking: ingestion also embeds each sentence of a passage (a multivector with the passage's own vector),
    # and hybrid search ranks its candidates by their best-matching sentence (MaxSim), a third list in the fusion.
    # false skips both (no sentence embedding at ingestion, two-list fusion).
    sentence_ranking: bool = True
    # How sentence vectors are made: "separate" encodes each sentence again on its own; "late" pools each sentence's
    # tokens from its passage's forward pass (late chunking: about 1.5x the passages per second, the same nDCG, but
    # the relevance floor then tells far fewer off-topic questions "no match": docs/evaluation.md).
    sentence_vectors: Literal["late", "separate"] = "separate"
    # Weight of the sentence ranking in the hybrid fusion, beside KMH_FUSION_WEIGHTS for the dense and keyword rankings.
    sentence_weight: float = Field(2.0, ge=0)
    # How many of the best dense and of the best keyword candidates (each) the sentence ranking scores.
    sentence_candidates: int = Field(50, ge=1)
    # Folder of the FreeDict English-French and French-English dictionaries (dictd files, Debian's
    # dict-freedict-eng-fra / dict-freedict-fra-eng): the keyword query of a question also gets the other language's
    # translations of its words, weighted KMH_TRANSLATION_WEIGHT (0 turns it off; so does a folder without them).
    dictionary_dir: Path = Path("/usr/share/dictd")
    translation_weight: float = Field(1.0, ge=0.0, le=2.0)
    # Hybrid search ranks the passages in the question's language and those in other languages each on their own
    # scale before fusing them (each ranking also gets its own candidates in the other languages), so that sharing
    # the question's language does not outrank an answer in the other language; the other languages' scores count
    # KMH_OTHER_LANGUAGE_WEIGHT (1 = strictly even; below 1 favours the question's language). false: one scale.
    language_fusion: bool = True
    other_language_weight: float = Field(0.85, ge=0.0, le=1.0)
    # Relevance floor: a passage whose relevance (its best cosine to the question among its own vector and its
    # sentences', see search.relevance) is below it is not an answer; when no passage clears it the search says
    # "no match". One floor for passages in the question's language, a lower one for passages in another (cosines
    # across languages run lower). Calibrated on tests/eval's library and the sample questions (docs/evaluation.md,
    # "No match"); 0 turns it off.
    relevance_floor: float = Field(0.828, ge=0.0, le=1.0)
    relevance_floor_cross: float = Field(0.798, ge=0.0, le=1.0)
    # Optional sentence-transformers CrossEncoder folder that re-scores the best candidates (loaded by path).
    reranker_model: Path | None = None
    # How many of the best candidates the reranker re-scores.
    rerank_top: int = Field(30, ge=1)
    # Query embeddings kept in memory (LRU, keyed by the query text); 0 disables the cache.
    query_cache_size: int = Field(1024, ge=0)
    # Recordings (audio or video) larger than this are refused.
    max_media_mb: float = Field(4096.0, gt=0)
    # Topic suggestions: a passage gets at most this many topics whose score reaches the threshold. The score is the
    # cosine to the topic minus the passage's mean cosine over all topics (see kmh/topics.py and docs/evaluation.md).
    topic_threshold: float = Field(0.025, ge=-1, le=1)
    topic_max_per_passage: int = Field(3, ge=1)

    # Web sign-in: how long a session cookie lasts, and whether it is sent over HTTPS only (set true behind TLS).
    session_hours: float = Field(12.0, gt=0)
    cookie_secure: bool = False
    # The site's address as readers reach it (https://kmh.example.org, behind a proxy): the links of citations
    # (GET .../citation, the pages' "Cite") and of the Atom feeds start with it; unset, with the address the request
    # was made to.
    public_url: Annotated[str | None, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] = None
    # Uploads waiting for the background worker live in data_dir/staging (removed once their job is done or failed);
    # a job is tried this many times when the server stops in the middle of it.
    job_max_attempts: int = Field(3, ge=1)
    # A job is refused (and /readyz answers 503) while the data folder's volume has less free space than this, in MB;
    # room the index's files have reserved but not yet filled (they are sparse) counts as used (kmh/diskspace.py).
    min_free_mb: int = Field(200, ge=0)
    # With a Qdrant server several processes may run jobs: a running job without progress for this long is taken as
    # interrupted (its process died) and run again. Progress is reported at least every 64 passages.
    job_lease_seconds: float = Field(900.0, gt=0)
    # Website import (kmh crawl, POST /api/crawls): seconds between two requests to the site (robots.txt's
    # Crawl-delay wins when longer), the most URLs one crawl fetches, and how many links away from the start page it
    # goes by default when the site has no sitemap.
    crawl_delay: float = Field(1.0, ge=0)
    crawl_max_pages: int = Field(1000, ge=1)
    crawl_depth: int = Field(2, ge=0, le=10)
    # Search analytics (services.analytics): each search through GET /api/search or the search page is kept this many
    # days (query, detected language, filters, result count, no match, the hit opened; never who asked), then deleted
    # (at start and daily). 0: nothing is recorded (what was kept stays until staff delete it).
    analytics_days: int = Field(180, ge=0)

    @field_validator("fusion_weights", mode="before")
    @classmethod
    def _weights(cls, v):
        if isinstance(v, str):
            v = [x for x in v.replace(";", ",").split(",") if x.strip()]
        return v

    @field_validator("fusion_weights", mode="after")
    @classmethod
    def _weights_positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if any(w < 0 for w in v) or not any(w > 0 for w in v):
            raise ValueError("fusion weights must be non-negative and not both 0")
        return v

    @field_validator("data_dir", "models_dir", mode="after")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.chunk_min_words >= self.chunk_max_words:
            raise ValueError("chunk_min_words must be smaller than chunk_max_words")
        if self.chunk_overlap_words >= self.chunk_min_words:
            raise ValueError("chunk_overlap_words must be smaller than chunk_min_words")
        if self.segment_min_seconds >= self.segment_max_seconds:
            raise ValueError("segment_min_seconds must be smaller than segment_max_seconds")
        if self.store_backend == "qdrant" and not self.qdrant_url:
            raise ValueError("KMH_QDRANT_URL is required when KMH_STORE_BACKEND=qdrant")
        return self

    @cached_property
    def catalog_db_url(self) -> str:
        return self.catalog_url or f"sqlite:///{self.data_dir / 'catalog.sqlite3'}"

    @cached_property
    def index_path(self) -> Path:
        return self.data_dir / "index"

    @cached_property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @cached_property
    def originals_dir(self) -> Path:
        return self.data_dir / "originals"

    @cached_property
    def embedding_model_path(self) -> Path:
        return (self.embedding_model or self.models_dir / "multilingual-e5-small").expanduser().resolve()

    @cached_property
    def whisper_model_path(self) -> Path:
        return (self.whisper_model or self.models_dir / "whisper-base").expanduser().resolve()

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_media_bytes(self) -> int:
        return int(self.max_media_mb * 1024 * 1024)
