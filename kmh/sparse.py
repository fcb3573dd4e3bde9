"""BM25 sparse vectors with French/English stemming, the same for both store backends.

The store's sparse vector has Qdrant's IDF modifier, so the engine applies IDF at query time;
this module only computes the term-frequency part of BM25 for documents, and 1.0 per term for queries.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from kmh.store.base import SparseVector

STEMMERS = {"fr": "french", "en": "english"}
# Content words of this corpus that spaCy's lists treat as stop words ("retour" is the topic itself).
KEEP = frozenset({"retour", "retours", "personne", "gens", "nouveau", "proche", "possible", "possibles"})

# "11.300", "11,300", "11 300" (also with no-break spaces), one separator throughout, optional decimals.
_GROUPED = re.compile(r"(?<![\d.,])(\d{1,3})((?:([.,\u00a0\u202f ])\d{3})(?:\3\d{3})*)(?:(?!\3)[.,](\d+))?(?![\d])")
_DECIMAL = re.compile(r"(?<![\d.,])(\d+)[.,](\d+)(?![\d]|[.,]\d)")
_TOKEN = re.compile(r"(?<![\d.,])\d+\.\d+(?![\d]|[.,]\d)|[^\W_]+")


def _normalise_numbers(text: str) -> str:
    """Join digit groups ("11 300" -> "11300") and write decimals with a point ("3,5" -> "3.5")."""

    def grouped(m: re.Match[str]) -> str:
        digits = m.group(1) + re.sub(r"\D", "", m.group(2))
        return f"{digits}.{m.group(4)}" if m.group(4) else digits

    text = _GROUPED.sub(grouped, text)
    return _DECIMAL.sub(r"\1.\2", text)


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def fold(term: str) -> str:
    """Drop accents (NFKD, then remove combining marks) and spell out œ, æ, ß."""
    decomposed = unicodedata.normalize("NFKD", term.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """Lowercased words and numbers, in order, stop words included."""
    text = _normalise_numbers(unicodedata.normalize("NFC", text)).lower()
    return _TOKEN.findall(text)


def term_index(term: str) -> int:
    """Stable 31-bit index of a term: its 4-byte blake2b digest (digest_size=4) of the UTF-8 text, big-endian,
    top bit cleared."""
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


def _load_spacy_list(lang: str) -> set[str]:
    """spaCy's STOP_WORDS for a language, read from its file so that spaCy itself (slow to import) is not loaded."""
    spec = importlib.util.find_spec("spacy")
    if spec is not None and spec.origin:
        source = Path(spec.origin).parent / "lang" / lang / "stop_words.py"
        if source.exists():
            scope: dict[str, object] = {}
            exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), scope)
            words = scope.get("STOP_WORDS")
            if isinstance(words, set):
                return words
    module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
    return set(module.STOP_WORDS)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """French and English stop words (spaCy's lists), also without accents, loaded on first use."""
    words: set[str] = set()
    for lang in ("fr", "en"):
        for w in _load_spacy_list(lang):
            w = w.lower()
            for part in _TOKEN.findall(w):
                words.add(part)
            words.add(w)
    words -= KEEP
    words |= {fold(w) for w in words if fold(w) not in KEEP}
    return frozenset(words)


class Bm25Encoder:
    """Turns text into BM25 sparse vectors whose indices are stable hashes of stemmed, accent-folded terms."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_len: float = 150.0):
        if not k1 >= 0:
            raise ValueError(f"k1 must be >= 0, got {k1}")
        if not 0.0 <= b <= 1.0:
            raise ValueError(f"b must be between 0 and 1, got {b}")
        if not avg_len > 0:
            raise ValueError(f"avg_len must be > 0, got {avg_len}")
        self.k1 = float(k1)
        self.b = float(b)
        self.avg_len = float(avg_len)
        self._local = threading.local()  # PyStemmer objects are not thread-safe: one set per thread

    def __getstate__(self) -> dict[str, float]:
        return {"k1": self.k1, "b": self.b, "avg_len": self.avg_len}

    def __setstate__(self, state: dict[str, float]) -> None:
        self.__init__(**state)

    def _stemmer(self, language: str | None):
        name = STEMMERS.get(_lang(language))
        if name is None:
            return None
        stemmers = getattr(self._local, "stemmers", None)
        if stemmers is None:
            stemmers = self._local.stemmers = {}
        if name not in stemmers:
            import Stemmer

            stemmers[name] = Stemmer.Stemmer(name)
        return stemmers[name]

    def _analyse(self, words: Iterable[str], language: str | None) -> list[str]:
        stops = stop_words()
        kept = [w for w in words if w not in stops]
        stemmer = self._stemmer(language)
        if stemmer is not None:
            kept = [w if w[0].isdigit() else stemmer.stemWord(w) for w in kept]
        return [fold(w) for w in kept]

    def terms(self, text: str, language: str | None) -> list[str]:
        """The analysed terms of a text, in order (stop words dropped, stemmed, accents folded)."""
        return self._analyse(tokenize(text), language)

    def encode_document(self, text: str, language: str | None) -> SparseVector:
        """BM25 term-frequency weights tf*(k1+1)/(tf+k1*(1-b+b*len/avg_len)); len counts words, stop words included."""
        words = tokenize(text)
        counts = Counter(term_index(t) for t in self._analyse(words, language))
        norm = self.k1 * (1.0 - self.b + self.b * len(words) / self.avg_len)
        indices = sorted(counts)
        values = [counts[i] * (self.k1 + 1.0) / (counts[i] + norm) for i in indices]
        return SparseVector(indices=indices, values=values)

    def encode_query(self, text: str, languages: Iterable[str | None] = ("fr", "en")) -> SparseVector:
        """Weight 1.0 for each term, the query stemmed in each language so it matches passages of either."""
        words = tokenize(text)
        indices: set[int] = set()
        for language in languages:
            indices.update(term_index(t) for t in self._analyse(words, language))
        ordered = sorted(indices)
        return SparseVector(indices=ordered, values=[1.0] * len(ordered))


def _lang(language: str | None) -> str:
    """ "fr-FR", "FR", "french" -> "fr"; None -> ""."""
    if not language:
        return ""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    return {"french": "fr", "fra": "fr", "fre": "fr", "english": "en", "eng": "en"}.get(code, code)
