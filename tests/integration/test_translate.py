"""Query translation for keyword search with the FreeDict dictionaries that make setup installs."""

from __future__ import annotations

import gzip

from kmh.settings import Settings
from kmh.sparse import Bm25Encoder
from search.translate import QueryTranslator, read_dictd


def test_english_and_french_questions_get_the_other_language_s_terms():
    translator = QueryTranslator(Settings().dictionary_dir, Bm25Encoder(), weight=1.0)
    assert translator.available("en", "fr") and translator.available("fr", "en")
    english = translator.translate("How do I renew my passport?", "en", "fr")
    assert english.language == "fr" and {"passeport", "renouvel"} <= set(english.terms)
    assert english.terms["passeport"] == 1.0 and english.terms["renouvel"] < 1.0  # senses share the word's weight
    french = translator.translate("Combien coûte le permis de conduire ?", "fr", "en")
    assert "cost" in french.terms and all(0 < w <= 1.0 for w in french.terms.values())
    assert translator.translate("the of and", "en", "fr").terms == {}  # stop words only


def test_a_missing_dictionary_translates_nothing(tmp_path):
    translator = QueryTranslator(tmp_path, Bm25Encoder())
    assert not translator.available("en", "fr")
    assert translator.translate("How do I renew my passport?", "en", "fr").terms == {}


def test_dictd_files_are_read_with_numbered_senses_and_alternatives(tmp_path):
    body = "00-database-info\nabout\npassport /pa:spo:t/\npasseport\nrenew /rinju:/\n1. renouveler\n2. reconduire, prolonger\n"
    data = body.encode()
    start = data.index(b"passport")
    mid = data.index(b"renew")

    def b64(n: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        out = ""
        while True:
            out = alphabet[n % 64] + out
            n //= 64
            if not n:
                return out

    (tmp_path / "x.index").write_text(f"00databaseinfo\tA\tB\npassport\t{b64(start)}\t{b64(mid - start)}\n"
                                      f"renew\t{b64(mid)}\t{b64(len(data) - mid)}\n")
    (tmp_path / "x.dict.dz").write_bytes(gzip.compress(data))
    entries = read_dictd(tmp_path / "x.index", tmp_path / "x.dict.dz")
    assert entries == {"passport": ["passeport"], "renew": ["renouveler", "reconduire", "prolonger"]}
