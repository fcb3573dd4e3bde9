"""Which language a text is in (py3langid, restricted to the languages the library holds)."""

from __future__ import annotations

from functools import lru_cache

# Languages the catalog records (ISO 639-1); search and the bilingual dictionaries handle fr and en.
LANGUAGES = ("fr", "en", "es", "pt", "ar", "de", "it")


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def guess_language(text: str, languages: tuple[str, ...] = LANGUAGES) -> str | None:
    """ISO 639-1 code of ``text`` among ``languages``; None when it has fewer than 10 letters."""
    if sum(ch.isalpha() for ch in text) < 10:
        return None
    language, _confidence = _identifier(tuple(languages)).classify(text)
    return language if language in languages else None
