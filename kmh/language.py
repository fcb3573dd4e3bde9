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


def accepted_language(header: str | None, supported: tuple[str, ...]) -> str | None:
    """The language of ``supported`` that an ``Accept-Language`` header prefers most (by q, then by position), or
    None."""
    if not header:
        return None
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in supported and q > 0:
            ranked.append((-q, position, primary))
    return min(ranked)[2] if ranked else None
