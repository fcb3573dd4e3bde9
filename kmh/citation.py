"""Bibliographic references of documents, passages and recording moments, in four formats: a text reference in
French or English, RIS, BibTeX and CSL-JSON.

Pure formatting: ``services.citations`` makes a :class:`Reference` from the catalog (and says who its author and
publisher are), the API sets its absolute ``url`` (``api.urls``); here it is only written out.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from kmh.dates import clock

FORMATS = ("text", "ris", "bibtex", "csl-json")
LANGUAGES = ("fr", "en")
Format = Literal["text", "ris", "bibtex", "csl-json"]
Lang = Literal["fr", "en"]

MEDIA_TYPES = {
    "text": "text/plain; charset=utf-8",
    "ris": "application/x-research-info-systems",
    "bibtex": "application/x-bibtex",
    "csl-json": "application/vnd.citationstyles.csl+json",
}
EXTENSIONS = {"text": "txt", "ris": "ris", "bibtex": "bib", "csl-json": "json"}

# doc_type -> RIS TY, BibTeX entry type, CSL type (recordings: by has_video; see _ris_type).
_RIS = {"report": "RPRT", "knowledge_paper": "RPRT", "handbook": "BOOK", "news": "NEWS", "seminar_page": "ELEC",
        "other": "GEN"}
_BIBTEX = {"report": "techreport", "knowledge_paper": "techreport", "handbook": "book", "news": "misc",
           "seminar_page": "online", "recording": "misc", "other": "misc"}
_CSL = {"report": "report", "knowledge_paper": "report", "handbook": "book", "news": "article-newspaper",
        "seminar_page": "webpage", "recording": "speech", "other": "document"}
_BIBTEX_LANGUAGE = {"fr": "french", "en": "english", "es": "spanish", "pt": "portuguese", "ar": "arabic",
                    "de": "german", "it": "italian"}
_BIBTEX_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
}
# The words of a reference, in the reader's language.
_WORDS = {
    "en": {"nd": "n.d.", "video": "Video recording", "audio": "Audio recording", "in": "In {seminar}",
           "session": "session {n}", "session_title": "session {n} “{title}”", "at": "at {ts}",
           "accessed": "accessed {date}", "segment": "segment {span}"},
    "fr": {"nd": "s. d.", "video": "enregistrement vidéo", "audio": "enregistrement audio", "in": "Dans {seminar}",
           "session": "session {n}", "session_title": "session {n} « {title} »", "at": "à {ts}",
           "accessed": "consulté le {date}", "segment": "segment {span}"},
}


@dataclass(frozen=True)
class Reference:
    """What a reference says of a document, or of one of its passages (``page``) or recording moments (``start``).

    ``body`` is the institution responsible for the document, both its author and its publisher (the catalog
    names no people for documents); ``authors`` are people (a recording segment's speaker), named before it.
    """

    doc_id: str
    title: str
    doc_type: str = "other"
    kind: Literal["document", "recording"] = "document"
    language: str | None = None
    body: str | None = None
    authors: tuple[str, ...] = ()
    published: date | None = None
    precision: str | None = None  # "year", "month" or "day" (kmh.dates); None: the day
    programme: str | None = None
    # Recordings: the seminar (in the reader's language), the session and its title, video or sound only.
    seminar: str | None = None
    session: int | None = None
    session_title: str | None = None
    video: bool = False
    # A passage: its page (documents) or its seconds (recordings).
    passage_id: str | None = None
    page: int | None = None
    start: float | None = None
    end: float | None = None
    # A recording segment cited at a moment inside it (``start``): the segment's own span, for the notes.
    window: tuple[float, float] | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)
    # Absolute: set by the API (api.urls); the deep link for a passage.
    url: str | None = None

    @property
    def recording(self) -> bool:
        return self.kind == "recording" or self.doc_type == "recording"

    @property
    def key(self) -> str:
        """A stable ASCII key: the first author's name (a person's last word, an institution's or the title's first),
        the year, the document id, and the page or second of a passage: ``oim2024-0a1b2c3d4e5f-p2``."""
        words = _ascii(self.authors[0] if self.authors else self.body or self.title).lower().split()
        # a person by the last word of the name, an institution or a title by its first
        word = re.sub(r"[^a-z0-9]", "", (words[-1] if self.authors else words[0]) if words else "") or "kmh"
        year = str(self.published.year) if self.published else ""
        return f"{word[:20]}{year}-{self.doc_id}{self._locator()}"

    def _locator(self) -> str:
        if self.recording and self.start is not None and self.passage_id:
            return f"-t{int(self.start)}"
        if self.page:
            return f"-p{self.page}"
        return ""


def render(ref: Reference, fmt: str, lang: str, accessed: date) -> str:
    """``ref`` in one of FORMATS; ``lang`` (fr or en) is the language of the words a reference adds."""
    if fmt == "text":
        return as_text(ref, lang, accessed)
    if fmt == "ris":
        return as_ris(ref, lang, accessed)
    if fmt == "bibtex":
        return as_bibtex(ref, lang, accessed)
    if fmt == "csl-json":
        return json.dumps(as_csl(ref, lang, accessed), ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown citation format {fmt!r}; expected one of {', '.join(FORMATS)}")


def filename(ref: Reference, fmt: str) -> str:
    """An ASCII file name for ``ref`` in ``fmt``: the title's first words, the page or second of a passage."""
    words = re.sub(r"[^a-z0-9]+", "-", _ascii(ref.title).lower()).strip("-")
    if len(words) > 60:
        words = words[:60].rsplit("-", 1)[0]
    return f"{words or 'reference'}{ref._locator()}.{EXTENSIONS[fmt]}"


# -- text ----------------------------------------------------------------------------------------------


def as_text(ref: Reference, lang: str, accessed: date) -> str:
    """Author (date). Title [kind]. In seminar, session n "title", at 00:06:21. Publisher. p. 12. URL (accessed
    date): the parts the reference has, in ``lang``."""
    words = _WORDS[_lang(lang)]
    lead = ", ".join(_one_line(a) for a in ref.authors) or _one_line(ref.body)
    when = f"({date_words(ref.published, ref.precision, lang) or words['nd']})"
    title = _one_line(ref.title)
    if ref.recording:
        title += f" [{words['video' if ref.video else 'audio']}]"
    parts = [f"{lead} {when}", title] if lead else [f"{title} {when}"]
    where = []
    if ref.seminar:
        where.append(words["in"].format(seminar=_one_line(ref.seminar)))
    if ref.session is not None:
        where.append(_session(ref, words))
    if ref.recording and ref.passage_id and ref.start is not None:
        where.append(words["at"].format(ts=clock(ref.start)))
    if where:
        where[0] = where[0][:1].upper() + where[0][1:]
        parts.append(", ".join(where))
    if ref.body and ref.authors:  # the publisher, when someone else is the author
        parts.append(_one_line(ref.body))
    if ref.page:
        parts.append(f"p. {ref.page}")
    text = " ".join(_sentence(p) for p in parts)
    seen = words["accessed"].format(date=date_words(accessed, "day", lang))
    return f"{text} {ref.url} ({seen})" if ref.url else f"{text} ({seen[:1].upper() + seen[1:]})"


def date_words(value: date | None, precision: str | None, lang: str) -> str:
    """2024, March 2024 / mars 2024, 1 December 2021 / 1er décembre 2021."""
    if value is None:
        return ""
    if precision == "year":
        return str(value.year)
    months = _MONTHS[_lang(lang)]
    if precision == "month":
        return f"{months[value.month - 1]} {value.year}"
    day = "1er" if lang == "fr" and value.day == 1 else str(value.day)
    return f"{day} {months[value.month - 1]} {value.year}"


def _session(ref: Reference, words: dict[str, str]) -> str:
    if ref.session_title:
        return words["session_title"].format(n=ref.session, title=_one_line(ref.session_title))
    return words["session"].format(n=ref.session)


def _sentence(part: str) -> str:
    return part if part.endswith((".", "?", "!", "…")) else part + "."


# -- RIS -----------------------------------------------------------------------------------------------


def as_ris(ref: Reference, lang: str, accessed: date) -> str:
    """A RIS record (tags of two letters, ``TY`` first and ``ER`` last, CRLF line ends)."""
    rows: list[tuple[str, str | None]] = [("TY", _ris_type(ref))]
    rows += [("AU", a) for a in (ref.authors or ((ref.body,) if ref.body else ()))]
    rows += [("TI", ref.title), ("T2", ref.seminar), ("T3", ref.programme)]
    if ref.published is not None:
        p = ref.published
        rows.append(("PY", str(p.year)))
        month = f"{p.month:02d}" if ref.precision in ("month", "day", None) else ""
        day = f"{p.day:02d}" if ref.precision in ("day", None) else ""
        rows.append(("DA", f"{p.year}/{month}/{day}/"))
    rows += [("PB", ref.body), ("SP", str(ref.page) if ref.page else None), ("UR", ref.url),
             ("Y2", accessed.strftime("%Y/%m/%d")), ("LA", ref.language)]
    rows += [("KW", k) for k in ref.keywords]
    rows += [("N1", n) for n in _notes(ref, lang)]
    rows += [("ID", ref.key), ("ER", "")]
    return "".join(f"{tag}  - {_one_line(value)}\r\n" for tag, value in rows if value is not None)


def _ris_type(ref: Reference) -> str:
    if ref.recording:
        return "VIDEO" if ref.video else "SOUND"
    return _RIS.get(ref.doc_type, "GEN")


def _notes(ref: Reference, lang: str) -> list[str]:
    """What a reference notes of a recording moment: its session and its segment (00:06:21–00:06:42)."""
    words = _WORDS[_lang(lang)]
    out = []
    if ref.recording and ref.session is not None:
        out.append(_capital(_session(ref, words)))
    if ref.recording and ref.passage_id and ref.start is not None:
        first, last = ref.window or (ref.start, ref.end)
        span = clock(first) + (f"–{clock(last)}" if last is not None else "")
        out.append(_capital(words["segment"].format(span=span)))
    return out


# -- BibTeX --------------------------------------------------------------------------------------------

_TEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&", "$": r"\$", "#": r"\#",
        "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}
_TEX_CHARS = re.compile(r"[\\{}%&$#_^~]")


def as_bibtex(ref: Reference, lang: str, accessed: date) -> str:
    """One BibTeX entry (UTF-8; the characters BibTeX and LaTeX treat as markup escaped; an institution as author
    in double braces, so that styles do not split it into first and last names)."""
    kind = "misc" if ref.recording else _BIBTEX.get(ref.doc_type, "misc")
    fields: list[tuple[str, str | None]] = []
    if ref.authors:
        fields.append(("author", " and ".join("{" + _tex(a) + "}" if "," in a else _tex(a) for a in ref.authors)))
    elif ref.body:
        fields.append(("author", "{" + _tex(ref.body) + "}"))
    fields.append(("title", "{" + _tex(ref.title) + "}"))  # kept as written: French titles are not title-cased
    if ref.published is not None:
        fields.append(("year", str(ref.published.year)))
        if ref.precision in ("month", "day", None):
            fields.append(("month", _BIBTEX_MONTHS[ref.published.month - 1]))
        fields.append(("date", _iso(ref.published, ref.precision)))
    publisher = "institution" if kind == "techreport" else "publisher"
    fields.append((publisher, _tex(ref.body) if ref.body else None))
    if ref.recording:
        fields.append(("howpublished", _tex(_WORDS[_lang(lang)]["video" if ref.video else "audio"])))
        fields.append(("eventtitle", _tex(ref.seminar) if ref.seminar else None))
    fields += [("series", _tex(ref.programme) if ref.programme else None),
               ("pages", str(ref.page) if ref.page else None),
               ("url", _url(ref.url) if ref.url else None),
               ("urldate", accessed.isoformat()),
               ("language", _BIBTEX_LANGUAGE.get(ref.language or "", ref.language)),
               ("keywords", _tex(", ".join(ref.keywords)) if ref.keywords else None),
               ("note", _tex(". ".join(_notes(ref, lang))) if _notes(ref, lang) else None)]
    body = ",\n".join(f"  {name} = {_bib_value(name, value)}" for name, value in fields if value is not None)
    return f"@{kind}{{{ref.key},\n{body}\n}}\n"


def _bib_value(name: str, value: str) -> str:
    return value if name == "month" else "{" + value + "}"


def _tex(text: str) -> str:
    return _TEX_CHARS.sub(lambda m: _TEX[m.group()], _one_line(text))


def _url(url: str) -> str:
    """A URL as a BibTeX field reads it: braces and backslashes percent-encoded, the rest as it is."""
    return url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


# -- CSL-JSON ------------------------------------------------------------------------------------------


def as_csl(ref: Reference, lang: str, accessed: date) -> list[dict[str, Any]]:
    """A CSL-JSON list of one item (Zotero, Mendeley, Pandoc and citeproc read it); dates as date-parts to the
    precision the catalog has."""
    item: dict[str, Any] = {"id": ref.key, "type": _CSL.get("recording" if ref.recording else ref.doc_type,
                                                             "document"), "title": _one_line(ref.title)}
    names = ref.authors or ((ref.body,) if ref.body else ())
    if names:
        item["author"] = [{"literal": _one_line(n)} for n in names]
    if ref.body:
        item["publisher"] = _one_line(ref.body)
    if ref.published is not None:
        item["issued"] = {"date-parts": [_date_parts(ref.published, ref.precision)]}
    item["accessed"] = {"date-parts": [[accessed.year, accessed.month, accessed.day]]}
    if ref.seminar:
        item["event-title"] = item["event"] = _one_line(ref.seminar)
    if ref.recording:
        item["medium"] = _WORDS[_lang(lang)]["video" if ref.video else "audio"]
    if ref.programme:
        item["collection-title"] = _one_line(ref.programme)
    if ref.page:
        item["page"] = str(ref.page)
    if ref.url:
        item["URL"] = ref.url
    if ref.language:
        item["language"] = ref.language
    if ref.keywords:
        item["keyword"] = ", ".join(ref.keywords)
    notes = _notes(ref, lang)
    if notes:
        item["note"] = ". ".join(notes)
    return [item]


def _date_parts(value: date, precision: str | None) -> list[int]:
    if precision == "year":
        return [value.year]
    if precision == "month":
        return [value.year, value.month]
    return [value.year, value.month, value.day]


def _iso(value: date, precision: str | None) -> str:
    return "-".join(f"{p:02d}" if i else f"{p:04d}" for i, p in enumerate(_date_parts(value, precision)))


# -- text helpers -------------------------------------------------------------------------------------


def _lang(lang: str) -> str:
    return lang if lang in _WORDS else "en"


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
