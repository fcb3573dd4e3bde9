"""The searcher: filters, facets, grouping, paging, highlights, cross-lingual hits, passage context,
query cache and the reranker slot. Real e5 model, real embedded store, the sample corpus."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from api.urls import citation_url
from ingest.indexer import Indexer
from kmh.catalog.models import DOC_TYPES
from kmh.runtime import open_catalog, open_vector_store
from kmh.settings import Settings
from search.filters import UnknownFilterValue, fold, pick
from search.searcher import Searcher, SearchQuery, facet_counts
from search.snippets import ELLIPSIS, SNIPPET_CHARS
from tests.conftest import CORPUS, MODELS
from tests.helpers import HANDBOOK, MOROCCO, RECORDING, SCAN, SEMINAR, SENEGAL, TOGO

XSS = "rapport-xss.txt"
RECORDING_SEMINAR = "2021-12-reintegration-developpement"


@pytest.fixture(scope="module")
def env(tmp_path_factory, shared_embedders):
    root = tmp_path_factory.mktemp("search")
    extra = root / "extra"
    extra.mkdir()
    (extra / XSS).write_text(
        "Rapport de suivi\n\n"
        + "Le suivi de la réintégration des migrants de retour à Kayes <script>alert(1)</script> reste difficile. "
        + "Les conseillers notent les progrès & les obstacles des bénéficiaires. " * 15,
        encoding="utf-8",
    )
    (extra / "rapport-xss.meta.yaml").write_text("type: report\ndate: 2022\ncountry: Mali\nlanguage: fr\n")
    settings = Settings(data_dir=root / "data", models_dir=MODELS)
    catalog = open_catalog(settings)
    store = open_vector_store(settings)
    doc_emb, text_emb = shared_embedders
    with Indexer(settings, catalog, store, encoder=doc_emb.encoder) as indexer:
        results = indexer.run([CORPUS, extra])
    assert [r.status for r in results] == ["new"] * 10, [(r.path.name, r.reason) for r in results]
    searcher = Searcher(settings, catalog, store)
    searcher.warm_up()
    yield searcher
    store.close()
    catalog.close()


def pool_payloads(searcher: Searcher, query: SearchQuery):
    """The payloads of the whole candidate pool of a query, fetched the way the searcher does."""
    return [h.payload for h, _ in searcher._pool(query.q, query.mode, query.to_filter(), None)]


# ------------------------------------------------------------------------------------------------ filters


def test_each_filter_narrows_the_results(env):
    q = "réintégration des migrants de retour"
    everything = env.search(SearchQuery(q=q, k=50))
    assert {h.filename for h in everything.hits} >= {MOROCCO, SENEGAL, TOGO, SEMINAR, HANDBOOK}

    news = env.search(SearchQuery(q=q, k=50, doc_type="news"))
    assert news.hits and {h.doc_type for h in news.hits} == {"news"} and news.total < everything.total

    senegal = env.search(SearchQuery(q=q, k=50, country="Senegal"))
    assert {h.filename for h in senegal.hits} == {SENEGAL}

    years = env.search(SearchQuery(q=q, k=50, year_from=2020, year_to=2022))
    assert {h.filename for h in years.hits} == {SEMINAR, XSS, RECORDING}
    # the scanned note's sidecar gives no date: its PDF's creation date (2026-01-01, set by kmh synth-scan) is inferred
    assert {h.filename for h in env.search(SearchQuery(q=q, k=50, year_from=2023)).hits} == {SENEGAL, SCAN}
    assert {h.filename for h in env.search(SearchQuery(q=q, k=50, year_to=2019)).hits} == {MOROCCO, HANDBOOK}

    assert {h.language for h in env.search(SearchQuery(q=q, k=50, lang="fr")).hits} == {"fr"}
    assert env.search(SearchQuery(q=q, k=50, lang="en")).total == 0
    assert env.search(SearchQuery(q=q, k=50, seminar="some-seminar")).total == 0
    seminar = env.search(SearchQuery(q=q, k=50, seminar="2021-12-reintegration-developpement"))
    assert seminar.total > 0 and {h.filename for h in seminar.hits} == {RECORDING}
    assert env.search(SearchQuery(q=q, k=50, topic="gouvernance")).total == 0


def test_facets_count_the_documents_of_the_whole_pool_and_follow_filters(env):
    q = SearchQuery(q="réintégration des migrants de retour", k=3)
    res = env.search(q)
    payloads = pool_payloads(env, q)
    assert res.total == len(payloads) > len(res.hits)
    docs = {p["doc_id"]: p for p in payloads}  # one payload per document: they share its metadata
    assert len(docs) < len(payloads)  # some documents have several passages in the pool: they count once
    assert set(res.facets) == {"doc_type", "language", "country", "year", "topic"}
    assert res.facets["doc_type"] == dict(Counter(p["doc_type"] for p in docs.values()))
    assert res.facets["country"] == dict(Counter(c for p in docs.values() for c in p["countries"]))
    assert res.facets["year"] == dict(Counter(str(p["year"]) for p in docs.values() if p["year"] is not None))
    assert sum(res.facets["language"].values()) == sum(res.facets["doc_type"].values()) == len(docs)
    assert env.search(replace(q, group_by_document=True)).total == len(docs)
    assert res.facets["topic"] == {}
    assert res.facets == facet_counts(payloads)

    news = env.search(SearchQuery(q=q.q, k=3, doc_type="news"))
    assert set(news.facets["doc_type"]) == {"news"}
    assert news.facets["doc_type"]["news"] == res.facets["doc_type"]["news"] == 3 < news.total
    assert news.facets != res.facets


def test_facet_counts_count_a_document_once_per_value():
    payloads = [{"doc_id": "a", "doc_type": "news", "language": "fr", "countries": ["Mali", "Senegal"], "year": 2024},
                {"doc_id": "a", "doc_type": "news", "language": "en", "countries": ["Mali", "Senegal"], "year": 2024},
                {"doc_id": "a", "doc_type": "news", "language": "fr", "countries": ["Mali", "Senegal"], "year": 2024},
                {"doc_id": "b", "doc_type": "report", "language": "fr", "countries": ["Mali"], "year": None,
                 "topics": ["avrr"]}]
    assert facet_counts(payloads) == {
        "doc_type": {"news": 1, "report": 1}, "language": {"fr": 2, "en": 1}, "country": {"Mali": 2, "Senegal": 1},
        "year": {"2024": 1}, "topic": {"avrr": 1}}
    assert list(facet_counts(payloads)["language"]) == ["fr", "en"]  # most documents first


# ------------------------------------------------------------------------------- filter values as typed


def test_fold_makes_one_form_of_the_spellings_of_a_value():
    assert {fold(v) for v in ("Senegal", "senegal", "Sénégal", "SÉNÉGAL", "  SENEGAL ", "Se\u0301ne\u0301gal")} == {
        "senegal"}
    assert fold("Côte d’Ivoire") == fold("COTE D'IVOIRE") == "cote d'ivoire"
    assert fold("Guinea-Bissau") == fold("guinea  bissau") and fold("knowledge_paper") == fold("Knowledge paper")
    assert fold("Mali") != fold("Malawi") and fold("Niger") != fold("Nigeria")


def test_pick_takes_a_closed_value_in_any_case_and_names_the_allowed_ones():
    assert pick("type", "News", DOC_TYPES) == "news" and pick("type", " HANDBOOK ", DOC_TYPES) == "handbook"
    assert pick("type", None, DOC_TYPES) is None and pick("type", "", DOC_TYPES) is None
    assert pick("lang", "NL", ("fr", "en"), lambda: ["nl"]) == "nl"
    with pytest.raises(UnknownFilterValue) as err:
        pick("lang", "xx", ("fr", "en"), lambda: ["nl"])
    assert err.value.param == "lang" and err.value.allowed == ["en", "fr", "nl"]
    assert str(err.value) == "lang must be one of: en, fr, nl (not 'xx')"
    assert isinstance(err.value, ValueError)


def test_filter_values_resolve_to_what_the_index_holds(env):
    values = env.filters
    assert values.matching("countries", "SENEGAL") == ["Senegal"] == values.matching("countries", "sénégal")
    assert values.matching("countries", "Atlantis") == ["Atlantis"]  # nothing stored: kept, and finds nothing
    assert values.matching("countries", "") == [] and values.matching("countries", None) == []
    assert values.matching("topics", "Integrated-Approach") == ["integrated-approach"]
    assert values.matching("seminar_id", "2021-12-Réintégration-Développement") == [RECORDING_SEMINAR]
    assert values.language("FR") == "fr" and values.language("en") == "en" and values.doc_type("NEWS") == "news"
    with pytest.raises(UnknownFilterValue, match=r"^lang must be one of: ar, de, en, es, fr, it, pt \(not 'xx'\)$"):
        values.language("xx")
    with pytest.raises(UnknownFilterValue, match=r"type must be one of: handbook, knowledge_paper, news, other, "):
        values.doc_type("novel")
    with pytest.raises(ValueError, match="year"):
        values.matching("year", "2024")
    loads = values.loads
    values.matching("countries", "togo")
    assert values.loads == loads  # read once, until the catalog changes


def test_filters_match_in_any_case_and_accents(env):
    q = "réintégration des migrants de retour"
    exact = env.search(SearchQuery(q=q, k=50, country="Senegal"))
    assert exact.total > 0 and {h.filename for h in exact.hits} == {SENEGAL}
    for typed in ("senegal", "Sénégal", "SENEGAL", " sénégal "):
        res = env.search(SearchQuery(q=q, k=50, country=typed))
        assert [h.passage_id for h in res.hits] == [h.passage_id for h in exact.hits], typed
    assert env.search(SearchQuery(q=q, k=50, country="Atlantis")).total == 0

    news = env.search(SearchQuery(q=q, k=50, doc_type="news"))
    assert [h.passage_id for h in env.search(SearchQuery(q=q, k=50, doc_type="News")).hits] == [
        h.passage_id for h in news.hits]
    assert env.search(SearchQuery(q=q, k=50, lang="FR")).total == env.search(SearchQuery(q=q, k=50)).total
    seminar = env.search(SearchQuery(q=q, k=50, seminar=RECORDING_SEMINAR.upper()))
    assert seminar.total > 0 and {h.filename for h in seminar.hits} == {RECORDING}


def test_a_country_stored_with_accents_is_found_by_every_spelling(env):
    """Documents name countries as their metadata does: one says Senegal, another Sénégal; a filter finds both,
    and the stored values are re-read when the catalog changes."""
    from ingest.editing import edit_document

    q = "réintégration des migrants de retour"
    doc_id = env.catalog.documents_by_filename([XSS])[XSS]
    assert env.filters.matching("countries", "senegal") == ["Senegal"]
    edit_document(env.catalog, env.store, doc_id, {"countries": ["Sénégal"]})
    try:
        assert env.filters.matching("countries", "SENEGAL") == ["Senegal", "Sénégal"]
        for typed in ("senegal", "Sénégal", "SENEGAL", "Senegal"):
            res = env.search(SearchQuery(q=q, k=50, country=typed))
            assert {h.filename for h in res.hits} == {SENEGAL, XSS}, typed
            assert res.facets["country"] == {"Senegal": 1, "Sénégal": 1}, typed
    finally:
        edit_document(env.catalog, env.store, doc_id, {"countries": ["Mali"]})
    assert env.filters.matching("countries", "sénégal") == ["Senegal"]
    assert {h.filename for h in env.search(SearchQuery(q=q, k=50, country="sénégal")).hits} == {SENEGAL}


def test_group_by_document_gives_one_passage_per_document(env):
    res = env.search(SearchQuery(q="réintégration durable", k=10, group_by_document=True))
    ids = [h.doc_id for h in res.hits]
    assert len(ids) == len(set(ids)) == res.total == 8  # seven documents and the recording
    flat = env.search(SearchQuery(q="réintégration durable", k=50))
    best = list(dict.fromkeys(h.doc_id for h in flat.hits))
    assert ids == best  # each document's best passage, in the pool's order


def test_offset_paging_continues_the_first_page(env):
    q = "accompagnement des migrants de retour"
    whole = env.search(SearchQuery(q=q, k=10))
    page1 = env.search(SearchQuery(q=q, k=5))
    page2 = env.search(SearchQuery(q=q, k=5, offset=5))
    assert [h.passage_id for h in page1.hits + page2.hits] == [h.passage_id for h in whole.hits]
    assert page1.total == page2.total == whole.total
    beyond = env.search(SearchQuery(q=q, k=5, offset=whole.total))
    assert beyond.hits == [] and beyond.total == whole.total


def test_bad_queries_are_refused(env):
    for bad in (SearchQuery(q="  "), SearchQuery(q="x", mode="fuzzy"), SearchQuery(q="x", k=0),  # type: ignore[arg-type]
                SearchQuery(q="x", year_from=2024, year_to=2020), SearchQuery(q="x", lang="xx"),
                SearchQuery(q="x", doc_type="novel")):
        with pytest.raises(ValueError):
            env.search(bad)


# --------------------------------------------------------------------------------------------- highlights


def test_highlight_escapes_html_and_keeps_marks(env):
    res = env.search(SearchQuery(q="suivi de la réintégration à Kayes", k=3))
    hit = next(h for h in res.hits if h.filename == XSS)
    assert "<script>" in hit.text  # the stored text is the document's text
    assert "<script>" not in hit.highlight and "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.highlight
    assert "&amp;" in hit.highlight
    assert "<mark>Kayes</mark>" in hit.highlight and "<mark>suivi</mark>" in hit.highlight
    assert hit.highlight.count("<b>") == 1 and hit.highlight.count("</b>") == 1
    # Nothing but <mark> and <b> is markup: removing them and unescaping gives the text back.
    plain = hit.highlight
    for tag in ("<mark>", "</mark>", "<b>", "</b>"):
        plain = plain.replace(tag, "")
    assert html.unescape(plain) == hit.text
    c = hit.citation  # the link is built at the edge, from the kind and page
    assert citation_url(hit.doc_id, kind=c.kind, page=c.page, start=c.start) == f"/api/documents/{hit.doc_id}/file"


def test_highlight_matches_across_accents_and_marks_the_best_sentence(env):
    res = env.search(SearchQuery(q="reintegration", k=3, doc_type="handbook"))
    # the handbook's pages that say it (its "Public cible" page, a list of audiences, does not)
    marked = [h.highlight for h in res.hits if "réintégration" in h.text.lower()]
    assert len(marked) == 2
    assert all("<mark>RÉINTÉGRATION</mark>" in h or "<mark>réintégration</mark>" in h for h in marked)
    res = env.search(SearchQuery(q="combien de participants à l'atelier de Kpalimé ?", k=1))
    h = res.hits[0].highlight
    assert "<mark>Kpalimé</mark>" in h and "<mark>participants</mark>" in h
    bold = h[h.index("<b>"): h.index("</b>")]
    assert "<mark>atelier</mark>" in bold and "<mark>Kpalimé</mark>" in bold


def test_highlight_prefilter_marks_exactly_what_a_full_scan_marks(env):
    """The highlighter only analyses words whose folded first letters start a query term; on every corpus
    passage, for every evaluation question and a few words with ligatures and capitals, it marks the same
    words as analysing every word."""
    import json

    from search.searcher import Highlighter
    from tests.conftest import ROOT

    fast = env.highlighter
    full = Highlighter(env.sparse)
    full._prefixes = lambda terms: None  # every word
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.rglob("*.txt"))]
    texts.append("Les ŒUVRES sociales, l'œuvre des Cœurs ; ÆTHER, Straße et STRASSE. Réintégration durable.")
    lines = (ROOT / "tests" / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    questions += ["oeuvres sociales", "coeur", "aether", "strasse", "REINTÉGRATION DURABLE", "11.300 migrants"]
    compared = 0
    for q in questions:
        terms = fast.query_terms(q)
        for text in texts:
            assert fast.highlight(text, terms) == full.highlight(text, terms), (q, text[:60])
            compared += 1
    assert compared == len(questions) * len(texts) and fast._prefixes.cache_info().currsize > 1


# ----------------------------------------------------------------------------------------------- snippets

DEFINITION = ("On peut considérer que la réintégration est durable lorsque les personnes de retour ont atteint un "
              "niveau d’autosuffisance économique, de stabilité sociale et de bien-être psychosocial qui leur permet "
              "de prendre de futures décisions en matière de migration par choix et non par nécessité.")


def bold(marked: str) -> str:
    """The text inside the single <b> of a highlight or snippet, tags removed and unescaped."""
    assert marked.count("<b>") == 1 and marked.count("</b>") == 1, marked
    return plain(marked[marked.index("<b>"): marked.index("</b>")])


def plain(marked: str) -> str:
    for tag in ("<mark>", "</mark>", "<b>", "</b>"):
        marked = marked.replace(tag, "")
    return html.unescape(marked)


def test_snippet_is_the_defining_sentence_not_the_heading(env):
    """The flagship question: the handbook passage starts with headings that hold "réintégration"; its snippet and
    its highlight bold the defining sentence, the one whose vector is closest to the question."""
    top = env.search(SearchQuery(q="When can reintegration be considered sustainable?", k=10)).hits[0]
    assert top.filename == HANDBOOK and top.text.startswith("Module 1: UNE APPROCHE INTÉGRÉE DE LA RÉINTÉGRATION")
    assert bold(top.snippet) == DEFINITION and bold(top.highlight) == DEFINITION
    assert "Module 1" not in plain(top.snippet) and "Principaux messages" not in plain(top.snippet)
    assert "<mark>réintégration</mark>" in top.snippet
    assert plain(top.highlight) == top.text  # the highlight is still the whole passage
    top = env.search(SearchQuery(q="Quand la réintégration est-elle considérée comme durable ?", k=1)).hits[0]
    assert bold(top.snippet) == DEFINITION == bold(top.highlight)


def test_snippets_are_short_whole_sentences_of_the_passage(env):
    res = env.search(SearchQuery(q="réintégration des migrants de retour", k=20))
    for h in res.hits:
        text = plain(h.snippet)
        assert 0 < len(text) <= SNIPPET_CHARS + 2, h.snippet  # + the ellipses of a cut sentence
        squeezed = " ".join(h.text.split())
        for piece in text.strip(ELLIPSIS).split(ELLIPSIS):
            assert " ".join(piece.split()) in squeezed, (piece, h.text)  # sentences of the passage, in its order
        assert bold(h.snippet) in bold(h.highlight)  # the same best sentence (cut when overlong)
    assert any(h.snippet.endswith(ELLIPSIS) for h in res.hits)  # a sentence over the limit, cut at a word


def test_snippet_escapes_html(env):
    hit = next(h for h in env.search(SearchQuery(q="suivi de la réintégration à Kayes", k=3)).hits if h.filename == XSS)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.snippet and "<script>" not in hit.snippet
    assert "&amp;" in hit.snippet and "<mark>Kayes</mark>" in hit.snippet
    assert set(re.findall(r"<[^>]*>", hit.snippet)) <= {"<b>", "</b>", "<mark>", "</mark>"}


def test_snippet_in_keyword_mode_is_the_sentence_with_most_terms_never_a_heading(env):
    """Keyword search computes no question vector: the best sentence is the one holding the most query terms,
    among the passage's stored sentences, which leave the headings out (the first heading holds all three)."""
    q = SearchQuery(q="approche intégrée de la réintégration", k=5, mode="keyword", doc_type="handbook")
    top = next(h for h in env.search(q).hits if h.text.startswith("Module 1: UNE APPROCHE INTÉGRÉE DE LA RÉINTÉGRATION"))
    assert top.highlight.startswith("Module 1: UNE <mark>APPROCHE</mark> <mark>INTÉGRÉE</mark> DE LA "
                                     "<mark>RÉINTÉGRATION</mark>\n")  # marked, not bold
    first = ("La migration de retour peut s’effectuer dans des conditions variées, ce qui crée des difficultés et "
             "ouvre des perspectives en ce qui concerne le processus de réintégration.")  # its first sentence
    assert bold(top.snippet) == first == bold(top.highlight)
    assert "UNE APPROCHE" not in plain(top.snippet)


ENGLISH = "follow-up-gambia.txt"
ENGLISH_TEXT = """Follow-up of returnees in the Gambia

Monitoring visits

The programme in the Gambia follows each returnee for twelve months after arrival. Case workers visit returnees at \
home three times during that year. Each returnee who starts a small business receives a grant of 1,200 euros, paid \
in two instalments. Surveys at six and twelve months record income, housing, health and the wish to migrate again. \
Most returnees said that the visits helped them settle back into their communities. Community leaders were invited \
to the final meeting of each group.
"""


@pytest.fixture(scope="module")
def english(tmp_path_factory, shared_embedders):
    """A store holding one short English report, ingested with the real pipeline."""
    root = tmp_path_factory.mktemp("english")
    folder = root / "docs"
    folder.mkdir()
    (folder / ENGLISH).write_text(ENGLISH_TEXT, encoding="utf-8")
    (folder / "follow-up-gambia.meta.yaml").write_text("type: report\ndate: 2023\ncountry: Gambia\nlanguage: en\n")
    settings = Settings(data_dir=root / "data", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    with Indexer(settings, catalog, store) as indexer:
        assert [r.status for r in indexer.run([folder])] == ["new"]
    searcher = Searcher(settings, catalog, store, text_embedder=shared_embedders[1])
    searcher.warm_up()
    yield searcher
    store.close()
    catalog.close()


@pytest.mark.parametrize("question, answer", [
    ("Quel montant reçoit chaque personne qui crée une petite entreprise ?",
     "Each returnee who starts a small business receives a grant of 1,200 euros, paid in two instalments."),
    ("Combien de fois les conseillers se rendent-ils au domicile des personnes revenues ?",
     "Case workers visit returnees at home three times during that year."),
])
def test_french_question_marks_the_answering_sentence_of_an_english_passage(english, question, answer):
    hit = english.search(SearchQuery(q=question, k=1)).hits[0]
    assert hit.filename == ENGLISH and hit.language == "en"
    assert "<mark>" not in hit.snippet  # no word in common: the sentence is found by its vector
    assert bold(hit.snippet) == answer == bold(hit.highlight)
    assert len(plain(hit.snippet)) > len(answer)  # with a neighbour, the next sentence first
    assert plain(hit.snippet).startswith(answer)


def test_snippet_without_stored_sentences_falls_back_to_terms_and_skips_headings(english):
    """Passages indexed without sentence spans (older indexes, recordings without them) or without vectors: the
    sentence holding the most query terms, the heading lines the passage starts with never counted."""
    from kmh.store.base import SPANS_FIELD

    q = "follow-up of returnees in the Gambia"  # the title line holds every term
    expected = "The programme in the Gambia follows each returnee for twelve months after arrival."
    for mode in ("keyword", "hybrid"):
        hit = english.search(SearchQuery(q=q, k=1, mode=mode)).hits[0]
        assert bold(hit.snippet) == expected == bold(hit.highlight), mode
    (pid,) = english.store.ids()
    spans = english.store.retrieve([pid], fields=(SPANS_FIELD,))[0].payload[SPANS_FIELD]
    assert len(spans) == 2 * 6  # six sentences, the two headings left out
    english.store.set_payload([pid], {SPANS_FIELD: []})
    try:
        for mode in ("keyword", "hybrid"):
            hit = english.search(SearchQuery(q=q, k=1, mode=mode)).hits[0]
            assert bold(hit.snippet) == expected == bold(hit.highlight), mode
            assert "Monitoring visits" not in plain(hit.snippet)
        # a question no word of which is in the passage: its opening sentences, nothing in bold
        hit = english.search(SearchQuery(q="Quel montant pour créer une petite entreprise ?", k=1)).hits[0]
        assert "<b>" not in hit.snippet and plain(hit.snippet).startswith("The programme in the Gambia follows")
    finally:
        english.store.set_payload([pid], {SPANS_FIELD: spans})


def test_snippet_pieces(env):
    """The window takes the next sentence first, then the previous one, within the limit and never across a
    heading; an overlong sentence is cut at a word, around its first marked word; bad spans are ignored."""
    from search.snippets import best_by_vector, cut, stored_spans, window

    text = "Titre\n\nUne phrase. Deux phrases ici. Trois.\n\nAutre titre\n\nQuatre phrases."
    spans = [(text.index(s), text.index(s) + len(s)) for s in ("Une", "Deux", "Trois", "Quatre")]
    spans = [(a, text.index(".", a) + 1) for a, _ in spans]
    assert [text[a:b] for a, b in spans] == ["Une phrase.", "Deux phrases ici.", "Trois.", "Quatre phrases."]
    assert window(text, spans, 1) == spans[0:3]
    assert window(text, spans, 1, limit=25) == spans[1:3]  # the next one first
    assert window(text, spans, 2) == spans[0:3]  # not across "Autre titre"
    assert window(text, spans, 3) == spans[3:]
    assert stored_spans([*spans[0], *spans[1]], text) == spans[:2]
    for bad in (None, [], [7], [*spans[1], *spans[0]], [7, 999], ["7", "18"]):
        assert stored_spans(bad, text) == []
    long = "Le début " + "mot " * 100 + "Kayes est cité ici, " + "puis " * 60 + "la fin."
    marks = env.highlighter.marks(long, env.highlighter.query_terms("Kayes"))
    a, b = cut(long, (0, len(long)), marks, limit=120)
    assert b - a <= 120 and a <= marks[0][0] and marks[0][1] <= b and long[a - 1] == " " and long[b] == " "
    unit = np.eye(4, dtype=np.float32)
    assert best_by_vector(unit[2], [unit[0], unit[1], unit[2]], 2) == 1
    assert best_by_vector(unit[2], [unit[0], unit[1], unit[2]], 3) is None  # vectors and spans disagree


# ---------------------------------------------------------------------------------------------- relevance


@pytest.mark.parametrize("question, filename, needle", [
    ("How many migrants in Morocco have benefited from assisted voluntary return since 2005?", MOROCCO, "11.300"),
    ("How many national actors were trained at the workshop in Saly, Senegal?", SENEGAL, "36 acteurs"),
    ("How many participants attended the reintegration governance workshop in Togo?", TOGO, "14 participants"),
    ("When did the interregional seminar on reintegration and sustainable development take place?", SEMINAR,
     "décembre 2021"),
])
def test_english_questions_find_french_documents(env, question, filename, needle):
    res = env.search(SearchQuery(q=question, k=3))
    assert res.hits[0].filename == filename, [(h.filename, h.text[:60]) for h in res.hits]
    assert any(needle in h.text for h in res.hits if h.filename == filename)


def test_french_question_finds_the_passage(env):
    res = env.search(SearchQuery(q="combien de participants à l'atelier de Kpalimé ?", k=3))
    assert res.hits[0].filename == TOGO and "14 participants" in res.hits[0].text


def test_sustainable_reintegration_definition(env):
    """The handbook passage defining sustainable reintegration answers the question.

    Over the whole corpus the passage embeddings rank the news pages about "réintégration durable" above it; its
    defining sentence is the best-matching sentence of the corpus, so the sentence ranking puts it first
    (docs/evaluation.md). Among handbooks, or in French, it comes first either way.
    """
    q = "When can reintegration be considered sustainable?"
    top = env.search(SearchQuery(q=q, k=1)).hits[0]
    assert top.filename == HANDBOOK and "autosuffisance économique" in top.text
    without = Searcher(env.settings.model_copy(update={"sentence_ranking": False, "translation_weight": 0.0}),
                       env.catalog, env.store, text_embedder=env.embedder, sparse=env.sparse)
    res = without.search(SearchQuery(q=q, k=10, group_by_document=True))
    assert HANDBOOK in [h.filename for h in res.hits[:5]] and res.hits[0].filename != HANDBOOK
    # With the dictionary translation of the keyword query (considérer, regarder, maintenir...) it comes first too.
    translated = Searcher(env.settings.model_copy(update={"sentence_ranking": False}), env.catalog, env.store,
                          text_embedder=env.embedder, sparse=env.sparse)
    assert translated.search(SearchQuery(q=q, k=1)).hits[0].filename == HANDBOOK
    top = env.search(SearchQuery(q=q, k=1, doc_type="handbook")).hits[0]
    assert top.filename == HANDBOOK and "autosuffisance économique" in top.text
    top = env.search(SearchQuery(q="Quand la réintégration est-elle considérée comme durable ?", k=1)).hits[0]
    assert top.filename == HANDBOOK and "autosuffisance économique" in top.text


# ------------------------------------------------------------------------------------------------ passage


def test_passage_returns_its_neighbours_in_order(env):
    res = env.search(SearchQuery(q="quatrième et dernière session sur les besoins des communautés", k=1))
    hit = res.hits[0]
    assert hit.filename == SEMINAR
    got = env.passage(hit.passage_id, neighbours=2)
    assert got is not None
    main, before, after = got
    assert main.passage_id == hit.passage_id and main.score == 0.0 and main.highlight == html.escape(main.text)
    # read without a question: its opening sentences, nothing marked
    assert main.snippet and "<b>" not in main.snippet and "<mark>" not in main.snippet
    assert " ".join(plain(main.snippet).split()) in " ".join(main.text.split())
    seq = before + [main] + after
    starts = [h.citation.start for h in seq]
    assert starts == sorted(starts) and len(seq) >= 3
    assert all(h.doc_id == hit.doc_id for h in seq)
    assert 1 <= len(before) <= 2 and len(after) <= 2
    first = env.passage(before[0].passage_id, neighbours=1)
    assert first is not None and (first[2][0].passage_id == (before[1:] + [main])[0].passage_id)
    assert env.passage("00000000-0000-0000-0000-000000000000") is None
    assert env.passage("not-a-uuid") is None


# ------------------------------------------------------------------------------------------- cache, etc.


def test_query_cache_avoids_re_embedding(env):
    before = env.embed_calls
    q = "cache: combien de migrants au Maroc ?"
    first = env.search(SearchQuery(q=q, k=3))
    assert env.embed_calls == before + 1
    for kw in ({}, {"offset": 1}, {"doc_type": "news"}, {"group_by_document": True}):
        env.search(SearchQuery(q=q, k=3, **kw))
    env.search(SearchQuery(q=q, k=3, mode="keyword"))
    assert env.embed_calls == before + 1
    assert [h.passage_id for h in env.search(SearchQuery(q=q, k=3)).hits] == [h.passage_id for h in first.hits]
    env.search(SearchQuery(q=q + " ?", k=3))
    assert env.embed_calls == before + 2


def test_concurrent_searches_agree(env):
    from concurrent.futures import ThreadPoolExecutor

    qs = ["atelier de Saly", "AVRR au Maroc", "séminaire interrégional 2021", "Kpalimé"] * 3
    expected = {q: [h.passage_id for h in env.search(SearchQuery(q=q, k=5)).hits] for q in set(qs)}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda q: (q, [h.passage_id for h in env.search(SearchQuery(q=q, k=5)).hits]), qs))
    assert all(ids == expected[q] for q, ids in got)


def test_results_serialise(env):
    res = env.search(SearchQuery(q="AVRR au Maroc", k=2))
    d = res.to_dict()
    assert set(d) >= {"hits", "facets", "total", "query"} and d["query"]["q"] == "AVRR au Maroc"
    assert set(d["hits"][0]) >= {"passage_id", "doc_id", "title", "doc_type", "language", "filename", "published",
                                 "text", "highlight", "snippet", "score", "citation"}
    # no link: the API builds it at its edge (api.urls); the kind says which link it is
    assert set(d["hits"][0]["citation"]) == {"page", "section", "start", "end", "kind", "seminar_id", "session",
                                             "speaker", "timestamp", "web_url", "window_start", "window_end"}
    assert d["hits"][0]["citation"]["web_url"] is None  # not imported from a website (tests/integration/test_crawl.py)
    assert d["hits"][0]["citation"]["kind"] in ("document", "recording")


# ----------------------------------------------------------------------------------------------- reranker


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> Path:
    """A 2-layer BERT cross-encoder with random weights and the e5 tokenizer, saved locally."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-ce")
    tok = AutoTokenizer.from_pretrained(MODELS / "multilingual-e5-small", local_files_only=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def reranking_searcher(env: Searcher, model: Path, top: int = 5) -> Searcher:
    settings = env.settings.model_copy(update={"reranker_model": model, "rerank_top": top})
    s = Searcher(settings, env.catalog, env.store, text_embedder=env.embedder, sparse=env.sparse)
    s.warm_up()
    return s


def test_reranker_decides_the_order_of_the_top_candidates(env, tiny_cross_encoder, monkeypatch):
    q = "réintégration durable des migrants de retour"
    plain = env.search(SearchQuery(q=q, k=8))
    rr = reranking_searcher(env, tiny_cross_encoder, top=5)
    assert rr.reranker is not None
    seen_pairs = []

    def predict(pairs, **kw):
        seen_pairs.extend(pairs)
        return [float(i) for i in range(len(pairs))]  # the 5th candidate best, the 1st worst

    monkeypatch.setattr(rr.reranker, "predict", predict)
    res = rr.search(SearchQuery(q=q, k=8))
    assert len(seen_pairs) == 5 and all(p[0] == q for p in seen_pairs)
    ids = [h.passage_id for h in plain.hits]
    assert [h.passage_id for h in res.hits[:5]] == ids[:5][::-1]
    assert [h.passage_id for h in res.hits[5:]] == ids[5:]  # below the reranked top: the fused order
    assert [h.score for h in res.hits[:5]] == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert res.total == plain.total and res.facets == plain.facets


def test_real_tiny_cross_encoder_runs_end_to_end(env, tiny_cross_encoder):
    rr = reranking_searcher(env, tiny_cross_encoder, top=6)
    q = "atelier de Saly"
    res = rr.search(SearchQuery(q=q, k=6))
    plain = env.search(SearchQuery(q=q, k=6))
    assert {h.passage_id for h in res.hits} == {h.passage_id for h in plain.hits}
    pairs = [(q, f"{h.title}\n{h.text}") for h in res.hits]
    expected = [float(s) for s in rr.reranker.predict(pairs, show_progress_bar=False)]
    assert [h.score for h in res.hits] == pytest.approx(expected, abs=1e-5)
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)


# ------------------------------------------------------------------------------------------------ no match

OFF_TOPIC = ("What is the recipe for apple pie?", "Recette de la tarte aux pommes",
             "Who won the 1998 football world cup?", "Quelle est la recette de la tarte aux pommes ?")


@pytest.mark.parametrize("q", OFF_TOPIC)
def test_a_question_nothing_answers_is_told_so(env, q):
    res = env.search(SearchQuery(q=q))
    assert res.no_match and res.hits == [] and res.total == 0 and res.facets["doc_type"] == {}
    closest = env.search(SearchQuery(q=q, include_weak=True))
    assert closest.no_match and closest.total == 0 and closest.available > 0
    assert closest.hits and all(h.weak for h in closest.hits)
    assert all(h.relevance is not None and h.relevance < 0.85 for h in closest.hits)
    # keyword search has no cosine to judge by: it lists what its terms match, none of it weak
    keyword = env.search(SearchQuery(q=q, mode="keyword"))
    assert keyword.no_match == (not keyword.hits) and not any(h.weak for h in keyword.hits)


def test_an_answered_question_keeps_its_whole_ranking_and_counts_what_clears_the_floor(env):
    res = env.search(SearchQuery(q="When can reintegration be considered sustainable?"))
    assert not res.no_match and not res.hits[0].weak and res.hits[0].filename == HANDBOOK
    assert 1 <= res.total <= res.available and res.available >= len(res.hits)
    assert sum(not h.weak for h in res.hits) <= res.total
    # every factoid question of the sample set keeps its answer (the floor was calibrated not to silence them)
    for q in ("How many national actors were trained at the workshop in Saly, Senegal?",
              "Combien d'acteurs nationaux ont participé à l'atelier de Saly ?"):
        found = env.search(SearchQuery(q=q, group_by_document=True))
        assert not found.no_match and SENEGAL in [h.filename for h in found.hits[:3]]
