"""Ingestion and search end to end: the real e5 model, the real embedded Qdrant, the sample corpus."""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.indexer import Indexer
from kmh.runtime import open_catalog, open_vector_store
from kmh.settings import Settings
from kmh.store import Filter, Hit
from search.searcher import Searcher
from tests.conftest import CORPUS, MODELS
from tests.helpers import HANDBOOK, make_docx, make_pdf

SALY = "Combien d'acteurs nationaux ont participé à l'atelier de Saly ?"
MOROCCO = "How many migrants in Morocco have benefited from assisted voluntary return since 2005?"


class Env:
    """A data folder with its catalog, store, indexer and searcher open."""

    def __init__(self, data: Path, **settings):
        # Components are new for each pipeline; the model behind them is loaded once (shared_embedders).
        self.settings = Settings(data_dir=data, models_dir=MODELS, **settings)
        self.catalog = open_catalog(self.settings)
        self.store = open_vector_store(self.settings)
        self.indexer = Indexer(self.settings, self.catalog, self.store)
        self.searcher = Searcher(self.settings, self.catalog, self.store)
        self.indexer.warm_up()
        self.searcher.warm_up()

    def close(self):
        self.indexer.close()
        self.store.close()
        self.catalog.close()


@pytest.fixture(scope="module")
def corpus_env(tmp_path_factory, shared_embedders):
    env = Env(tmp_path_factory.mktemp("corpus") / "data")
    results = env.indexer.run([CORPUS])
    assert [r.status for r in results] == ["new"] * 9, [(r.path.name, r.reason) for r in results]
    yield env
    env.close()


@pytest.fixture
def env(isolated_data, shared_embedders):
    e = Env(isolated_data)
    yield e
    e.close()


def test_saly_question_finds_the_senegal_communique_first(corpus_env):
    hits = corpus_env.searcher.search(SALY, k=5)
    top = hits[0]
    assert top.filename == "senegal-saly-atelier-approche-integree-2024.txt"
    assert "36" in top.text and "Saly" in top.text
    assert top.title.startswith("Renforcer la durabilité de la réintégration")
    assert top.citation.start is not None and top.citation.end > top.citation.start


def test_english_question_finds_the_french_morocco_passage(corpus_env):
    hits = corpus_env.searcher.search(MOROCCO, k=3)
    assert any(h.filename == "maroc-avrr-foras-11300-migrants.txt" and "11.300" in h.text for h in hits), [
        (h.filename, h.text[:80]) for h in hits
    ]


def test_passages_are_stored_with_their_sentence_vectors(corpus_env):
    """The multivector holds the passage's own vector and one per sentence, each sentence encoded on its own:
    MaxSim is the best of their cosines. Recomputed here with the float32 PyTorch reference, so the stored
    (bfloat16 OpenVINO) vectors are checked against an independent path."""
    from haystack import Document

    from ingest.chunking import Chunker
    from ingest.components.passages import PassageEmbedder
    from ingest.parsers import parse_file
    from kmh.encoder import TokenEncoder

    q = "When can reintegration be considered sustainable"
    settings, searcher, store = corpus_env.settings, corpus_env.searcher, corpus_env.store
    qv = np.asarray(searcher.embed_query(q))
    top = searcher.search(q, k=1).hits[0]
    assert top.filename == HANDBOOK
    (stored,) = store.retrieve([top.passage_id])
    assert "sentences" not in stored.payload and "sentence_vectors" not in stored.payload  # ingestion only
    (scored,) = store._by_sentences(qv.tolist(), [[Hit(top.passage_id, 0.0, {})]])
    passage = next(h for h in store.search(dense=qv.tolist(), mode="dense", limit=50) if h.id == top.passage_id)
    parsed = parse_file(next(CORPUS.rglob(HANDBOOK)), max_bytes=settings.max_file_bytes)
    chunker = Chunker(settings.chunk_min_words, settings.chunk_max_words, settings.chunk_overlap_words)
    (chunk,) = [p for p in chunker.split(parsed.blocks, "fr")[1] if p.start == top.citation.start]
    meta = {k: stored.payload[k] for k in ("title", "section") if stored.payload.get(k)}
    reference = PassageEmbedder(TokenEncoder(settings.embedding_model_path, backend="torch"), sentences="separate")
    (doc,) = reference.run(documents=[Document(content=chunk.text, meta={**meta, "sentences": chunk.sentences})])[
        "documents"]
    own, *sentences = doc.meta["sentence_vectors"]
    assert len(sentences) == len(chunk.sentences) > 1
    assert float(qv @ np.asarray(own)) == pytest.approx(passage.score, abs=2e-3)
    best = max(float(qv @ np.asarray(v)) for v in sentences)
    assert scored.score == pytest.approx(max(best, passage.score), abs=4e-3)
    assert best > passage.score  # the defining sentence answers better than the whole passage


def test_sentence_ranking_can_be_switched_off(tmp_path):
    off = Env(tmp_path / "data", sentence_ranking=False)
    try:
        assert off.indexer.pipeline.get_component("embedder").sentences is None
        (r,) = off.indexer.run([CORPUS / "handbooks"])
        assert r.status == "new" and off.store.has_sentences
        ids = [h.id for h in off.store.scroll()[0]]
        assert off.store._by_sentences([0.1] * 384, [[Hit(i, 0.0, {}) for i in ids]]) == []  # none written
        hits = off.searcher.search("When can reintegration be considered sustainable?", k=2)
        assert hits[0].filename == HANDBOOK
    finally:
        off.close()


def test_an_index_without_sentence_vectors_keeps_working(tmp_path, caplog):
    """An embedded index created before the sentence vectors existed is opened, written and searched as before."""
    import qdrant_edge as qe

    from kmh.store.base import DENSE, SPARSE

    index = tmp_path / "data" / "index"
    index.mkdir(parents=True)
    config = qe.EdgeConfig(vectors={DENSE: qe.EdgeVectorParams(size=384, distance=qe.Distance.Cosine)},
                           sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)})
    qe.EdgeShard.create(str(index), config).close()
    with caplog.at_level(logging.WARNING):
        old = Env(tmp_path / "data")
    try:
        assert not old.store.has_sentences and old.indexer.pipeline.get_component("embedder").sentences is None
        assert sum("re-create the index" in r.getMessage() for r in caplog.records) == 2  # indexer and searcher
        (r,) = old.indexer.run([CORPUS / "handbooks"])
        assert r.status == "new"
        hits = old.searcher.search("When can reintegration be considered sustainable?", k=2)
        assert hits[0].filename == HANDBOOK
    finally:
        old.close()


def test_every_mode_returns_cited_passages(corpus_env):
    for mode in ("hybrid", "dense", "keyword"):
        hits = corpus_env.searcher.search("approche intégrée de la réintégration", k=5, mode=mode)
        assert hits, mode
        assert all(h.doc_id and h.title and h.text for h in hits)


def test_the_sample_scan_is_read_by_ocr_and_marked(corpus_env):
    """The sample corpus's scanned field note (image-only pages made by make setup) is found, cited at its page and
    marked as OCR text with its confidence."""
    hits = corpus_env.searcher.search("le travail en groupe à l'atelier réduit la stigmatisation au retour", k=3)
    top = hits[0]
    assert top.filename == "note-de-terrain-suivi-reintegration-scan.pdf" and top.citation.page == 1
    assert top.ocr is not None and top.ocr >= 85 and "stigmatisation" in top.text
    hits = corpus_env.searcher.search("formation sur la gestion d'une petite entreprise et l'accès au marché", k=3)
    assert hits[0].filename == top.filename and hits[0].citation.page == 2 and hits[0].ocr >= 85
    handbook = corpus_env.searcher.search("approche intégrée de la réintégration", k=10)
    assert all(h.ocr is None for h in handbook if h.filename != top.filename)


def test_catalog_holds_sidecar_metadata_and_passage_counts(corpus_env):
    rows, total = corpus_env.catalog.list()
    assert total == 7  # six documents and the seminar's recording
    by_file = {r.filename: r for r in rows}
    recording = by_file["seminaire-2021-12-reintegration-developpement.mp3"]
    assert recording.doc_type == "recording" and recording.mime == "audio/mpeg" and recording.language == "fr"
    senegal = by_file["senegal-saly-atelier-approche-integree-2024.txt"]
    assert senegal.doc_type == "news" and senegal.language == "fr"
    assert senegal.countries == ["Senegal"] and str(senegal.published) == "2024-03-01"
    assert senegal.published_precision == "month"  # the sidecar says 2024-03
    assert senegal.source == "OIM Sénégal, communiqué" and senegal.programme == "MPRR-SSA"
    assert by_file["page-seminaire.txt"].doc_type == "seminar_page"
    assert by_file["manuel-reintegration-module-1-approche-integree.pdf"].doc_type == "handbook"
    for r in rows:
        assert r.passage_count == corpus_env.store.count(Filter(equals={"doc_id": r.id})) > 0
        assert (corpus_env.settings.data_dir / r.original_path).exists()


def test_second_run_ingests_nothing(corpus_env):
    before = corpus_env.store.count()
    results = corpus_env.indexer.run([CORPUS])
    assert {r.status for r in results} == {"unchanged"}
    assert corpus_env.store.count() == before


def test_changed_file_replaces_its_passages(env, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    f = src / "note.txt"
    f.write_text("Note de terrain\n\n" + "Les coopératives de pêche de Saint-Louis emploient des migrants de retour. " * 30)
    (first,) = env.indexer.run([f])
    assert first.status == "new"
    f.write_text("Note de terrain\n\n" + "Les ateliers de couture de Thiès forment des femmes revenues du Maroc. " * 30)
    (second,) = env.indexer.run([f])
    assert second.status == "updated" and second.doc_id == first.doc_id
    doc = env.catalog.get(first.doc_id)
    assert doc.version == 2 and len(env.catalog.history(first.doc_id)) == 2
    assert env.store.count(Filter(equals={"doc_id": first.doc_id})) == doc.passage_count
    assert env.store.count(Filter(equals={"doc_id": first.doc_id, "doc_version": 1})) == 0
    hits = env.searcher.search("coopératives de pêche Saint-Louis", k=5, mode="keyword")
    assert all("pêche" not in h.text for h in hits)
    hits = env.searcher.search("ateliers de couture à Thiès", k=1)
    assert "couture" in hits[0].text


def test_pdf_passages_cite_their_page_and_section(env, tmp_path):
    pdf = make_pdf(tmp_path / "rapport-terrain.pdf")
    (r,) = env.indexer.run([pdf])
    assert r.status == "new", r.reason
    doc = env.catalog.get(r.doc_id)
    assert doc.page_count == 3 and doc.format == "pdf"
    hits = env.searcher.search("groupes de parole et soutien psychologique", k=1)
    assert hits[0].citation.page == 2
    assert hits[0].citation.section == "Appui psychosocial"
    hits = env.searcher.search("apiculture et maraîchage, subvention pour les ruches", k=1)
    assert hits[0].citation.page == 3 and hits[0].citation.section == "Microentreprises agricoles"


def test_docx_passages_cite_their_heading_trail(env, tmp_path):
    path = make_docx(tmp_path / "rapport-annuel.docx")
    (r,) = env.indexer.run([path])
    assert r.status == "new", r.reason
    hits = env.searcher.search("formation en mécanique automobile et emploi dans les garages", k=1)
    assert hits[0].citation.section == "Rapport annuel › Réintégration économique"
    assert hits[0].citation.page is None
    text = hits[0].text
    assert "mécanique automobile" in text


def test_corpus_files_keep_their_names_in_citations(env, tmp_path):
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS / "handbooks", copy)
    env.indexer.run([copy])
    hits = env.searcher.search("When can reintegration be considered sustainable?", k=3)
    assert hits[0].filename == "manuel-reintegration-module-1-approche-integree.pdf"
    assert "autosuffisance économique" in " ".join(h.text for h in hits)


def test_the_ingest_path_is_one_pipeline(env):
    """Chunking, the decisions carried over, BM25, embedding, writing and topic suggestion are components of one
    Haystack pipeline, which serialises."""
    pipeline = env.indexer.pipeline
    assert set(pipeline.graph.edges(data=False)) == {
        ("chunker", "joiner"), ("transcripts", "joiner"), ("joiner", "decisions"), ("decisions", "sparse"),
        ("sparse", "embedder"), ("embedder", "writer"), ("embedder", "topics")}
    data = pipeline.to_dict()
    assert data["components"]["chunker"]["init_parameters"]["max_words"] == env.settings.chunk_max_words
    assert data["components"]["embedder"]["init_parameters"]["sentences"] == env.settings.sentence_vectors
    assert env.indexer.topics.component is pipeline.get_component("topics")


def test_a_rebuild_with_another_cut_leaves_no_stale_passage(env, tmp_path):
    """`kmh check --repair` embeds a document again from its original; with other chunk settings it has fewer
    passages, and those past the new last one go."""
    f = tmp_path / "rapport.txt"
    f.write_text("Rapport de mission\n\n" + " ".join(
        f"À Kayes, la coopérative numéro {i} forme des jeunes revenus d'Algérie au maraîchage." for i in range(60)))
    (r,) = env.indexer.run([f])
    version = Filter(equals={"doc_id": r.doc_id, "doc_version": 1})
    assert r.status == "new" and r.passages == env.store.count(version) >= 4
    wide = Settings(data_dir=env.settings.data_dir, models_dir=MODELS, chunk_min_words=400, chunk_max_words=800,
                    chunk_overlap_words=0)
    with Indexer(wide, env.catalog, env.store) as other:
        other.warm_up()
        n = other.rebuild(env.catalog.get(r.doc_id))
    assert 1 <= n < r.passages
    assert env.store.count(version) == n == env.catalog.get(r.doc_id).passage_count
    assert sorted(c.passage_id for c in env.catalog.checks_of(r.doc_id, 1)) == sorted(env.store.ids(version))


def test_identical_files_in_one_run_are_indexed_once(env, tmp_path):
    folder = tmp_path / "twins"
    folder.mkdir()
    body = "Note\n\n" + "Les centres de formation de Kayes accueillent des jeunes revenus d'Algérie. " * 25
    (folder / "a.txt").write_text(body)
    (folder / "b.txt").write_text(body)
    results = sorted(env.indexer.run([folder]), key=lambda r: r.path.name)
    assert [r.status for r in results] == ["new", "unchanged"]
    assert results[1].doc_id == results[0].doc_id and "a.txt" in results[1].reason
    assert env.catalog.list()[1] == 1


def test_qdrant_client_backend_gives_the_same_results(corpus_env, tmp_path, monkeypatch):
    """The same corpus through qdrant-client (local mode standing in for a server) ranks like the embedded store."""
    monkeypatch.setenv("KMH_STORE_BACKEND", "qdrant")
    monkeypatch.setenv("KMH_QDRANT_URL", str(tmp_path / "qdrant-local"))
    other = Env(tmp_path / "data")
    try:
        assert other.settings.store_backend == "qdrant"
        assert [r.status for r in other.indexer.run([CORPUS])] == ["new"] * 9
        for query in (SALY, MOROCCO, "approche intégrée de la réintégration", "séminaire interrégional 2021"):
            for mode in ("hybrid", "dense", "keyword"):
                ours = corpus_env.searcher.search(query, k=5, mode=mode)
                theirs = other.searcher.search(query, k=5, mode=mode)
                assert _same_ranking(_ranking(ours), _ranking(theirs)), (query, mode, _ranking(ours), _ranking(theirs))
    finally:
        other.close()


def _ranking(hits) -> list[tuple[float, frozenset | int]]:
    """Scores in order, and which passages share each score: exact ties are broken by point id,
    and ids differ between two catalogs, so tied passages may come in either order."""
    groups: dict[float, set] = {}
    for h in hits:
        groups.setdefault(h.score, set()).add((h.filename, h.citation.start))
    last = hits[-1].score
    return [(score, frozenset(items) if score != last else len(items)) for score, items in groups.items()]


def _same_ranking(a, b) -> bool:
    """Same passages in the same order, scores equal to 1e-3 relative: the embedded store keeps sentence
    vectors in half precision, local mode in float32, which moves DBSF scores in the 4th digit."""
    return len(a) == len(b) and all(
        ia == ib and math.isclose(sa, sb, rel_tol=1e-3) for (sa, ia), (sb, ib) in zip(a, b))