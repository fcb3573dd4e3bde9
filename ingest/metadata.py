"""Document metadata: the optional YAML sidecar beside a file, and what can be inferred from its text.

Sidecar: ``NAME.ext.meta.yaml`` or ``NAME.meta.yaml`` next to ``NAME.ext`` (``.yml`` also accepted;
the more specific ``NAME.ext.meta.yaml`` wins). Allowed fields::

    title: "Renforcer la durabilité de la réintégration"
    type: news                 # one of ingest.model.DOC_TYPES
    date: 2024-03-26           # YYYY, YYYY-MM or YYYY-MM-DD
    country: Sénégal           # or a list; "countries" is accepted too
    programme: MPRR-SSA
    source: https://www.example.org/page
    language: fr               # ISO 639-1
    edition_of: paper-en.pdf   # the file name of another language edition of the same publication

``source`` is a URL (→ ``source_url``) or, as in the corpus sidecars, a free-text citation such as
"OIM Sénégal, communiqué" (kept as ``source``). Something that starts
like a URL but is not a valid http(s) URL is refused.

``read_sidecar`` returns the validated values under ``DocMeta`` field names (title, doc_type,
published, countries, programme, source_url, language; plus ``source`` for a citation);
``infer_meta`` fills the rest from the text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

from ingest.model import Block, DocMeta, IngestError
from kmh.catalog.models import DOC_TYPES
from kmh.language import LANGUAGES as CATALOG_LANGUAGES
from kmh.language import guess_language

SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml")
SIDECAR_MAX_BYTES = 64 * 1024
ALLOWED_FIELDS = ("title", "type", "date", "country", "countries", "programme", "source", "language", "edition_of")
LANGUAGES = CATALOG_LANGUAGES
TITLE_MAX_CHARS = 200
DATE_SCAN_CHARS = 2000
LANGUAGE_SCAN_CHARS = 5000

# Section headings that say nothing about the document (not used as its title).
GENERIC_HEADINGS = frozenset(
    {
        "dates",
        "date",
        "objectifs",
        "objectif",
        "objectives",
        "format",
        "contexte",
        "context",
        "background",
        "introduction",
        "principaux messages",
        "key messages",
        "public cible",
        "target audience",
        "sommaire",
        "table des matieres",
        "contents",
        "table of contents",
        "resume",
        "resume executif",
        "executive summary",
        "summary",
        "abstract",
        "avant-propos",
        "foreword",
        "preface",
        "remerciements",
        "acknowledgements",
        "acknowledgments",
        "enregistrements et agenda",
        "agenda",
        "programme",
        "conclusion",
        "conclusions",
        "annexe",
        "annexes",
        "references",
        "bibliographie",
        "communique",
        "local",
    }
)


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"\s+", " ", text).strip(" :.-–")


# ---------------------------------------------------------------------------------------------
# sidecar
# ---------------------------------------------------------------------------------------------


def is_sidecar(path: Path | str) -> bool:
    """True for a ``*.meta.yaml`` sidecar (not a document to ingest)."""
    return Path(path).name.lower().endswith(SIDECAR_SUFFIXES)


def sidecar_path(path: Path | str) -> Path | None:
    """The sidecar that describes ``path``, if one exists."""
    path = Path(path)
    candidates = [path.with_name(path.name + suffix) for suffix in SIDECAR_SUFFIXES]
    if path.suffix:
        candidates += [path.with_name(path.stem + suffix) for suffix in SIDECAR_SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def read_sidecar(path: Path | str) -> dict[str, Any] | None:
    """Validated sidecar values for the document ``path`` (DocMeta field names), or None without one.

    Raises IngestError naming the sidecar file and the field for unknown fields or bad values.
    """
    sidecar = sidecar_path(path)
    if sidecar is None:
        return None
    return parse_sidecar(sidecar)


def parse_sidecar(sidecar: Path) -> dict[str, Any]:
    import yaml

    try:
        raw_bytes = sidecar.read_bytes()
    except OSError as exc:
        raise IngestError(sidecar, f"cannot read sidecar ({exc.strerror or exc})") from None
    if len(raw_bytes) > SIDECAR_MAX_BYTES:
        raise IngestError(sidecar, f"sidecar too large (limit {SIDECAR_MAX_BYTES} bytes)")
    try:
        raw = yaml.safe_load(raw_bytes.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise IngestError(sidecar, "sidecar is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise IngestError(sidecar, f"invalid YAML in sidecar{line}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise IngestError(sidecar, "sidecar must be a mapping of field: value")

    def bad(field: str, why: str) -> IngestError:
        return IngestError(sidecar, f"sidecar field '{field}': {why}")

    return check_fields(raw, bad)


def check_fields(raw: dict[str, Any], bad: Callable[[str, str], Exception]) -> dict[str, Any]:
    """Validated metadata (DocMeta field names) from sidecar-style fields (title, type, date, country, programme,
    source, language); ``bad(field, why)`` makes the exception raised for a wrong field or value."""
    out: dict[str, Any] = {}
    countries: list[str] = []
    for field, value in raw.items():
        if not isinstance(field, str) or field not in ALLOWED_FIELDS:
            raise bad(str(field), f"unknown field (allowed: {', '.join(ALLOWED_FIELDS)})")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if field == "title":
            out["title"] = _text_value(value, field, bad)
        elif field == "type":
            if not isinstance(value, str) or value.strip() not in DOC_TYPES:
                raise bad(field, f"{value!r} is not one of {', '.join(DOC_TYPES)}")
            out["doc_type"] = value.strip()
        elif field == "date":
            out["published"], out["published_precision"] = _date_value(value, field, bad)
        elif field in ("country", "countries"):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if not isinstance(item, str) or not item.strip():
                    raise bad(field, "must be a country name or a list of country names")
                name = re.sub(r"\s+", " ", item).strip()
                if name not in countries:
                    countries.append(name)
        elif field == "programme":
            out["programme"] = _text_value(value, field, bad)
        elif field == "source":
            source = _text_value(value, field, bad)
            if _looks_like_url(source):
                parsed = urlparse(source)
                if parsed.scheme not in ("http", "https") or not parsed.netloc or re.search(r"\s", source):
                    raise bad(field, f"{value!r} is not a valid http(s) URL")
                out["source_url"] = source
            else:
                # A citation such as "OIM Sénégal, communiqué": kept, but it is not a URL.
                out["source"] = source
        elif field == "language":
            code = value.strip().lower() if isinstance(value, str) else ""
            if not re.fullmatch(r"[a-z]{2}", code):
                raise bad(field, f"{value!r} is not a two-letter ISO 639-1 code")
            out["language"] = code
        elif field == "edition_of":
            name = _text_value(value, field, bad)
            if "/" in name or "\\" in name or name in (".", ".."):
                raise bad(field, f"{value!r} is not a file name: give the name of the other edition's file, "
                                 "without its folder")
            out["edition_of"] = name
    if countries:
        out["countries"] = countries
    return out


def _looks_like_url(text: str) -> bool:
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*://|www\.)", text, re.IGNORECASE))


def _text_value(value: Any, field: str, bad) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad(field, "must be text")
    text = re.sub(r"\s+", " ", str(value)).strip()
    if not text:
        raise bad(field, "must not be empty")
    return text


def _date_value(value: Any, field: str, bad) -> tuple[date, str]:
    """The first day of the date and its precision ("year", "month" or "day"): kmh.dates."""
    from kmh.dates import parse_partial_date

    if isinstance(value, datetime):
        return value.date(), "day"
    if isinstance(value, date):
        return value, "day"
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    try:
        return parse_partial_date(text)
    except ValueError as exc:
        raise bad(field, f"{value!r} is {exc}") from None


# ---------------------------------------------------------------------------------------------
# inference
# ---------------------------------------------------------------------------------------------


def infer_meta(blocks: list[Block], sidecar: dict[str, Any] | None = None) -> DocMeta:
    """Metadata for a parsed document: sidecar values win, the rest is inferred from ``blocks``."""
    sidecar = dict(sidecar or {})
    meta = DocMeta()
    for field in ("title", "doc_type", "language", "published", "published_precision", "countries", "programme",
                  "source_url", "source"):
        if field in sidecar and sidecar[field] not in (None, "", []):
            setattr(meta, field, list(sidecar[field]) if field == "countries" else sidecar[field])
            if field != "published_precision":  # part of "published"
                meta.from_sidecar.add(field)
    if meta.title is None:
        meta.title = infer_title(blocks)
    if meta.language is None:
        meta.language = detect_language(blocks)
    if meta.published is None:
        meta.published = find_date(_leading_text(blocks, DATE_SCAN_CHARS))  # a full date: day precision
    return meta


def _trim(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–") + "…"


def _is_generic(text: str) -> bool:
    return _key(text) in GENERIC_HEADINGS


def infer_title(blocks: list[Block]) -> str | None:
    """The first meaningful title before the body text, else the first sentence of the first paragraph."""
    if not blocks:
        return None
    for block in blocks:
        if block.kind == "text" and len(block.text.split()) >= 20:
            break  # titles after the body text has started are section titles
        if block.kind == "title" and not _is_generic(block.text) and find_date(block.text) is None:
            return _trim(block.text)
    for block in blocks:
        if block.kind == "table" or _is_generic(block.text) or len(block.text.split()) < 4:
            continue
        if find_date(block.text) is not None and len(block.text.split()) <= 8:
            continue  # "Du 1er au 2 décembre 2021"
        first = block.text.split("\n", 1)[0]
        sentence = re.split(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«\"“])", first, maxsplit=1)[0]
        return _trim(sentence)
    return _trim(blocks[0].text.split("\n", 1)[0])


def detect_language(blocks: Iterable[Block] | str) -> str | None:
    """ISO 639-1 code of the text (among fr, en, es, pt, ar, de, it), None when too little text."""
    if isinstance(blocks, str):
        text = blocks[:LANGUAGE_SCAN_CHARS]
    else:
        blocks = list(blocks)
        body = [b.text for b in blocks if b.kind in ("text", "list_item")]
        text = "\n".join(body)[:LANGUAGE_SCAN_CHARS]
        if len(text) < 40:
            text = "\n".join(b.text for b in blocks)[:LANGUAGE_SCAN_CHARS]
    return guess_language(text, LANGUAGES)


def _leading_text(blocks: list[Block], limit: int) -> str:
    parts, size = [], 0
    for block in blocks:
        parts.append(block.text)
        size += len(block.text) + 1
        if size >= limit:
            break
    return "\n".join(parts)[:limit]


# --- dates --------------------------------------------------------------------------------------

_MONTHS = {
    # French
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9,
    "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_M = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_D = r"(\d{1,2})(?:er|e|st|nd|rd|th)?"
_Y = r"((?:19|20)\d\d)"
_SEP = r"\s*(?:au|a|-|–|—|et|&|to|and|through)\s*"
_DATE_PATTERNS = [
    # "du 30 novembre au 2 décembre 2021" (cross-month range): first day, first month
    ("dm-dmy", re.compile(rf"\b{_D}\s+{_M}{_SEP}{_D}\s+{_M},?\s+{_Y}\b")),
    # "26 au 28 mars 2024", "1er au 2 décembre 2021", "26-28 March 2024"
    ("d-dmy", re.compile(rf"\b{_D}{_SEP}{_D}\s+{_M},?\s+{_Y}\b")),
    # "26 mars 2024", "1er décembre 2021", "26 March 2024", "24 nov. 2023"
    ("dmy", re.compile(rf"\b{_D}\s+{_M},?\s+{_Y}\b")),
    # "March 26, 2024", "March 26-28, 2024"
    ("mdy", re.compile(rf"\b{_M}\s+{_D}(?:{_SEP}\d{{1,2}}(?:st|nd|rd|th)?)?,?\s+{_Y}\b")),
    # "2024-03-26"
    ("iso", re.compile(r"\b((?:19|20)\d\d)-(\d{2})-(\d{2})\b")),
    # "26/03/2024", "26.03.2024" (day first, as in French)
    ("num", re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.]((?:19|20)\d\d)\b")),
]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def _make_date(kind: str, groups: tuple[str, ...]) -> date | None:
    try:
        if kind == "dm-dmy":
            day, month, year = int(groups[0]), _MONTHS[groups[1]], int(groups[4])
            if month > _MONTHS[groups[3]]:
                year -= 1  # "du 28 décembre au 3 janvier 2022"
        elif kind == "d-dmy":
            day, month, year = int(groups[0]), _MONTHS[groups[2]], int(groups[3])
        elif kind == "dmy":
            day, month, year = int(groups[0]), _MONTHS[groups[1]], int(groups[2])
        elif kind == "mdy":
            month, day, year = _MONTHS[groups[0]], int(groups[1]), int(groups[2])
        elif kind == "iso":
            year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
        else:
            day, month, year = int(groups[0]), int(groups[1]), int(groups[2])
            if month > 12 and day <= 12:
                day, month = month, day
        return date(year, month, day)
    except (ValueError, KeyError):
        return None


def find_date(text: str) -> date | None:
    """The first full date (day, month, year) written in ``text``, French or English; None if none.

    A range gives its first day ("du 26 au 28 mars 2024" → 2024-03-26); dates without a year
    ("24 nov.") are ignored.
    """
    folded = _fold(text)
    best: tuple[int, date] | None = None
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            if best is not None and match.start() >= best[0]:
                break
            found = _make_date(kind, match.groups())
            if found is not None:
                if best is None or match.start() < best[0]:
                    best = (match.start(), found)
                break
    return best[1] if best else None
