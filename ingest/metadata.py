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
from functools import lru_cache
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


# The fields inferred when neither the sidecar nor the upload gives them (DocMeta names, as in the catalog).
INFERABLE = ("title", "doc_type", "language", "published", "countries")
COUNTRY_SCAN_CHARS = 100_000
TYPE_SCAN_CHARS = 1500
MAX_COUNTRIES = 3


def infer_meta(blocks: list[Block], sidecar: dict[str, Any] | None = None,
               properties: dict[str, str] | None = None) -> DocMeta:
    """Metadata for a parsed document: sidecar (or upload) values win; the rest is inferred from the file's own
    ``properties`` (ingest.parsers.properties) and from ``blocks``, and named in ``meta.inferred``."""
    sidecar = dict(sidecar or {})
    properties = dict(properties or {})
    meta = DocMeta()
    for field in ("title", "doc_type", "language", "published", "published_precision", "countries", "programme",
                  "source_url", "source"):
        if field in sidecar and sidecar[field] not in (None, "", []):
            setattr(meta, field, list(sidecar[field]) if field == "countries" else sidecar[field])
            if field != "published_precision":  # part of "published"
                meta.from_sidecar.add(field)
    if meta.title is None:
        meta.title = infer_title(blocks, properties)
    if meta.language is None:
        meta.language = detect_language(blocks)
    if meta.published is None:
        found = infer_date(blocks, properties)
        if found is not None:
            meta.published, meta.published_precision = found
    if "doc_type" not in meta.from_sidecar:
        meta.doc_type = infer_type(blocks, meta.title, properties) or "other"
    if "countries" not in meta.from_sidecar:
        meta.countries = infer_countries(blocks, meta.title)
    meta.inferred = {f for f in INFERABLE if f not in meta.from_sidecar and getattr(meta, f) not in (None, "", [])}
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


# --- title --------------------------------------------------------------------------------------

# "1. Introduction", "2.3 Context", "IV. Résultats", "A) Méthode", "Chapitre 1", "Part II": a section, not the document
_NUMBERED_RE = re.compile(
    r"^\s*(?:"
    r"(?:chapitre|chapter|section|partie|part|annexe|annex|appendix|appendice)\s+(?:\d{1,3}|[ivxlc]{1,6}|[a-z])\b"
    r"|(?:\d{1,2}|[ivxlc]{1,6}|[a-h])(?:\.\d{1,2})*\s*[.)]\s*\S"
    r"|\d{1,2}(?:\.\d{1,2})+\s+\S"
    r"|(?-i:\d{1,2}\s+[A-ZÀ-Ý])"
    r")",
    re.IGNORECASE,
)
# Titles that authoring tools write for the author: "Microsoft Word - rapport.docx", "Untitled", "Présentation1"
_TOOL_TITLE_RE = re.compile(
    r"^(?:microsoft\s+(?:word|powerpoint|excel)\b|untitled\b|sans\s+titre\b|document\s*\d*$|presentation\s*\d*$"
    r"|presentation\s+powerpoint$|powerpoint\s+presentation$|diapositive\s*\d*$|slide\s*\d*$|titre$|title$"
    r"|titre\s+du\s+document$|document\s+title$|new\s+document$|nouveau\s+document$)",
    re.IGNORECASE,
)
_FILE_NAME_RE = re.compile(
    r"(?:^[\w~$-]+\.(?:docx?|pdf|pptx?|odt|odp|rtf|txt|html?|indd|xlsx?|qxp|ai)$)"
    r"|\.(?:docx?|pdf|pptx?|odt|indd)\b|^[\w-]*[_][\w-]*$|^[\w-]*\d[\w-]*_[\w-]*$|^[a-z0-9]+(?:-[a-z0-9]+){2,}$",
    re.IGNORECASE,
)


def is_numbered_heading(text: str) -> bool:
    """A section heading with its number ("1. Introduction", "2.3 Context", "Chapitre 1"), not a title."""
    return bool(_NUMBERED_RE.match(text))


def meaningful_title(text: str | None) -> bool:
    """Whether a title a file gives itself says something: not empty, not a tool's placeholder ("Microsoft Word -
    x.docx", "Untitled"), not a file name, not a single word, not a generic or numbered heading."""
    if not text:
        return False
    text = re.sub(r"\s+", " ", text).strip()
    letters = sum(ch.isalpha() for ch in text)
    if letters < 4 or len(text.split()) < 2 or _TOOL_TITLE_RE.match(_key(text)) or _FILE_NAME_RE.search(text):
        return False  # one word ("Guide", "Rapport") is a template's leftover more often than a title
    return not _is_generic(text) and not is_numbered_heading(text)


def _title_candidate(block: Block) -> bool:
    return (block.kind == "title" and not _is_generic(block.text) and not is_numbered_heading(block.text)
            and find_date(block.text) is None and sum(ch.isalpha() for ch in block.text) >= 3)


def infer_title(blocks: list[Block], properties: dict[str, str] | None = None) -> str | None:
    """The title the file gives itself when meaningful; else, in a paged file, the largest heading of the first
    page; else the first meaningful heading before the body text; else the first sentence of the first paragraph.
    Never a numbered section heading ("1. Introduction") nor a generic one ("Contexte")."""
    properties = properties or {}
    if meaningful_title(properties.get("title")):
        return _trim(properties["title"])
    if not blocks:
        return _trim(properties["page_title"]) if meaningful_title(properties.get("page_title")) else None
    first_page = next((b.page for b in blocks if b.page is not None), None)
    if first_page is not None:
        on_first = [b for b in blocks if b.page == first_page and _title_candidate(b)]
        if on_first:
            return _trim(min(on_first, key=lambda b: b.level).text)  # min: the first of the largest
    for block in blocks:
        if block.kind == "text" and len(block.text.split()) >= 20:
            break  # titles after the body text has started are section titles
        if _title_candidate(block):
            return _trim(block.text)
    if meaningful_title(properties.get("page_title")):
        return _trim(properties["page_title"])
    for block in blocks:
        if block.kind == "table" or _is_generic(block.text) or len(block.text.split()) < 4:
            continue
        if find_date(block.text) is not None and len(block.text.split()) <= 8:
            continue  # "Du 1er au 2 décembre 2021"
        if block.kind == "title" and is_numbered_heading(block.text):
            continue
        first = block.text.split("\n", 1)[0]
        sentence = re.split(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý«\"“])", first, maxsplit=1)[0]
        return _trim(sentence)
    return _trim(blocks[0].text.split("\n", 1)[0])


# --- date, type, countries ----------------------------------------------------------------------


def infer_date(blocks: list[Block], properties: dict[str, str] | None = None) -> tuple[date, str] | None:
    """The publication date and its precision ("day", "month", "year"): the page's published date (HTML meta);
    else a full date near the start of the text ("Dakar, le 5 juillet 2023"); else a month and year on a short
    line ("Mars 2022"); else a lone year on a short line of the first page ("Rapport annuel 2022", "© OIM 2019");
    else the file's creation date."""
    from kmh.dates import parse_partial_date

    properties = properties or {}
    for key in ("published", "created"):
        match = _ISO_RE.match(properties.get(key, "").strip())
        properties[key] = match.group(0) if match else ""  # "2024-02-20T09:00:00Z": the date
    if properties["published"]:
        try:
            return parse_partial_date(properties["published"])
        except ValueError:
            pass
    leading = _leading_text(blocks, DATE_SCAN_CHARS)
    found = find_date(leading)
    if found is not None:
        return found, "day"
    lines = [line.strip() for line in leading.split("\n") if line.strip()]
    for line in lines:
        month = find_month(line) if len(line.split()) <= 12 else None
        if month is not None:
            return month, "month"
    first_page = next((b.page for b in blocks if b.page is not None), None)
    cover = [b.text for b in _leading_blocks(blocks, DATE_SCAN_CHARS) if first_page is None or b.page == first_page]
    for line in cover[:12]:
        if len(line.split()) <= 12:
            years = set(_YEAR_RE.findall(_fold(line)))
            if len(years) == 1 and not _YEAR_RANGE_RE.search(line):
                return date(int(years.pop()), 1, 1), "year"
    if properties["created"]:
        try:
            return parse_partial_date(properties["created"])
        except ValueError:
            pass
    return None


_ISO_RE = re.compile(r"(?:19|20)\d\d(?:-\d\d(?:-\d\d)?)?")
_YEAR_RE = re.compile(r"(?<![\d.,/-])((?:19[5-9]|20[0-4])\d)(?![\d.,/-]\d)")
_YEAR_RANGE_RE = re.compile(r"(?:19|20)\d\d\s*[-–/]\s*(?:(?:19|20)?\d\d)\b")


def find_month(text: str) -> date | None:
    """The first day of a month written with its year and no day ("septembre 2019", "March 2022"); None if none."""
    match = _MONTH_YEAR_RE.search(_fold(text))
    return date(int(match.group(2)), _MONTHS[match.group(1)], 1) if match else None


# Cues of each document type, as regexes on the accent-folded, lowercased text.
TYPE_CUES: dict[str, tuple[str, ...]] = {
    "news": (r"communiques?(?: de presse)?", r"press releases?", r"news releases?", r"actualites?",
             r"breaking news", r"\((?:atop|aps|map|afp|apa|ani|anp|amp|reuters)\)"),
    "report": (r"rapports?", r"reports?", r"etudes?", r"study", r"studies", r"evaluations?", r"assessments?",
               r"enquetes?", r"surveys?", r"bilan", r"analyses? (?:de situation|situationnelle)"),
    "handbook": (r"manuels?", r"handbooks?", r"guides?(?: pratiques?)?", r"guidelines", r"lignes directrices",
                 r"boites? a outils", r"toolkits?", r"mode operatoire", r"procedures operationnelles",
                 r"standard operating procedures", r"module \d+", r"training manual", r"curriculum"),
    "knowledge_paper": (r"notes? (?:d'orientation|de synthese|de politique|conceptuelle|d'information|technique)",
                        r"policy (?:brief|paper)s?", r"briefing (?:note|paper)s?", r"knowledge papers?",
                        r"documents? de connaissances?", r"working papers?", r"documents? de travail",
                        r"notes?", r"issue briefs?", r"research briefs?"),
    "seminar_page": (r"seminaires?", r"seminars?", r"webinaires?", r"webinars?", r"conferences?",
                     r"tables? rondes?", r"roundtables?"),
}
# Headings of an event page ("Dates", "Agenda", "Intervenants").
_EVENT_HEADINGS = frozenset({"dates", "agenda", "enregistrements et agenda", "intervenants", "speakers",
                             "panelists", "panelistes", "recordings", "enregistrements", "inscription",
                             "registration"})
# A dateline: "Kpalimé, 24 nov. (ATOP) –", "Dakar – La gestion", "GENEVA, 5 March 2024 –"
_DATELINE_RE = re.compile(r"^[A-ZÀ-Ý][\w'’À-ÿ-]+(?: [A-ZÀ-Ý][\w'’À-ÿ-]+)?(?:,[^–—\n]{1,40})? [–—] \S")
_TYPE_ORDER = ("news", "handbook", "knowledge_paper", "report", "seminar_page")


@lru_cache(maxsize=1)
def _type_patterns() -> dict[str, re.Pattern[str]]:
    return {kind: re.compile(r"(?<![\w-])(?:" + "|".join(cues) + r")(?![\w-])") for kind, cues in TYPE_CUES.items()}


def infer_type(blocks: list[Block], title: str | None = None, properties: dict[str, str] | None = None) -> str | None:
    """The document type (kmh.catalog.models.DOC_TYPES) its cues say, or None without clear cues: a cue in the
    title (or the file's own title or subject) counts 3, in the first lines 1 each (up to 3 a type), a label line
    ("Communiqué de presse") 2 more; a dateline and event headings count too. The
    best type needs 2 points; a tie goes to the more specific type (news, handbook, note, report, seminar)."""
    properties = properties or {}
    scores: dict[str, int] = {kind: 0 for kind in TYPE_CUES}
    patterns = _type_patterns()
    # the title, and the titles and subject the file gives itself ("Press release | IOM")
    title_key = _fold(" \n ".join([title or ""] + [properties[k] for k in ("title", "page_title", "subject")
                                                    if properties.get(k)]))
    leading = _fold(_leading_text(blocks, TYPE_SCAN_CHARS))
    for kind, pattern in patterns.items():
        if title_key and pattern.search(title_key):
            scores[kind] += 3
        scores[kind] += min(3, len(pattern.findall(leading)))
    if properties.get("og:type", "").lower() == "article":
        scores["news"] += 1
    for block in blocks[:8]:
        if block.kind == "text" and _DATELINE_RE.match(block.text):
            scores["news"] += 2
            break
    for block in blocks[:6]:  # a label line: "Communiqué de presse", "Rapport", "Policy brief"
        if len(block.text.split()) <= 4:
            for kind, pattern in patterns.items():
                if pattern.fullmatch(_fold(block.text).strip(" .:-–")):
                    scores[kind] += 2
    scores["seminar_page"] += min(3, sum(1 for b in blocks if b.kind == "title" and _key(b.text) in _EVENT_HEADINGS))
    best = max(_TYPE_ORDER, key=lambda kind: (scores[kind], -_TYPE_ORDER.index(kind)))
    if scores[best] < 2 or best not in DOC_TYPES:
        return None
    return best


def infer_countries(blocks: list[Block], title: str | None = None, limit: int = MAX_COUNTRIES) -> list[str]:
    """The few countries the document is about (kmh.gazetteer.main_countries): named in its title, or named
    repeatedly in its text; canonical English names, as the sidecars write them."""
    from kmh.gazetteer import main_countries

    text = _leading_text(blocks, COUNTRY_SCAN_CHARS)
    return main_countries(text, title, limit=limit)


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


def _leading_blocks(blocks: list[Block], limit: int) -> list[Block]:
    """The blocks that start within the first ``limit`` characters."""
    out, size = [], 0
    for block in blocks:
        if size >= limit:
            break
        out.append(block)
        size += len(block.text) + 1
    return out


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
# A month in full (or "sept.") and a year, not after a day: "septembre 2019", "March, 2022"
_MONTH_YEAR_RE = re.compile(
    r"(?<!\d)(?<!\d )(?<!\der )(?<!\dst |\dnd |\drd |\dth )\b(" + "|".join(
        name for name in sorted(_MONTHS, key=len, reverse=True) if len(name) > 4 or name in ("mars", "mai", "juin", "may", "june", "july", "sept", "aout")
    ) + r")\.?,?\s+((?:19|20)\d\d)\b"
)
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
