"""Long-document set for the ingestion benchmark: PDF reports of 30 to 100 pages, made here with fpdf2.

Each report looks like an IOM/KMH report: a title page (title in large type, organisation, year),
numbered chapters and sections (1., 1.1), body paragraphs, bullet lists, tables of figures by country
(a header row and rows of country names and figures), a running header and page numbers in the footer.
The prose is real: French chapters are fiches of the service-public.fr archive
(../shared/data/service-public-fr-fiches.zip, one section per page of the fiche, its heading from the
page's title lines), English chapters are the pages of tests/eval/library/en/ (one section per "##").
About half the reports are French, half English, and every sixth one (the first included) is bilingual:
each French chapter followed by the English version of the same fiche. The same seed gives the same files.

    .venv/bin/python bench/longdocs.py OUT [--count 20] [--seed 0] [--pages 30 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = ROOT.parent / "shared" / "data" / "service-public-fr-fiches.zip"
ENGLISH_PAGES = ROOT / "tests" / "eval" / "library" / "en"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF"))

BODY, TABLE, CAPTION, H2, H1, SUBTITLE, TITLE = 10.5, 8.5, 9.0, 12.5, 15.0, 15.0, 26.0
LINE = 5.2  # mm per body line
MARGIN_PAGES = 4  # a report aims at a page count at least this far below the last one asked for: it ends its section

# A block of a section: ("p", text), ("ul", [items]) or ("ol", [items]).
Block = tuple[str, "str | list[str]"]


@dataclass
class Section:
    heading: str | None  # None: paragraphs right under the chapter heading
    blocks: list[Block]


@dataclass
class Chapter:
    key: str  # the fiche, e.g. "F10009"
    lang: str
    title: str
    sections: list[Section] = field(default_factory=list)

    def words(self) -> int:
        return sum(len((t if isinstance(t, str) else " ".join(t)).split()) for s in self.sections for _, t in s.blocks)


# ------------------------------------------------------------------------------------------------
# the prose: service-public.fr fiches (French) and the English library pages
# ------------------------------------------------------------------------------------------------

_SPACE_BEFORE = re.compile(r"\s+([,.)])")
_SPACE_AFTER = re.compile(r"([(])\s+")
_ORDINAL = re.compile(r"\b(\d+) (er|re|e|ème)\b")  # "1 er janvier" → "1er janvier"


def _tidy(line: str) -> str:
    """One line of source text with its spaces collapsed ("cerfa  n°13750*05 " → "cerfa n°13750*05")."""
    line = _ORDINAL.sub(r"\1\2", " ".join(line.split()))
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", line))


def _is_header_line(line: str) -> bool:
    return len(line.split()) <= 14 and not line.endswith((".", ":", ";", ","))


def french_page(text: str) -> tuple[list[str], list[Block]]:
    """A service-public.fr page as its title lines (up to three: case, topic, sub-case) and its blocks.

    A line ending with ":" followed by lines without a final full stop gives a bullet list; a line opening
    with "(" or a lower-case letter goes on the previous paragraph."""
    lines = [_tidy(x) for x in text.splitlines()]
    lines = [x for x in lines if x]
    titles: list[str] = []
    while lines and len(titles) < 3 and _is_header_line(lines[0]) and len(lines) > 1:
        titles.append(lines.pop(0))
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if blocks and (line.startswith("(") or line[:1].islower()):  # the end of the previous paragraph or item
            kind, value = blocks[-1]
            blocks[-1] = (kind, f"{value} {line}") if kind == "p" else (kind, [*value[:-1], f"{value[-1]} {line}"])
            continue
        blocks.append(("p", line))
        if line.endswith(":"):
            items = []
            while i < len(lines) and len(items) < 10 and not lines[i].endswith((".", ":")) and len(lines[i].split()) <= 40:
                items.append(lines[i].rstrip(" ;,"))
                i += 1
            if items:
                blocks.append(("ul", items))
    return titles, _short_lines_as_lists(blocks)


def _short_lines_as_lists(blocks: list[Block]) -> list[Block]:
    """Runs of three or more short paragraphs without a final full stop (a flattened table's cells, a list
    without its introduction) as one bullet list."""
    out: list[Block] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 3:
            out.append(("ul", list(run)))
        else:
            out.extend(("p", x) for x in run)
        run.clear()

    for kind, value in blocks:
        if kind == "p" and len(value.split()) <= 10 and not value.endswith((".", "!", "?", ":")):
            run.append(value)
            continue
        flush()
        out.append((kind, value))
    flush()
    return out


def french_chapters(zip_path: Path = DEFAULT_ZIP, min_words: int = 40) -> dict[str, Chapter]:
    """One chapter per fiche of the archive, one section per page (pages of fewer than ``min_words`` words and
    pages already seen word for word are left out); the chapter's title is the first page's first two title
    lines, a section's heading the page's title lines that differ from those."""
    if not zip_path.is_file():
        raise FileNotFoundError(f"{zip_path} not found (the service-public.fr archive lives in ../shared/data/)")
    pages: dict[str, list[tuple[list[str], list[Block]]]] = {}
    seen: set[str] = set()
    with zipfile.ZipFile(zip_path) as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".txt")):
            titles, blocks = french_page(z.read(name).decode("utf-8", "replace"))
            key = repr(blocks)
            if key in seen:  # the same text under other titles (another case, or a twin fiche)
                continue
            seen.add(key)
            words = sum(len((t if isinstance(t, str) else " ".join(t)).split()) for _, t in blocks)
            if titles and words >= min_words:
                pages.setdefault(Path(name).name.split("_")[0], []).append((titles, blocks))
    chapters = {}
    for fiche, items in pages.items():
        first = items[0][0]
        chapter = Chapter(fiche, "fr", " – ".join(first[:2]))
        for titles, blocks in items:
            differing = [t for n, t in enumerate(titles) if n >= len(first[:2]) or t != first[n]]
            chapter.sections.append(Section(" – ".join(differing or titles[-1:]), blocks))
        chapters[fiche] = chapter
    return chapters


def english_page(text: str) -> tuple[str, list[Section]]:
    """A page of tests/eval/library/en as its title ("# ") and its sections ("##", "###"); "- " and "1. "
    lines are list items."""
    title, sections = "", [Section(None, [])]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("# "):
            title = line[2:].strip()
        elif line.startswith("#"):
            sections.append(Section(line.lstrip("#").strip(), []))
        else:
            blocks = sections[-1].blocks
            kind = "ul" if line.startswith("- ") else "ol" if re.match(r"\d+\.\s", line) else "p"
            text_ = _tidy(re.sub(r"^(- |\d+\.\s+)", "", line) if kind != "p" else line)
            if kind != "p" and blocks and blocks[-1][0] == kind:
                blocks[-1][1].append(text_)
            else:
                blocks.append((kind, [text_] if kind != "p" else text_))
    return title, [s for s in sections if s.blocks]


def english_chapters(folder: Path = ENGLISH_PAGES) -> dict[str, Chapter]:
    """One chapter per English page, keyed by its fiche (F10009.en.md → "F10009")."""
    chapters = {}
    for path in sorted(folder.glob("*.en.md")):
        title, sections = english_page(path.read_text(encoding="utf-8"))
        if not title:
            raise ValueError(f"{path}: no '# ' title line")
        chapters[path.name.split(".")[0]] = Chapter(path.name.split(".")[0], "en", title, sections)
    return chapters


# ------------------------------------------------------------------------------------------------
# what a report is about, its tables
# ------------------------------------------------------------------------------------------------

TITLES = {
    "fr": [
        "Rapport annuel sur la réintégration durable des migrants de retour",
        "Accès aux services publics des personnes de retour : étude de terrain",
        "Guide pratique des démarches administratives pour les migrants de retour",
        "Évaluation à mi-parcours du programme de protection et de réintégration",
        "Gouvernance de la migration et coordination des acteurs locaux",
        "Manuel de réintégration : accompagnement individuel et communautaire",
    ],
    "en": [
        "Annual Report on Sustainable Reintegration of Returning Migrants",
        "Access to Public Services for Returnees: A Field Study",
        "Practical Guide to Administrative Procedures for Returning Migrants",
        "Mid-term Evaluation of the Protection and Reintegration Programme",
        "Migration Governance and the Coordination of Local Actors",
        "Reintegration Handbook: Individual and Community Support",
    ],
}
REGIONS = {
    "fr": ["Afrique de l'Ouest et du Centre", "Afrique du Nord", "Corne de l'Afrique", "Sahel et lac Tchad"],
    "en": ["West and Central Africa", "North Africa", "Horn of Africa", "Sahel and Lake Chad"],
}
ORGANISATION = {
    "fr": ("Organisation internationale pour les migrations (OIM)",
           "Knowledge Management Hub – Initiative conjointe UE-OIM"),
    "en": ("International Organization for Migration (IOM)",
           "Knowledge Management Hub – EU-IOM Joint Initiative"),
}
COUNTRIES = [  # (French, English)
    ("Sénégal", "Senegal"), ("Mali", "Mali"), ("Guinée", "Guinea"), ("Côte d'Ivoire", "Côte d'Ivoire"),
    ("Burkina Faso", "Burkina Faso"), ("Niger", "Niger"), ("Nigéria", "Nigeria"), ("Gambie", "Gambia"),
    ("Ghana", "Ghana"), ("Cameroun", "Cameroon"), ("Maroc", "Morocco"), ("Tunisie", "Tunisia"),
    ("Mauritanie", "Mauritania"), ("Tchad", "Chad"), ("Éthiopie", "Ethiopia"), ("Soudan", "Sudan"),
    ("Somalie", "Somalia"), ("Libye", "Libya"), ("Guinée-Bissau", "Guinea-Bissau"),
    ("Sierra Leone", "Sierra Leone"), ("Libéria", "Liberia"), ("Togo", "Togo"), ("Bénin", "Benin"),
]
TABLES = {  # caption, columns after the country; each column a kind of figure
    "fr": [
        ("Migrants de retour assistés par pays et par année", ["{y0}", "{y1}", "{y2}", "Total"], "years"),
        ("Bénéficiaires de l'aide à la réintégration et part des femmes", ["Bénéficiaires", "dont femmes", "Part des femmes (%)"], "women"),
        ("Projets communautaires et budget engagé", ["Projets", "Participants", "Budget (USD)", "Réalisation (%)"], "projects"),
        ("Orientation vers les services après le retour", ["Santé", "Psychosocial", "Formation", "Logement"], "referrals"),
    ],
    "en": [
        ("Returning migrants assisted, by country and year", ["{y0}", "{y1}", "{y2}", "Total"], "years"),
        ("Recipients of reintegration assistance and share of women", ["Recipients", "of whom women", "Women (%)"], "women"),
        ("Community projects and committed budget", ["Projects", "Participants", "Budget (USD)", "Completion (%)"], "projects"),
        ("Referrals to services after return", ["Health", "Psychosocial", "Training", "Housing"], "referrals"),
    ],
}
WORDS = {
    "fr": {"table": "Tableau", "country": "Pays", "total": "Total", "page": "Page {n} sur {nb}", "source":
           "Source : OIM, système de gestion des cas de réintégration ({year}).", "version": "version anglaise"},
    "en": {"table": "Table", "country": "Country", "total": "Total", "page": "Page {n} of {nb}", "source":
           "Source: IOM, reintegration case management system ({year}).", "version": "English version"},
}


def _number(value: float, lang: str, decimals: int = 0) -> str:
    """12345 → "12 345" (fr) or "12,345" (en); 34.5 → "34,5" (fr) or "34.5" (en)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",") if lang == "fr" else text


def make_table(rng: random.Random, lang: str, year: int) -> tuple[str, list[list[str]]]:
    """A table caption and its rows (header first, a total row last) of figures for 4 to 9 countries."""
    caption, columns, kind = rng.choice(TABLES[lang])
    header = [WORDS[lang]["country"]] + [c.format(y0=year - 3, y1=year - 2, y2=year - 1) for c in columns]
    names = [c[0] if lang == "fr" else c[1] for c in rng.sample(COUNTRIES, rng.randint(4, 9))]
    rows, totals = [], [0.0] * len(columns)
    for name in names:
        if kind == "years":
            values = [rng.randint(40, 4000) for _ in range(3)]
            values.append(sum(values))
            cells = [_number(v, lang) for v in values]
        elif kind == "women":
            total = rng.randint(80, 6000)
            women = rng.randint(total // 10, total // 2)
            values = [total, women, 0]
            cells = [_number(total, lang), _number(women, lang), _number(100 * women / total, lang, 1)]
        elif kind == "projects":
            projects = rng.randint(2, 60)
            values = [projects, projects * rng.randint(8, 40), projects * rng.randint(5, 60) * 1000, 0]
            cells = [_number(v, lang) for v in values[:3]] + [_number(rng.uniform(35, 100), lang, 1)]
        else:
            values = [rng.randint(5, 900) for _ in columns]
            cells = [_number(v, lang) for v in values]
        totals = [t + v for t, v in zip(totals, values)]
        rows.append([name, *cells])
    total_row = [WORDS[lang]["total"]]
    for n, value in enumerate(totals):
        if kind == "women" and n == 2:
            total_row.append(_number(100 * totals[1] / totals[0], lang, 1))
        elif kind == "projects" and n == 3:
            total_row.append("–")
        else:
            total_row.append(_number(value, lang))
    return caption, [header, *rows, total_row]


# ------------------------------------------------------------------------------------------------
# the PDF
# ------------------------------------------------------------------------------------------------


def unicode_font_dir() -> Path | None:
    """The folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf, or None (then the core Helvetica is used)."""
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


def _report_class():
    from fpdf import FPDF

    class Report(FPDF):
        """A4 report with a running header (its short title) and "Page n of N" in the footer, title page aside."""

        running_title = ""
        page_label = "Page {n} of {nb}"
        family = "Helvetica"

        def header(self) -> None:
            if self.page_no() > 1:
                self.set_font(self.family, "", 8)
                self.set_text_color(110)
                self.cell(0, 6, self.running_title, align="R", new_x="LMARGIN", new_y="NEXT")
                self.set_text_color(0)
                self.ln(4)

        def footer(self) -> None:
            if self.page_no() > 1:
                self.set_y(-14)
                self.set_font(self.family, "", 8)
                self.set_text_color(110)
                self.cell(0, 6, self.page_label.format(n=self.page_no(), nb="{nb}"), align="C")
                self.set_text_color(0)

    return Report


class Writer:
    """Lays chapters out into one report PDF."""

    def __init__(self, lang: str, title: str, running: str, unicode_font: bool):
        pdf = _report_class()()
        pdf.set_margins(22, 18, 22)
        pdf.set_auto_page_break(True, margin=22)
        pdf.set_creation_date(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
        pdf.set_title(title)
        pdf.set_author(ORGANISATION[lang if lang in ORGANISATION else "fr"][0])
        folder = unicode_font_dir() if unicode_font else None
        if folder is not None:
            pdf.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
            pdf.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
            pdf.family = "DejaVu"
        else:
            pdf.core_fonts_encoding = "cp1252"  # has "•", "’", "œ" and "€", which latin-1 lacks
        pdf.running_title = running
        pdf.page_label = WORDS["en" if lang == "en" else "fr"]["page"]
        self.pdf, self.unicode = pdf, folder is not None
        self.headings: list[tuple[int, str, int]] = []  # (level, text, page)
        self.tables: list[tuple[int, list[list[str]]]] = []  # (page, rows with the header first)
        self.words = 0

    def text(self, value: str) -> str:
        """The text as the font can draw it (the core fonts know cp1252 only); its words are counted."""
        self.words += len(value.split())
        if self.unicode:
            return value
        return value.encode("cp1252", "replace").decode("cp1252")

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.pdf.family, "B" if bold else "", size)

    def room(self, mm: float) -> None:
        """A new page unless ``mm`` millimetres are left above the bottom margin."""
        if self.pdf.get_y() + mm > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def title_page(self, lang: str, title: str, subtitle: str, year: int) -> None:
        pdf = self.pdf
        pdf.add_page()
        org, hub = ORGANISATION["en" if lang == "en" else "fr"]
        self.font(BODY)  # body size: the report's title is the first heading
        pdf.multi_cell(0, LINE, self.text(org), align="L", new_x="LMARGIN", new_y="NEXT")
        self.font(CAPTION)
        pdf.multi_cell(0, LINE, self.text(hub), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(95)
        self.font(TITLE, True)
        pdf.multi_cell(0, 12, self.text(title), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        self.font(SUBTITLE)
        pdf.multi_cell(0, 8, self.text(subtitle), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(240)
        self.font(BODY)
        pdf.cell(0, 7, f"Dakar, {year}", new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str, level: int) -> None:
        self.room(28 if level == 1 else 18)
        self.pdf.ln(5 if level == 1 else 2)
        self.headings.append((level, text, self.pdf.page_no()))
        self.font(H1 if level == 1 else H2, True)
        self.pdf.multi_cell(0, 8 if level == 1 else 6.5, self.text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)

    def paragraph(self, text: str) -> None:
        self.font(BODY)
        self.pdf.multi_cell(0, LINE, self.text(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2.2)

    def items(self, items: list[str], numbered: bool) -> None:
        pdf = self.pdf
        self.font(BODY)
        for n, item in enumerate(items, start=1):
            self.room(LINE * 2)
            pdf.set_x(pdf.l_margin + 4)
            pdf.cell(6, LINE, f"{n}." if numbered else "•")
            pdf.multi_cell(0, LINE, self.text(item), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.8)
        pdf.ln(1.6)

    def table(self, lang: str, caption: str, rows: list[list[str]], year: int) -> None:
        pdf = self.pdf
        self.room(14 + 6 * len(rows))
        self.tables.append((pdf.page_no(), rows))
        pdf.ln(2)
        self.font(CAPTION, True)
        label = f"{WORDS[lang]['table']} {len(self.tables)}{' :' if lang == 'fr' else ':'} {caption}"
        pdf.multi_cell(0, 5, self.text(label), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
        self.font(TABLE)
        widths = [2.2] + [1] * (len(rows[0]) - 1)
        with pdf.table(col_widths=widths, line_height=5.4, text_align=["LEFT"] + ["RIGHT"] * (len(rows[0]) - 1),
                       headings_style=_headings_style(), borders_layout="HORIZONTAL_LINES") as table:
            for cells in rows:
                row = table.row()
                for cell in cells:
                    row.cell(self.text(cell))
        pdf.ln(1)
        self.font(7.5)
        pdf.cell(0, 4, self.text(WORDS[lang]["source"].format(year=year)), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    def blocks(self, blocks: list[Block]) -> None:
        for kind, value in blocks:
            if kind == "p":
                self.paragraph(value)
            else:
                self.items(value, numbered=kind == "ol")


def _headings_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(225, 230, 238))


@dataclass
class Plan:
    kind: str  # "fr", "en" or "fr+en"
    title: str
    subtitle: str
    year: int
    pages: int  # the page count aimed at


def page_targets(count: int, seed: int, pages: tuple[int, int]) -> list[int]:
    """The page count each report aims at: spread evenly from the first of ``pages`` to near the last, shuffled."""
    low, high = pages[0], pages[1] - MARGIN_PAGES
    targets = [low + round(n * (high - low) / max(count - 1, 1)) for n in range(count)]
    random.Random(f"longdocs:{seed}:pages").shuffle(targets)
    return targets


def plan(index: int, seed: int, target: int) -> Plan:
    """What report number ``index`` is: every sixth one (the first included) bilingual, then French and English in turn."""
    rng = random.Random(f"longdocs:{seed}:{index}:plan")
    kind = "fr+en" if index % 6 == 0 else ("fr", "en")[(index - index // 6) % 2]
    lang = "en" if kind == "en" else "fr"
    n = rng.randrange(len(TITLES[lang]))
    region = rng.randrange(len(REGIONS[lang]))
    title = TITLES[lang][n] if kind != "fr+en" else f"{TITLES['fr'][n]} / {TITLES['en'][n]}"
    subtitle = REGIONS[lang][region] if kind != "fr+en" else f"{REGIONS['fr'][region]} / {REGIONS['en'][region]}"
    return Plan(kind, title, subtitle, rng.randint(2017, 2024), target)


@dataclass
class Written:
    """A report as written: its file, page and word counts, headings (level, text, page) and tables (page, rows)."""

    path: Path
    kind: str
    pages: int
    words: int
    headings: list[tuple[int, str, int]]
    tables: list[tuple[int, list[list[str]]]]


def write_report(path: Path, p: Plan, french: dict[str, Chapter], english: dict[str, Chapter], rng: random.Random,
                 unicode_font: bool = True) -> Written:
    """Write one report of about ``p.pages`` pages to ``path``."""
    lang = "en" if p.kind == "en" else "fr"
    running = p.title.split(" / ")[0].split(":")[0]
    w = Writer(lang, p.title, running, unicode_font)
    w.title_page(lang, p.title, p.subtitle, p.year)
    w.pdf.add_page()
    pool = sorted(set(french) & set(english)) if p.kind == "fr+en" else sorted(french if p.kind == "fr" else english)
    keys = list(pool)
    rng.shuffle(keys)
    number, since_table, table_gap = 0, 0, rng.randint(1200, 3000)  # words between two tables
    hard_stop = p.pages + 2  # no block starts past this page: a long fiche cannot run past the last page asked for
    while w.pdf.page_no() < p.pages:
        if not keys:  # every chapter used: the pool again, in a new order
            keys = list(pool)
            rng.shuffle(keys)
        key = keys.pop()
        parts = [french[key]] if p.kind == "fr" else [english[key]] if p.kind == "en" else [french[key], english[key]]
        number += 1
        w.heading(f"{number}. {' / '.join(part.title for part in parts)}", 1)
        sub = 0
        for part in parts:
            if len(parts) > 1 and part.lang == "en":  # the English version follows its French chapter, whole
                sub += 1
                w.heading(f"{number}.{sub} {part.title} ({WORDS['en']['version']})", 2)
            for section in part.sections:
                if w.pdf.page_no() >= p.pages and part is parts[0]:
                    break
                if section.heading:
                    sub += 1
                    w.heading(f"{number}.{sub} {section.heading}", 2)
                for block in section.blocks:
                    if w.pdf.page_no() >= hard_stop:
                        break
                    w.blocks([block])
            since_table += part.words()
            if number == 1 or since_table >= table_gap:
                caption, rows = make_table(rng, part.lang, p.year)
                w.table(part.lang, caption, rows, p.year)
                since_table = 0
    w.pdf.output(str(path))
    return Written(path, p.kind, w.pdf.page_no(), w.words, w.headings, w.tables)


def _slug(text: str) -> str:
    import unicodedata

    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:48].rstrip("-")


def make_reports(dest: Path, count: int = 20, seed: int = 0, pages: tuple[int, int] = (30, 100),
                 zip_path: Path = DEFAULT_ZIP, unicode_font: bool = True) -> list[Written]:
    """Write ``count`` reports of ``pages`` (first to last, inclusive) pages into ``dest``; the same seed gives the
    same files. ``unicode_font=False`` draws them with the core Helvetica instead of DejaVu Sans."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if not (3 <= pages[0] and pages[1] - pages[0] >= MARGIN_PAGES):
        raise ValueError(f"pages must be (first, last) with first >= 3 and last >= first + {MARGIN_PAGES}, got {pages}")
    dest.mkdir(parents=True, exist_ok=True)
    french, english = french_chapters(zip_path), english_chapters()
    written = []
    for index, target in enumerate(page_targets(count, seed, pages)):
        p = plan(index, seed, target)
        lang = {"fr": "fr", "en": "en", "fr+en": "fr-en"}[p.kind]
        path = dest / f"{index + 1:02d}-{lang}-{_slug(p.title.split(' / ')[0])}-{p.year}.pdf"
        rng = random.Random(f"longdocs:{seed}:{index}:text")
        written.append(write_report(path, p, french, english, rng, unicode_font))
    return written


def make_longdocs(dest: Path, count: int = 20, seed: int = 0, pages: tuple[int, int] = (30, 100)) -> list[Path]:
    """The benchmark's long-document set: ``count`` report PDFs of ``pages`` pages written into ``dest`` (see
    make_reports); every sixth report (the first included) is bilingual, the others French and English in turn."""
    return [w.path for w in make_reports(dest, count, seed, pages)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write the PDFs into (created if missing)")
    parser.add_argument("--count", type=int, default=20, help="how many reports (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same files (default: %(default)s)")
    parser.add_argument("--pages", type=int, nargs=2, default=(30, 100), metavar=("FIRST", "LAST"),
                        help="page count range of each report (default: 30 100)")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="the service-public.fr archive (default: %(default)s)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        written = make_reports(args.out, args.count, args.seed, tuple(args.pages), args.zip)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    for w in written:
        print(f"{w.path.name:<68} {w.kind:>5} {w.pages:>4} pages {w.words:>7} words {len(w.headings):>4} headings "
              f"{len(w.tables):>3} tables")
    font = "DejaVu Sans" if unicode_font_dir() else "Helvetica (no DejaVu Sans found)"
    print(f"{len(written)} files, {sum(w.pages for w in written)} pages, {sum(w.words for w in written)} words "
          f"in {seconds:.1f} s ({font}), into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
