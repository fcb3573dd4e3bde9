"""The interface's strings in French and English, and which language a request gets.

The language comes from the ``kmh_lang`` cookie (set by the switch in the page header), else from the best match
of ``Accept-Language``, else English. An unknown message id raises: a missing translation fails the page (and the
tests that visit every page in both languages), it never shows an id or the other language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from kmh.language import accepted_language
from web.messages import MESSAGES

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "kmh_lang"


def accept_language(header: str | None) -> str | None:
    """The supported language the ``Accept-Language`` header prefers most, or None."""
    return accepted_language(header, LANGUAGES)


def choose_language(request: Request) -> str:
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return accept_language(request.headers.get("accept-language")) or DEFAULT_LANGUAGE


def translator(lang: str) -> Callable[..., str]:
    """``t("id", name=value)``: the message in ``lang``, with ``{name}`` fields filled (``n`` picks singular or
    plural in messages written ``singular|plural``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    index = LANGUAGES.index(lang)

    def t(message_id: str, **fields: Any) -> str:
        try:
            text = MESSAGES[message_id][index]
        except KeyError:
            raise KeyError(f"no message {message_id!r} in web/messages.py") from None
        if "|" in text and "n" in fields:  # "one passage|{n} passages": French counts 0 and 1 as singular
            one, _, other = text.partition("|")
            n = fields["n"]
            text = one if (n == 1 or (lang == "fr" and n == 0)) else other
        return text.format(**fields) if fields else text

    return t
