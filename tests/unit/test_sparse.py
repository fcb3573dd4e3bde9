"""BM25 encoder: analysis (stop words, stemming, accents, numbers), weights and stable indices."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kmh.sparse import Bm25Encoder, fold, term_index, tokenize


@pytest.fixture(scope="module")
def enc() -> Bm25Encoder:
    return Bm25Encoder()


def overlap(a, b) -> set[int]:
    return set(a.indices) & set(b.indices)


def test_stemming_and_accents_make_reintegration_match(enc):
    fr = enc.terms("Les réintégrations", "fr")
    en = enc.terms("reintegration", "en")
    assert fr == en == ["reintegr"]
    doc = enc.encode_document("Les réintégrations réussies au Sénégal", "fr")
    assert overlap(enc.encode_query("reintegration"), doc)
    assert overlap(enc.encode_query("réintégration"), enc.encode_document("Sustainable reintegration", "en"))


def test_french_and_english_queries_match_both_languages(enc):
    fr_doc = enc.encode_document("Les migrants de retour reçoivent une aide", "fr")
    en_doc = enc.encode_document("Returning migrants receive support", "en")
    for query in ("migrants", "Combien de migrants ?", "How many migrants?"):
        q = enc.encode_query(query)
        assert overlap(q, fr_doc) and overlap(q, en_doc), query
    # the French stem ("migr") and the English one ("migrant") are both in the query
    q = enc.encode_query("migrants")
    assert {term_index("migr"), term_index("migrant")} == set(q.indices)
    assert q.values == [1.0, 1.0]
    # one language only
    assert enc.encode_query("migrants", languages=("fr",)).indices == [term_index("migr")]


def test_numbers_are_normalised(enc):
    for text in ("11.300", "11,300", "11 300", "11\u00a0300", "11\u202f300"):
        assert enc.terms(f"{text} migrants", "en") == ["11300", "migrant"], text
    assert enc.terms("1.250.000 et 1 250 000", "fr") == ["1250000", "1250000"]
    assert enc.terms("3,5 %", "fr") == enc.terms("3.5 %", "en") == ["3.5"]
    assert enc.terms("2 500,75 dollars", "en") == ["2500.75", "dollar"]
    assert enc.terms("en 2019, 300 personnes", "fr") == ["2019", "300", "person"]
    assert enc.terms("2019-2021", "fr") == ["2019", "2021"]
    assert tokenize("Version 1.2.3") == ["version", "1", "2", "3"]


def test_stop_words_dropped_topic_words_kept(enc):
    assert enc.terms("le la les de des du et ou à pour avec", "fr") == []
    assert enc.terms("the of and or to with for is are", "en") == []
    # elisions and curly apostrophes
    assert enc.terms("l’atelier d'Ivoire qu'il c'est", "fr") == ["ateli", "ivoir"]
    # spaCy lists "retour" as a French stop word; it is this corpus' topic, so it is kept
    assert enc.terms("le retour", "fr") == ["retour"]
    # a stop word written without its accent is still a stop word
    assert enc.terms("apres deja", "fr") == []


def test_other_languages_are_not_stemmed(enc):
    assert enc.terms("Rückkehrer Migranten", "de") == ["ruckkehrer", "migranten"]
    assert enc.terms("migrants", None) == ["migrants"]
    assert enc.terms("migrants", "fr-FR") == enc.terms("migrants", "FR") == ["migr"]
    assert fold("Réintégration Côte d’Ivoire") == "Reintegration Cote d’Ivoire"
    assert enc.terms("mise en œuvre", "fr") == enc.terms("mise en oeuvre", "fr")


def test_document_weights_are_bm25_tf(enc):
    # 150 words (the average): tf=1 -> 1.0, tf=2 -> 2*2.2/(2+1.2)
    words = ["alpha", "alpha", "beta"] + [f"w{i}" for i in range(147)]
    vec = enc.encode_document(" ".join(words), "en")
    weights = dict(zip(vec.indices, vec.values))
    assert weights[term_index("beta")] == pytest.approx(1.0)
    assert weights[term_index("alpha")] == pytest.approx(2 * 2.2 / (2 + 1.2))
    assert vec.indices == sorted(vec.indices)
    # shorter passages weigh a term more, longer ones less
    short = enc.encode_document("beta gamma", "en")
    long = enc.encode_document("beta " + " ".join(f"w{i}" for i in range(400)), "en")
    b = term_index("beta")
    assert dict(zip(short.indices, short.values))[b] > 1.0 > dict(zip(long.indices, long.values))[b]
    # parameters are used
    flat = Bm25Encoder(b=0.0).encode_document("beta gamma", "en")
    assert flat.values == pytest.approx([1.0, 1.0])


def test_empty_and_stop_word_only_texts(enc):
    for text in ("", "   ", "le la les", "?!"):
        assert enc.encode_document(text, "fr").indices == []
        assert enc.encode_query(text).indices == []


def test_encoder_copies_and_pickles():
    import copy
    import pickle

    enc = Bm25Encoder(k1=1.5, b=0.5, avg_len=100)
    for other in (copy.deepcopy(enc), pickle.loads(pickle.dumps(enc))):
        assert (other.k1, other.b, other.avg_len) == (1.5, 0.5, 100.0)
        assert other.encode_document("retour des migrants", "fr") == enc.encode_document("retour des migrants", "fr")


@pytest.mark.parametrize("kwargs", [{"k1": -0.1}, {"b": 1.5}, {"b": -0.1}, {"avg_len": 0}, {"avg_len": -5}])
def test_constructor_checks(kwargs):
    with pytest.raises(ValueError):
        Bm25Encoder(**kwargs)


def test_indices_are_stable_31_bit_hashes(enc):
    # blake2b(term.encode("utf-8"), digest_size=4), big-endian, top bit cleared
    assert term_index("reintegr") == 770204699
    assert 0 <= term_index("x" * 1000) < 2**31
    code = (
        "from kmh.sparse import Bm25Encoder\n"
        "v = Bm25Encoder().encode_document('Les réintégrations des migrants de retour, 11 300 personnes', 'fr')\n"
        "print(v.indices, [round(x, 9) for x in v.values])\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        )
    here = enc.encode_document("Les réintégrations des migrants de retour, 11 300 personnes", "fr")
    assert outputs == {f"{here.indices} {[round(x, 9) for x in here.values]}\n"}


def test_import_is_light():
    code = (
        "import sys, kmh.sparse as s\n"
        "print(any(m == 'spacy' or m.startswith('spacy.') for m in sys.modules), s.stop_words.cache_info().currsize)\n"
        "s.Bm25Encoder().terms('le retour', 'fr')\n"
        "print('spacy' in sys.modules, s.stop_words.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # stop words are loaded on first use, and read without importing spaCy itself
    assert out.split("\n")[:2] == ["False 0", "False 1"]
