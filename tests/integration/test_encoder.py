"""The document encoder (kmh.encoder) and the passage embedder that pools it (ingest.components.passages)."""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document

from ingest.components.passages import PassageEmbedder, embed_text
from kmh import modelkit
from kmh.encoder import Encoded, EncoderError, TokenEncoder, span_vectors
from tests.conftest import MODELS

E5 = MODELS / modelkit.E5_DIRNAME
TEXTS = [
    "passage: Court.",
    "passage: La réintégration est durable lorsque les migrants de retour ont atteint un niveau d'autosuffisance "
    "économique, de stabilité sociale et de bien-être psychosocial qui leur permet de faire face aux facteurs de "
    "(ré)émigration.",
    "passage: Returnees receive counselling, " * 200,  # past the 512-token window
    "passage: Le comité national de coordination réunit les ministères.",
]


@pytest.fixture(scope="module")
def openvino():
    encoder = TokenEncoder(E5, backend="openvino", batch_tokens=600)  # several batches for these four texts
    encoder.warm_up()
    return encoder


@pytest.fixture(scope="module")
def torch_f32():
    encoder = TokenEncoder(E5, backend="torch")
    encoder.warm_up()
    return encoder


def test_openvino_vectors_match_sentence_transformers_in_the_callers_order(openvino):
    from sentence_transformers import SentenceTransformer

    ref = SentenceTransformer(str(E5), device="cpu", local_files_only=True).encode(TEXTS, normalize_embeddings=True)
    ours = np.asarray(openvino.embed(TEXTS))
    assert np.diag(ours @ ref.T).min() > 0.999  # bfloat16 on this CPU, float32 elsewhere
    assert (ours @ ref.T).argmax(axis=1).tolist() == [0, 1, 2, 3]  # sorted by length inside, given back in order
    assert openvino.used_precision in ("bf16", "f32")


def test_batches_hold_at_most_the_token_budget_and_long_texts_are_truncated(openvino):
    lengths = openvino.count_tokens(TEXTS)
    assert max(lengths) == 512
    order = sorted(range(len(TEXTS)), key=lambda i: lengths[i])
    batches = list(openvino._batches(order, lengths))
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3] and len(batches) > 1
    assert all(len(b) * max(lengths[i] for i in b) <= 600 or len(b) == 1 for b in batches)


def test_span_vectors_pool_the_tokens_inside_each_span(torch_f32):
    text = TEXTS[1]
    (enc,) = torch_f32.encode([text])
    cut = text.index(" qui leur")
    first, second, outside = span_vectors(enc, [(9, cut), (cut, len(text)), (len(text) + 5, len(text) + 9)])
    assert outside is None
    inside = [(a >= 9 and b <= cut and b > a) for a, b in enc.offsets]
    expected = enc.states[np.asarray(inside)].mean(axis=0)
    assert float(first @ (expected / np.linalg.norm(expected))) > 0.9999
    assert 0.5 < float(first @ second) < 0.99


def test_a_span_past_the_window_has_no_tokens():
    states = np.ones((3, 4), np.float32)
    enc = Encoded(states, np.asarray([[0, 0], [0, 5], [0, 0]]))
    assert span_vectors(enc, [(0, 5), (6, 10)])[1] is None


def test_torch_backend_refuses_bfloat16():
    with pytest.raises(EncoderError, match="float32 only"):
        TokenEncoder(E5, backend="torch", precision="bf16").warm_up()


def test_missing_export_is_named(tmp_path):
    (tmp_path / "tokenizer.json").write_bytes((E5 / "tokenizer.json").read_bytes())
    with pytest.raises(EncoderError, match="kmh setup-models"):
        TokenEncoder(tmp_path, backend="openvino").warm_up()


def _passage() -> Document:
    text = ("Le retour volontaire est organisé avec l'OIM. Les bénéficiaires reçoivent un appui à la réintégration "
            "économique. Un suivi est assuré pendant douze mois par les conseillers.")
    spans, start = [], 0
    for sentence in text.split(". "):
        a = text.index(sentence, start)
        spans.append((a, a + len(sentence) + (0 if sentence.endswith(".") else 1)))
        start = spans[-1][1]
    return Document(content=text, meta={"title": "Guide AVRR", "section": "Suivi", "sentences": spans})


def test_late_sentence_vectors_come_from_the_passage_pass_and_separate_ones_from_their_own(torch_f32):
    doc = _passage()
    text, start = embed_text(doc, "passage: ")
    assert text == "passage: Guide AVRR\nSuivi\n" + doc.content and text[start:] == doc.content
    (late,) = PassageEmbedder(torch_f32, sentences="late").run(documents=[doc])["documents"]
    (sep,) = PassageEmbedder(torch_f32, sentences="separate").run(documents=[doc])["documents"]
    (plain,) = PassageEmbedder(torch_f32, sentences=None).run(documents=[doc])["documents"]
    assert "sentence_vectors" not in plain.meta
    assert late.embedding == sep.embedding == plain.embedding == late.meta["sentence_vectors"][0]
    spans = doc.meta["sentences"]
    (enc,) = torch_f32.encode([text])
    want = span_vectors(enc, [(start + a, start + b) for a, b in spans])
    assert np.allclose(late.meta["sentence_vectors"][1:], want, atol=1e-6)
    alone = torch_f32.embed(["passage: " + doc.content[a:b] for a, b in spans])
    assert np.allclose(sep.meta["sentence_vectors"][1:], alone, atol=1e-6)
    assert len(late.meta["sentence_vectors"]) == len(spans) + 1


def test_a_sentence_past_the_window_is_encoded_alone(torch_f32):
    body = "Les conseillers accompagnent chaque bénéficiaire dans son projet. " * 70
    tail = "Le dernier mot revient aux communautés."
    doc = Document(content=body + tail, meta={"sentences": [(0, 10), (len(body), len(body) + len(tail))]})
    (late,) = PassageEmbedder(torch_f32, sentences="late").run(documents=[doc])["documents"]
    (alone,) = torch_f32.embed(["passage: " + tail])
    assert float(np.dot(late.meta["sentence_vectors"][2], alone)) > 0.9999

