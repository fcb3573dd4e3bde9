"""Word error rate of a transcript against what was said (benchmarks and tests of speech recognition)."""

from __future__ import annotations

import re
import unicodedata


def spoken_words(text: str) -> list[str]:
    """Lower-case words: possessives dropped ("village's" -> "village"), elisions and hyphens split
    ("l'intégration" -> "l", "intégration"), other punctuation ignored."""
    text = unicodedata.normalize("NFC", text.lower()).replace("’", "'")
    text = re.sub(r"(?<=\w)'s\b", "", text)
    text = re.sub(r"['\-]", " ", text)
    return re.sub(r"[^\w\s]", " ", text).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word edit distance (substitutions, insertions, deletions) over the number of reference words."""
    ref, hyp = spoken_words(reference), spoken_words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))
