"""Query translation for the keyword ranking, with the FreeDict bilingual dictionaries (dictd format).

Debian's ``dict-freedict-eng-fra`` and ``dict-freedict-fra-eng`` install ``freedict-eng-fra.index`` and
``.dict.dz`` in /usr/share/dictd (make setup installs them). A question in English gets the French translations
of its words (and of its two- and three-word terms) added to its BM25 query, stemmed in French and weighted
below its own terms; a French question gets English ones. Loaded once, on first use (about 17,000 entries).
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kmh.sparse import Bm25Encoder, fold, stop_words, tokenize

log = logging.getLogger(__name__)

PAIRS = {("en", "fr"): "freedict-eng-fra", ("fr", "en"): "freedict-fra-eng"}
# Translations kept per source term (dictionaries list the common sense first).
MAX_SENSES = 3
# Tables built so far, by (folder, source, target): every searcher of a process shares them (built on first use,
# 0.8 s for both directions; the stemming they are keyed by is the same for every Bm25Encoder).
_TABLES: dict[tuple[str, str, str], dict[tuple[str, ...], list[str]]] = {}
_LOCK = threading.Lock()
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_HEAD = re.compile(r"^(?P<word>[^/<]+?)\s*(?:/[^/]*/)?\s*(?:<[^>]*>)?\s*$")
_SENSE = re.compile(r"^\s*(?:\d+\.\s*)?(?P<text>.+?)\s*$")


def _b64(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 64 + _B64.index(ch)
    return value


def read_dictd(index: Path, data: Path) -> dict[str, list[str]]:
    """Headword -> its translations (senses in order, comma-separated alternatives split), from a dictd pair."""
    raw = gzip.decompress(data.read_bytes()) if data.suffix == ".dz" else data.read_bytes()
    out: dict[str, list[str]] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith("00database"):
            continue
        start, length = _b64(parts[1]), _b64(parts[2])
        lines = raw[start:start + length].decode("utf-8", "replace").splitlines()
        if len(lines) < 2:
            continue
        senses = out.setdefault(parts[0].lower(), [])
        for text in lines[1:]:
            m = _SENSE.match(text)
            if not m:
                continue
            for alt in m.group("text").split(","):
                alt = re.sub(r"\([^)]*\)|<[^>]*>", "", alt).strip()
                if alt and alt not in senses:
                    senses.append(alt)
    return out


@dataclass(frozen=True)
class Translation:
    """The other language's terms (analysed as BM25 analyses that language) and the weight of each."""

    language: str
    terms: dict[str, float]


class QueryTranslator:
    """Translates a question's words and multi-word terms with a bilingual dictionary, for the keyword query."""

    def __init__(self, folder: Path | str, encoder: Bm25Encoder, *, weight: float = 0.5):
        self.folder = Path(folder)
        self.encoder = encoder
        self.weight = weight

    def _has(self, source: str, target: str) -> bool:
        name = PAIRS.get((source, target))
        return name is not None and (self.folder / f"{name}.index").is_file()

    def available(self, source: str, target: str) -> bool:
        return self._has(source, target) or self._has(target, source)

    def _entries(self, source: str, target: str) -> dict[str, list[str]]:
        name = PAIRS[(source, target)]
        return read_dictd(self.folder / f"{name}.index", self.folder / f"{name}.dict.dz")

    def _table(self, source: str, target: str) -> dict[tuple[str, ...], list[str]]:
        """Stemmed source term (a tuple of stems) -> translations, from the source-target dictionary and, after
        its senses, the target-source one read backwards (each covers words the other lacks); built on first use."""
        key = (str(self.folder.resolve()), source, target)
        with _LOCK:
            if key not in _TABLES:
                table: dict[tuple[str, ...], list[str]] = {}

                def add(head: str, senses: list[str]) -> None:
                    key = tuple(self.encoder.terms(head, source))
                    if key and len(key) <= 3:
                        known = table.setdefault(key, [])
                        known += [s for s in senses if s not in known]

                if self._has(source, target):
                    for head, senses in self._entries(source, target).items():
                        add(head, senses)
                if self._has(target, source):
                    for head, senses in self._entries(target, source).items():
                        for sense in senses[:MAX_SENSES]:
                            add(sense, [head])
                _TABLES[key] = table
                log.info("dictionary %s -> %s: %d terms", source, target, len(table))
            return _TABLES[key]

    def warm_up(self, pairs: Iterable[tuple[str, str]] = PAIRS) -> None:
        for source, target in pairs:
            if self.available(source, target):
                self._table(source, target)

    def translate(self, text: str, source: str, target: str) -> Translation:
        """The target-language terms of ``text``: the longest dictionary terms first (three, two, one words), each
        term's first senses; a term worth ``weight`` in all, shared among its translated terms."""
        if not self.available(source, target):
            return Translation(target, {})
        table = self._table(source, target)
        stops = stop_words()
        words = [w for w in tokenize(text) if w not in stops and not w[0].isdigit()]
        stems = [tuple(self.encoder.terms(w, source)) for w in words]
        stems = [s[0] if s else "" for s in stems]
        out: dict[str, float] = {}
        i = 0
        while i < len(stems):
            for n in (3, 2, 1):
                key = tuple(stems[i:i + n])
                if len(key) == n and all(key) and key in table:
                    self._add(out, table[key][:MAX_SENSES], target)
                    i += n
                    break
            else:
                i += 1
        return Translation(target, out)

    def _add(self, out: dict[str, float], senses: list[str], target: str) -> None:
        terms: list[str] = []
        for sense in senses:
            terms += [t for t in self.encoder.terms(sense, target) if t not in terms]
        for t in terms:
            out[fold(t)] = max(out.get(fold(t), 0.0), self.weight / len(terms) ** 0.5)
