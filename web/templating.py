"""The Jinja2 environment of the pages: autoescaping always on, so text from documents is shown as text.

The only markup that comes from the search layer, the highlight (``<mark>`` query terms, ``<b>`` best sentence,
the rest HTML-escaped), is taken apart into plain-text segments by :func:`highlight_segments` and the template
writes the tags itself: no template uses ``|safe``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from api.urls import search_feed_url
from kmh.dates import clock  # the |clock filter: 12.4 -> 00:00:12

TEMPLATES = Path(__file__).parent / "templates"

_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
}


@dataclass(frozen=True)
class Segment:
    text: str
    mark: bool = False
    best: bool = False


_TAG = re.compile(r"</?(?:mark|b)>")


def highlight_segments(highlight: str) -> list[Segment]:
    """``a <b>b <mark>c</mark></b>`` -> [a], [b, best], [c, best, mark]; the text unescaped (Jinja escapes it)."""
    out: list[Segment] = []
    mark = best = False
    pos = 0
    for m in _TAG.finditer(highlight):
        if m.start() > pos:
            out.append(Segment(html.unescape(highlight[pos:m.start()]), mark, best))
        tag = m.group()
        if tag in ("<mark>", "</mark>"):
            mark = tag == "<mark>"
        else:
            best = tag == "<b>"
        pos = m.end()
    if pos < len(highlight):
        out.append(Segment(html.unescape(highlight[pos:]), mark, best))
    return out


def section_trail(section: str | None, title: str) -> str:
    """The section trail without its first heading when that heading is the document's title (news pages start
    with their title): "Title › Part" -> "Part", "Title" -> ""."""
    if not section:
        return ""
    first, _, rest = section.partition(" › ")
    if _plain(first) == _plain(title):
        return rest
    return section


def _plain(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


def format_date(value: Any, lang: str) -> str:
    """2024-03-12 -> "12 March 2024" / "12 mars 2024"; "2024-03" -> "March 2024"; "2024" stays."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parts = [value.year, value.month, value.day]
    else:
        try:
            parts = [int(x) for x in str(value).split("-")]
        except ValueError:
            return str(value)
    months = _MONTHS.get(lang, _MONTHS["en"])
    if len(parts) == 1:
        return str(parts[0])
    if len(parts) == 2:
        return f"{months[parts[1] - 1]} {parts[0]}"
    day = "1er" if lang == "fr" and parts[2] == 1 else str(parts[2])
    return f"{day} {months[parts[1] - 1]} {parts[0]}"


def country_name(name: str, lang: str) -> str:
    from web.countries import country_name as name_in

    return name_in(name, lang)


def language_name(t, code: str | None) -> str:
    """The language's name in the interface language, or its code for a language the interface does not name."""
    try:
        return t(f"language.{code}")
    except KeyError:
        return (code or "").upper()


def decimal(value: float, lang: str, digits: int = 1) -> str:
    """12.34 -> "12.3" in English, "12,3" in French."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def job_rate(t, lang: str, progress: Any) -> str:
    """"12.3 passages/s, about 40 s left" while a job embeds at a known rate, else "" (``progress``: a JobProgress;
    the same text as static/job.js writes)."""
    from ingest.progress import short_duration

    if progress.stage != "embedding" or progress.rate is None:
        return ""
    rate = decimal(progress.rate, lang)
    if progress.eta_seconds is None:
        return t("job.rate", rate=rate)
    return t("job.rate_eta", rate=rate, eta=short_duration(progress.eta_seconds))


def year_of(value: Any) -> str:
    return str(value)[:4] if value else ""


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["segments"] = highlight_segments
    env.filters["clock"] = clock
    env.filters["trail"] = section_trail
    env.filters["year"] = year_of
    env.globals["feed_url"] = search_feed_url  # feed_url(params, reader_lang=lang): the Atom feed of a search
    return env


def render(request: Request, page, template: str, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """The template filled with ``context`` and the page's language, translator and viewer."""
    env = environment()
    body = env.get_template(template).render(
        request=request, page=page, t=page.t, lang=page.lang, viewer=page.viewer,
        date=lambda v: format_date(v, page.lang), lang_name=lambda code: language_name(page.t, code),
        country=lambda name: country_name(name, page.lang), **context)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    # Pages may differ by language and by who is signed in: never cached by shared caches.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "same-origin"
    return response


# Scripts only from this origin (no inline script), so injected markup could not run even if it got through.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
