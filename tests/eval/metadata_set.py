"""A labelled set for metadata inference without a sidecar, and the precision of each inferred field.

    python tests/eval/metadata_set.py [OUT]      # builds the set in OUT (a temporary folder if not given)

Documents: 32 files written here (PDF, DOCX, PPTX, HTML, Markdown, plain text; French and English) with the
traps of real files: PDF titles that are "Microsoft Word - x.docx" or a file name, numbered first headings
("1. Introduction"), cover dates ("Mars 2022"), datelines ("Dakar, le 5 juillet 2023 -"), countries named by
their demonyms ("sénégalais", "Ivorian") or in passing, look-alike names (Guinée-Bissau, Niger and Nigeria, RDC);
plus the sample corpus's documents without their sidecars (labels: the sidecars). Each has the expected title,
date (and its precision), countries, type and language.

Figures per field: precision (right answers / answers given) and coverage (answers given / documents whose label
has a value); countries are scored per country (precision and recall). A title is right when it is the expected
one, or most of it (its words inside the expected title's and at least half as long: "Module 1 : une approche
intégrée" for "Manuel ..., module 1 : une approche intégrée"); a date when its value and precision are.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIELDS = ("title", "date", "countries", "type", "language")


@dataclass
class Label:
    """What a person would catalogue for one file."""

    file: str
    title: str
    date: str | None  # YYYY, YYYY-MM or YYYY-MM-DD
    countries: list[str]
    type: str  # kmh.catalog.models.DOC_TYPES
    language: str


@dataclass
class Spec:
    """One generated file: its parts in reading order and its own properties."""

    name: str
    label: Label
    parts: list[tuple[str, str]]  # (kind, text): "big" title, "h" heading, "p" paragraph, "small" line
    props: dict[str, str] = field(default_factory=dict)  # title, created (YYYY-MM-DD), published (HTML)


# -- text ---------------------------------------------------------------------------------------------

FR_BODY = (
    "Le programme accompagne les migrants de retour au {c} dans leur reintegration economique, sociale et "
    "psychosociale. Les partenaires {d} ont mis en place des comites locaux qui suivent chaque dossier et "
    "orientent les personnes vers les services competents de leur region."
)
FR_BODY2 = (
    "Les conseillers rencontrent les beneficiaires pendant six mois apres leur arrivee. Les autorites du {c} "
    "coordonnent les appuis avec les collectivites locales et les organisations de la societe civile."
)
EN_BODY = (
    "The programme supports migrants returning to {c} in their economic, social and psychosocial "
    "reintegration. {d} partners have set up local committees that follow each case and refer people to the "
    "services of their region."
)
EN_BODY2 = (
    "Counsellors meet the beneficiaries for six months after their arrival. The authorities of {c} coordinate "
    "the assistance with local governments and civil society organisations."
)
FR_PASSING = "Des experts venus du {x} ont aussi partage leur experience lors d'une session."
EN_PASSING = "Experts from {x} also shared their experience during one session."
FR_PLAIN = (
    "La reintegration durable suppose un niveau d'autosuffisance economique, de stabilite sociale et de bien-etre "
    "psychosocial qui permet aux personnes de retour de faire face aux facteurs de migration."
)
EN_PLAIN = (
    "Sustainable reintegration means a level of economic self-sufficiency, social stability and psychosocial "
    "well-being that allows returnees to cope with the drivers of migration."
)

# country -> (French name with article form, French demonym plural, English name, English demonym)
C = {
    "Senegal": ("Senegal", "senegalais", "Senegal", "Senegalese"),
    "Morocco": ("Maroc", "marocains", "Morocco", "Moroccan"),
    "Côte d'Ivoire": ("Cote d'Ivoire", "ivoiriens", "Côte d'Ivoire", "Ivorian"),
    "Guinea": ("Guinee", "guineens", "Guinea", "Guinean"),
    "Guinea-Bissau": ("Guinee-Bissau", "bissau-guineens", "Guinea-Bissau", "Bissau-Guinean"),
    "Niger": ("Niger", "nigeriens", "Niger", "Nigerien"),
    "Nigeria": ("Nigeria", "nigerians", "Nigeria", "Nigerian"),
    "Mali": ("Mali", "maliens", "Mali", "Malian"),
    "Democratic Republic of the Congo": ("RDC", "congolais", "DRC", "Congolese"),
    "Gambia": ("Gambie", "gambiens", "The Gambia", "Gambian"),
    "Ethiopia": ("Ethiopie", "ethiopiens", "Ethiopia", "Ethiopian"),
    "Tunisia": ("Tunisie", "tunisiens", "Tunisia", "Tunisian"),
    "Cameroon": ("Cameroun", "camerounais", "Cameroon", "Cameroonian"),
    "Burkina Faso": ("Burkina Faso", "burkinabe", "Burkina Faso", "Burkinabe"),
    "Libya": ("Libye", "libyens", "Libya", "Libyan"),
    "Afghanistan": ("Afghanistan", "afghans", "Afghanistan", "Afghan"),
    "Iraq": ("Irak", "irakiens", "Iraq", "Iraqi"),
    "Ghana": ("Ghana", "ghaneens", "Ghana", "Ghanaian"),
    "Germany": ("Allemagne", "allemands", "Germany", "German"),
    "Italy": ("Italie", "italiens", "Italy", "Italian"),
}


def body(lang: str, countries: list[str], passing: str | None = None, paragraphs: int = 2) -> list[tuple[str, str]]:
    """Paragraphs naming each country twice (name and demonym), and one passing mention."""
    out = []
    for country in countries or [None]:
        fr, fr_dem, en, en_dem = C[country] if country else ("pays", "nationaux", "the country", "National")
        for n in range(paragraphs):
            if lang == "fr":
                text = (FR_BODY if n == 0 else FR_BODY2).format(c=fr, d=fr_dem)
            else:
                text = (EN_BODY if n == 0 else EN_BODY2).format(c=en, d=en_dem)
            out.append(("p", text))
    if passing:
        out.append(("p", (FR_PASSING if lang == "fr" else EN_PASSING).format(x=C[passing][0 if lang == "fr" else 2])))
    out.append(("p", FR_PLAIN if lang == "fr" else EN_PLAIN))
    return out


def S(name, expected_title, date, countries, type_, lang, parts, **props) -> Spec:  # noqa: N802 - a table row
    return Spec(name, Label(name, expected_title, date, countries, type_, lang), parts, props)


def specs() -> list[Spec]:
    """The generated part of the set."""
    fr, en = "fr", "en"
    return [
        # PDFs with a meaningful metadata title and a numbered first heading
        S("rapport-senegal-2022.pdf", "Rapport sur la réintégration des migrants de retour au Sénégal", "2022-03",
          ["Senegal"], "report", fr,
          [("small", "Mars 2022"), ("h", "1. Introduction")] + body(fr, ["Senegal"], "Mali"),
          title="Rapport sur la réintégration des migrants de retour au Sénégal", created="2022-04-11"),
        S("return-assessment-gambia.pdf", "Assessment of return and reintegration in The Gambia", "2021-06-15",
          ["Gambia"], "report", en,
          [("h", "1. Introduction")] + body(en, ["Gambia"]) + [("h", "2. Findings")] + body(en, []),
          title="Assessment of return and reintegration in The Gambia", created="2021-06-15"),
        # PDFs whose metadata title is junk: the largest text of the first page
        S("rapport-final-v3.pdf", "Étude sur les besoins psychosociaux des migrants de retour", "2020-11-05",
          ["Côte d'Ivoire"], "report", fr,
          [("big", "Étude sur les besoins psychosociaux des migrants de retour"), ("h", "1. Contexte")]
          + body(fr, ["Côte d'Ivoire"], "Ghana"),
          title="Microsoft Word - rapport_final_v3.docx", created="2020-11-05"),
        S("handbook-counselling.pdf", "Handbook on counselling returnees", "2019-09",
          [], "handbook", en,
          [("big", "Handbook on counselling returnees"), ("small", "September 2019"), ("h", "1. Purpose")]
          + body(en, []),
          title="handbook_counselling_final", created="2019-10-02"),
        S("note-orientation.pdf", "Note d'orientation : la réintégration communautaire", "2023-02-14",
          ["Guinea-Bissau"], "knowledge_paper", fr,
          [("big", "Note d'orientation : la réintégration communautaire"), ("h", "1. Introduction")]
          + body(fr, ["Guinea-Bissau"]),
          title="Untitled", created="2023-02-14"),
        S("policy-brief-niger.pdf", "Policy brief: reintegration and local development in Niger", "2022",
          ["Niger"], "knowledge_paper", en,
          [("big", "Policy brief: reintegration and local development in Niger"), ("small", "IOM 2022"),
           ("h", "1. Key messages")] + body(en, ["Niger"], "Nigeria"),
          title="Microsoft PowerPoint - brief.pptx"),
        S("manuel-formation.pdf", "Manuel de formation sur la réintégration durable", "2018-05",
          [], "handbook", fr,
          [("big", "Manuel de formation sur la réintégration durable"), ("small", "Mai 2018"),
           ("h", "Chapitre 1"), ("h", "1.1 Objectifs du manuel")] + body(fr, []),
          created="2018-06-20"),
        S("guinea-nigeria-study.pdf", "Study on returns to Guinea and Nigeria", "2024-01-30",
          ["Guinea", "Nigeria"], "report", en,
          [("big", "Study on returns to Guinea and Nigeria"), ("small", "Published on January 30, 2024"),
           ("h", "2.3 Context")] + body(en, ["Guinea", "Nigeria"], "Guinea-Bissau"),
          title="Document1", created="2024-02-02"),
        S("rdc-bilan.pdf", "Bilan du programme de réintégration en RDC", "2021-12",
          ["Democratic Republic of the Congo"], "report", fr,
          [("big", "Bilan du programme de réintégration en RDC"), ("small", "Kinshasa, décembre 2021"),
           ("h", "I. Contexte")] + body(fr, ["Democratic Republic of the Congo"]),
          created="2022-01-10"),
        S("seminar-report-tunisia.pdf", "Regional seminar on reintegration in North Africa", "2023-10-12",
          ["Tunisia", "Libya"], "seminar_page", en,
          [("big", "Regional seminar on reintegration in North Africa"),
           ("small", "Tunis, 12-13 October 2023"), ("h", "Agenda")] + body(en, ["Tunisia", "Libya"]),
          title="Regional seminar on reintegration in North Africa"),
        # DOCX
        S("rapport-mali.docx", "Rapport annuel 2022 sur le retour volontaire au Mali", "2022",
          ["Mali"], "report", fr,
          [("big", "Rapport annuel 2022 sur le retour volontaire au Mali"), ("h", "1. Résumé")]
          + body(fr, ["Mali"], "Senegal"),
          title="Rapport annuel 2022 sur le retour volontaire au Mali"),
        S("guide-pratique.docx", "Guide pratique pour les conseillers en réintégration", "2020-07",
          [], "handbook", fr,
          [("big", "Guide pratique pour les conseillers en réintégration"), ("small", "Juillet 2020"),
           ("h", "1. Introduction")] + body(fr, []),
          title="Guide", created="2020-09-01"),
        S("brief-ethiopia.docx", "Reintegration of Ethiopian returnees from the Gulf", "2021-03-08",
          ["Ethiopia"], "other", en,
          [("big", "Reintegration of Ethiopian returnees from the Gulf")] + body(en, ["Ethiopia"]),
          title="Microsoft Word - Document2", created="2021-03-08"),
        S("compte-rendu-atelier.docx", "Compte rendu de l'atelier de Bamako", "2019-04-03",
          ["Mali", "Burkina Faso"], "other", fr,
          [("big", "Compte rendu de l'atelier de Bamako"), ("p", "Bamako, le 3 avril 2019")]
          + body(fr, ["Mali", "Burkina Faso"]),
          created="2019-04-05"),
        S("toolkit-community.docx", "Community reintegration toolkit", "2022-11",
          ["Cameroon"], "handbook", en,
          [("big", "Community reintegration toolkit"), ("small", "November 2022"), ("h", "Part 1")]
          + body(en, ["Cameroon"]),
          title="Community reintegration toolkit", created="2022-11-30"),
        # PPTX
        S("presentation-webinaire.pptx", "Webinaire : la réintégration psychosociale", "2021-05-20",
          [], "seminar_page", fr,
          [("big", "Webinaire : la réintégration psychosociale"), ("p", "20 mai 2021")] + body(fr, [], paragraphs=1),
          title="Présentation PowerPoint", created="2021-05-19"),
        S("results-ghana.pptx", "Reintegration results in Ghana", "2023-06-01",
          ["Ghana"], "other", en,
          [("big", "Reintegration results in Ghana")] + body(en, ["Ghana"], paragraphs=1),
          title="Reintegration results in Ghana", created="2023-06-01"),
        # HTML pages
        S("communique-dakar.html", "Le Sénégal et l'OIM lancent un nouveau programme de réintégration",
          "2023-07-05", ["Senegal"], "news", fr,
          [("big", "Le Sénégal et l'OIM lancent un nouveau programme de réintégration"),
           ("p", "Dakar, le 5 juillet 2023 – Communiqué de presse")] + body(fr, ["Senegal"]),
          page_title="Le Sénégal et l'OIM lancent un nouveau programme | OIM Sénégal"),
        S("press-release-morocco.html", "Morocco hosts regional dialogue on return migration", "2024-02-20",
          ["Morocco"], "news", en,
          [("big", "Morocco hosts regional dialogue on return migration")] + body(en, ["Morocco"], "Mali"),
          title="Morocco hosts regional dialogue on return migration", published="2024-02-20T09:00:00+00:00",
          og_type="article", page_title="Press release | IOM"),
        S("actualite-guinee.html", "Des migrants guinéens de retour créent leurs entreprises", "2022-10-18",
          ["Guinea"], "news", fr,
          [("big", "Des migrants guinéens de retour créent leurs entreprises"),
           ("p", "Conakry – Actualités")] + body(fr, ["Guinea"]),
          published="2022-10-18", page_title="Actualités - OIM"),
        S("seminaire-interregional.html", "Séminaire interrégional sur la réintégration et le développement",
          "2021-12-01", [], "seminar_page", fr,
          [("big", "Séminaire interrégional sur la réintégration et le développement"), ("h", "Dates"),
           ("p", "Du 1er au 2 décembre 2021"), ("h", "Objectifs"),
           ("p", "Le séminaire a réuni des experts et des praticiens du retour et de la réintégration.")]
          + body(fr, [], paragraphs=1)),
        S("news-iraq.html", "Iraqi returnees find jobs through vocational training", "2020-08-11",
          ["Iraq"], "news", en,
          [("big", "Iraqi returnees find jobs through vocational training"),
           ("p", "ERBIL, 11 August 2020 – Press release")] + body(en, ["Iraq"]),
          page_title="News | IOM Iraq"),
        S("page-afghanistan.html", "Reintegration assistance in Afghanistan", "2019-03",
          ["Afghanistan"], "other", en,
          [("big", "Reintegration assistance in Afghanistan"), ("small", "Updated March 2019")]
          + body(en, ["Afghanistan"], "Iraq")),
        # Markdown and plain text
        S("note-technique.md", "Note technique : le suivi des migrants de retour", "2024-04",
          ["Cameroon"], "knowledge_paper", fr,
          [("big", "Note technique : le suivi des migrants de retour"), ("small", "Avril 2024")]
          + body(fr, ["Cameroon"], "Gambia")),
        S("working-paper.md", "Working paper: remittances and reintegration in West Africa", "2018",
          ["Senegal", "Gambia"], "knowledge_paper", en,
          [("big", "Working paper: remittances and reintegration in West Africa"), ("small", "© IOM 2018"),
           ("h", "1. Introduction")] + body(en, ["Senegal", "Gambia"])),
        S("communique-niamey.txt", "Le Niger renforce l'accueil des migrants de retour", "2022-06-09",
          ["Niger"], "news", fr,
          [("big", "Le Niger renforce l'accueil des migrants de retour"),
           ("p", "COMMUNIQUÉ DE PRESSE"), ("p", "Niamey, le 9 juin 2022 – Le gouvernement a inauguré un centre.")]
          + body(fr, ["Niger"], "Nigeria")),
        S("lettre-partenaires.txt", "Lettre aux partenaires du programme", None,
          [], "other", fr,
          [("big", "Lettre aux partenaires du programme")] + body(fr, [])),
        S("field-notes.txt", "Field visit to reintegration projects in Nigeria", "2023-09-14",
          ["Nigeria"], "other", en,
          [("big", "Field visit to reintegration projects in Nigeria"), ("p", "Lagos, 14 September 2023")]
          + body(en, ["Nigeria"], "Niger")),
        S("etude-tunisie.txt", "Étude sur la réintégration des Tunisiens de retour d'Italie", "2021",
          ["Tunisia"], "report", fr,
          [("big", "Étude sur la réintégration des Tunisiens de retour d'Italie"), ("small", "Tunis, 2021")]
          + body(fr, ["Tunisia"]) + [("p", "Ils etaient pour la plupart installes en Italie depuis dix ans.")]),
        S("sop-returns.docx", "Standard operating procedures for assisted voluntary return", "2020-01",
          [], "handbook", en,
          [("big", "Standard operating procedures for assisted voluntary return"), ("small", "January 2020"),
           ("h", "Section 1")] + body(en, []),
          title="SOP_AVR_final_2020.docx", created="2020-02-03"),
        S("seminaire-rabat.pdf", "Séminaire international sur le renforcement des capacités", "2019-09-24",
          ["Morocco"], "seminar_page", fr,
          [("big", "Séminaire international sur le renforcement des capacités"),
           ("small", "Rabat, 24 et 25 septembre 2019"), ("h", "Programme")] + body(fr, ["Morocco"]),
          created="2019-09-20"),
        S("ivorian-returnees.html", "Ivorian returnees share their stories", "2024-05-02",
          ["Côte d'Ivoire"], "news", en,
          [("big", "Ivorian returnees share their stories"), ("p", "ABIDJAN, 2 May 2024 – News")]
          + body(en, ["Côte d'Ivoire"], "Ghana"),
          title="Ivorian returnees share their stories"),
    ]


# -- writing the files ----------------------------------------------------------------------------------


def _latin1(text: str) -> str:
    return text.replace("–", "-").replace("’", "'").replace("œ", "oe").replace("©", "(c)") \
        .encode("latin-1", "replace").decode("latin-1")


def _when(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=timezone.utc)


def write_pdf(spec: Spec, path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    if "title" in spec.props:
        pdf.set_title(_latin1(spec.props["title"]))
    # every PDF has a creation date: without one given, a later re-export's (a trap: not the publication date)
    pdf.set_creation_date(_when(spec.props.get("created", "2025-01-15")))
    pdf.add_page()
    sizes = {"big": ("B", 22, 11), "h": ("B", 15, 9), "p": ("", 11, 6), "small": ("", 12, 7)}
    for n, (kind, text) in enumerate(spec.parts):
        if kind == "h" and n > 3:
            pdf.add_page()  # later sections on the next pages
        style, size, height = sizes[kind]
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(0, height, _latin1(text), align="J" if kind == "p" else "L")
        pdf.ln(3)
    pdf.output(str(path))


def write_docx(spec: Spec, path: Path) -> None:
    import docx

    d = docx.Document()
    for kind, text in spec.parts:
        if kind == "big":
            d.add_heading(text, level=0)
        elif kind == "h":
            d.add_heading(text, level=1)
        else:
            d.add_paragraph(text)
    cp = d.core_properties
    cp.title = spec.props.get("title", "")
    if "created" in spec.props:
        cp.created = cp.modified = _when(spec.props["created"])
    d.save(str(path))


def write_pptx(spec: Spec, path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    slide.shapes.title.text = spec.parts[0][1]
    rest = [text for _kind, text in spec.parts[1:]]
    slide.placeholders[1].text = rest[0]
    for text in rest[1:]:
        s = prs.slides.add_slide(prs.slide_layouts[5])
        s.shapes.title.text = "Points clés" if spec.label.language == "fr" else "Key points"
        s.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(4)).text_frame.text = text
    cp = prs.core_properties
    cp.title = spec.props.get("title", "")
    if "created" in spec.props:
        cp.created = cp.modified = _when(spec.props["created"]).replace(tzinfo=None)
    prs.save(str(path))


def write_html(spec: Spec, path: Path) -> None:
    from html import escape

    head = [f"<title>{escape(spec.props.get('page_title', spec.parts[0][1]))}</title>"]
    if "title" in spec.props:
        head.append(f'<meta property="og:title" content="{escape(spec.props["title"])}">')
    if "published" in spec.props:
        head.append(f'<meta property="article:published_time" content="{spec.props["published"]}">')
    if "og_type" in spec.props:
        head.append(f'<meta property="og:type" content="{spec.props["og_type"]}">')
    tags = {"big": "h1", "h": "h2", "p": "p", "small": "p"}
    main = "\n".join(f"<{tags[k]}>{escape(t)}</{tags[k]}>" for k, t in spec.parts)
    nav = '<nav><a href="/">Accueil</a> <a href="/actualites">Actualités</a></nav>'
    path.write_text(f'<!DOCTYPE html><html lang="{spec.label.language}"><head><meta charset="utf-8">{"".join(head)}'
                    f"</head><body>{nav}<main><article>{main}</article></main>"
                    "<footer>© OIM · Mentions légales</footer></body></html>", encoding="utf-8")


def write_text(spec: Spec, path: Path) -> None:
    lines = []
    for kind, text in spec.parts:
        lines.append(("# " if kind == "big" else "## " if kind == "h" else "") + text
                     if path.suffix == ".md" else text)
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")


WRITERS = {".pdf": write_pdf, ".docx": write_docx, ".pptx": write_pptx, ".html": write_html, ".md": write_text,
           ".txt": write_text}


def corpus_labels() -> list[tuple[Path, Label]]:
    """The sample corpus's documents, labelled with their sidecars."""
    from ingest.metadata import read_sidecar

    out = []
    for path in sorted((ROOT / "corpus").rglob("*.txt")):
        meta = read_sidecar(path)
        if not meta:
            continue
        published = meta.get("published")
        precision = meta.get("published_precision") or "day"
        date = None if published is None else published.isoformat()[: {"year": 4, "month": 7, "day": 10}[precision]]
        out.append((path, Label(path.name, meta["title"], date, list(meta.get("countries", [])),
                                meta.get("doc_type", "other"), meta.get("language", ""))))
    return out


def build(out: Path) -> list[Label]:
    """Write the set into ``out`` (no sidecar beside any file); answers the labels, in file order."""
    out.mkdir(parents=True, exist_ok=True)
    labels = []
    for spec in specs():
        WRITERS[Path(spec.name).suffix](spec, out / spec.name)
        labels.append(spec.label)
    for path, label in corpus_labels():
        shutil.copyfile(path, out / label.file)
        labels.append(label)
    return labels


# -- scoring --------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.findall(r"\w+", text)


def title_matches(found: str | None, expected: str) -> bool:
    """The expected title, or most of it (see the module)."""
    if not found:
        return False
    got, want = _words(found.rstrip("…")), _words(expected)
    if got == want:
        return True
    return bool(got) and set(got) <= set(want) and len(got) * 2 >= len(want)


def predict(path: Path) -> dict[str, object]:
    """The inferred fields of one file, parsed as ingestion parses it (no sidecar)."""
    from ingest.parsers import parse_file
    from kmh.dates import partial_date_text

    meta = parse_file(path, max_bytes=50 * 2**20).meta
    return {"title": meta.title, "date": partial_date_text(meta.published, meta.published_precision),
            "countries": list(meta.countries), "type": meta.doc_type, "language": meta.language}


def evaluate(folder: Path, labels: list[Label]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Per field: precision, coverage (recall for countries), counts; and the lines of every miss."""
    right = dict.fromkeys(FIELDS, 0)
    given = dict.fromkeys(FIELDS, 0)
    expected = dict.fromkeys(FIELDS, 0)
    misses: list[str] = []
    for label in labels:
        got = predict(folder / label.file)
        checks = {
            "title": (got["title"] is not None, title_matches(got["title"], label.title), True),
            "date": (got["date"] is not None, got["date"] == label.date, label.date is not None),
            "type": (got["type"] != "other", got["type"] == label.type, label.type != "other"),
            "language": (got["language"] is not None, got["language"] == label.language, True),
        }
        for name, (answered, ok, labelled) in checks.items():
            given[name] += answered
            right[name] += answered and ok
            expected[name] += labelled
            if (answered and not ok) or (labelled and not answered):
                want = getattr(label, name)
                misses.append(f"{label.file}: {name} {got[name]!r}, expected {want!r}")
        found, want = set(got["countries"]), set(label.countries)  # type: ignore[arg-type]
        given["countries"] += len(found)
        right["countries"] += len(found & want)
        expected["countries"] += len(want)
        if found != want:
            misses.append(f"{label.file}: countries {sorted(found)}, expected {sorted(want)}")
    table = {}
    for name in FIELDS:
        table[name] = {
            "precision": right[name] / given[name] if given[name] else 0.0,
            "coverage": given[name] / expected[name] if name != "countries" and expected[name] else 0.0,
            "recall": right[name] / expected[name] if expected[name] else 0.0,
            "right": right[name], "given": given[name], "expected": expected[name],
        }
    return table, misses


def report(table: dict[str, dict[str, float]], documents: int) -> str:
    lines = [f"{documents} documents", "| field | precision | recall | coverage | right / given / labelled |",
             "|---|---|---|---|---|"]
    for name, row in table.items():
        coverage = "" if name == "countries" else f"{row['coverage']:.2f}"
        lines.append(f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | {coverage} | "
                     f"{row['right']} / {row['given']} / {row['expected']} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    out = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="kmh-metadata-set-"))
    labels = build(out)
    table, misses = evaluate(out, labels)
    print(report(table, len(labels)))
    if misses:
        print("\nmisses:")
        print("\n".join(f"  {m}" for m in misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
