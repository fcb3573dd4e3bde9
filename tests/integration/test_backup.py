"""Backup and restore: the sample corpus backed up and restored into an empty data folder answers every search
the same, with the same catalog rows and originals; bad archives and non-empty targets are refused and change
nothing; a backup of the embedded store restores into qdrant-client's local mode. Real model, real stores."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from ingest.indexer import Indexer
from kmh.backup import MANIFEST, MANIFEST_SUM, MARKER, BackupError, backup, restore
from kmh.catalog import Catalog, CrawlPageRecord, SearchLogRecord
from kmh.catalog.models import Base, Document, DocumentVersion
from cli.main import app
from kmh.runtime import open_catalog, open_vector_store
from kmh.settings import Settings
from search.searcher import Searcher, SearchQuery
from tests.conftest import CORPUS, MODELS
from tests.helpers import api_key, bearer



def _head() -> str:
    from alembic.script import ScriptDirectory

    from kmh.catalog import MIGRATIONS_DIR

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


HEAD = _head()  # the latest migration: what a backup taken now carries and a restore ends at

QUERIES = [
    "Combien d'acteurs nationaux ont participé à l'atelier de Saly ?",
    "How many migrants in Morocco have benefited from assisted voluntary return since 2005?",
    "réintégration des migrants de retour",
    "dimension psychosociale de la réintégration",
    "gouvernance de la réintégration au Togo",
    "projets communautaires",
]
FILTERED = [
    SearchQuery(q="réintégration durable", k=10, doc_type="news"),
    SearchQuery(q="réintégration durable", k=10, seminar="2021-12-reintegration-developpement"),
    SearchQuery(q="approche intégrée", k=10, year_from=2020, lang="fr"),
    SearchQuery(q="réintégration durable", k=10, group_by_document=True),
]


# -- the sample corpus, backed up once and restored once -------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("backup")


@pytest.fixture(scope="module")
def source(root, shared_embedders) -> Settings:
    """The sample corpus ingested into a data folder (closed after), with an organiser's decision on a topic and a
    retracted document, so that every catalog table holds rows."""
    settings = Settings(data_dir=root / "source", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        with Indexer(settings, catalog, store) as indexer:  # its own embedder: the shared one is in test_search's
            indexer.warm_up()
            results = indexer.run([CORPUS])
        assert [r.status for r in results] == ["new"] * 9, [(r.path.name, r.reason) for r in results]
        link = catalog.topic_links(catalog.topics()[0].id, state="suggested")[0]
        catalog.decide_link(link.passage_id, link.topic_id, "confirmed", doc_id=link.doc_id,
                            doc_version=link.doc_version, by="organiser@example.org")
        retracted = next(r.doc_id for r in results if r.path.name.startswith("togo"))
        catalog.set_status(retracted, "retracted")
        # keys, a web session, the audit log and a job (publishing)
        staff, _ = catalog.create_key("staff", "staff")
        catalog.open_session(staff.id, timedelta(hours=1))
        catalog.create_job("publish", filename="x.pdf", sha256="c" * 64, size=3, staged_path="staging/x.pdf",
                           meta={"title": "X", "published": "2024-01-01"}, actor=staff)
        # what a website crawl knew of a page (its validators, links), as kmh crawl keeps it
        seminar_doc = next(r.doc_id for r in results if r.path.name == "page-seminaire.txt")
        catalog.save_crawl_page(CrawlPageRecord(url="https://kmh.example.org/seminaires/2021-12", site="kmh.example.org",
                                                status="ok", doc_id=seminar_doc, etag='"v1"', sha256="d" * 64,
                                                last_modified="Mon, 06 Dec 2021 10:00:00 GMT", http_status=200,
                                                links=["https://kmh.example.org/"]))
        # a recorded search with the hit its reader opened (search analytics: carried, like every table)
        at = datetime(2026, 12, 7, 9, 30, 12, 345678, tzinfo=timezone.utc)
        catalog.add_searches([SearchLogRecord(
            id="5eac4a11c0ffee00", at=at, channel="web", query="Tontines et réintégration ?", mode="hybrid",
            filters={"country": "Senegal", "year_from": 2020}, page_offset=0, result_count=3, no_match=False,
            hits=[link.passage_id, "other"], week="2026-W50", query_norm="tontines et réintégration", language="fr",
            opened_passage=link.passage_id, opened_at=at + timedelta(seconds=4))])
    finally:
        store.close()
        catalog.close()
    return settings


@pytest.fixture(scope="module")
def archive(source, root):
    steps: dict[str, tuple[int, int]] = {}
    summary = backup(source, root / "kmh.tar", progress=lambda step, done, total: steps.update({step: (done, total)}))
    return summary, steps


@pytest.fixture(scope="module")
def restored(archive, root) -> tuple[Settings, object]:
    settings = Settings(data_dir=root / "restored", models_dir=MODELS)
    return settings, restore(settings, archive[0].file)


def answers(settings: Settings, shared_embedders) -> list:
    """Every hit of the queries in each mode and of the filtered queries, with its score, text and citation."""
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        searcher = Searcher(settings, catalog, store, text_embedder=shared_embedders[1])
        searcher.warm_up()
        queries = [SearchQuery(q=q, k=20, mode=m) for q in QUERIES for m in ("hybrid", "dense", "keyword")] + FILTERED
        out = []
        for q in queries:
            res = searcher.search(q)
            hits = [(h.passage_id, h.score, h.doc_id, h.title, h.text, h.highlight, h.citation) for h in res.hits]
            out.append((q, hits, res.total, res.facets))
        return out
    finally:
        store.close()
        catalog.close()


def assert_same_answers(got: list, want: list, tol: float = 1e-6) -> None:
    assert len(got) == len(want)
    for (q, hits, total, facets), (_, expected, expected_total, expected_facets) in zip(got, want):
        assert [h[0] for h in hits] == [h[0] for h in expected], q  # ids, in order
        assert [h[1] for h in hits] == pytest.approx([h[1] for h in expected], abs=tol), q
        assert [h[2:] for h in hits] == [h[2:] for h in expected], q
        assert (total, facets) == (expected_total, expected_facets), q
    assert sum(len(hits) for _, hits, _, _ in want) > 100


def catalog_rows(settings: Settings) -> dict[str, list]:
    """Every row of every table, typed as the models read them, and the schema revision."""
    catalog = Catalog(settings.catalog_db_url, migrate=False)
    try:
        with catalog.engine.connect() as conn:
            rows = {t.name: conn.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
                    for t in Base.metadata.sorted_tables}
        rows["revision"] = catalog.current_revision()
        return rows
    finally:
        catalog.close()


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def is_empty(settings: Settings) -> bool:
    """No catalog rows (but the generation), no passages, no kept originals."""
    rows = catalog_rows(settings)
    catalog_empty = all(not v for k, v in rows.items() if k not in ("catalog_state", "revision"))
    store = open_vector_store(settings)
    try:
        passages = store.count()
    finally:
        store.close()
    return catalog_empty and passages == 0 and not files_under(settings.originals_dir)


# -- tests -----------------------------------------------------------------------------------------------------


def test_restore_into_an_empty_folder_answers_every_search_the_same(source, restored, shared_embedders):
    settings, _ = restored
    assert_same_answers(answers(settings, shared_embedders), answers(source, shared_embedders))


def test_restored_catalog_and_originals_are_identical(source, archive, restored):
    summary, steps = archive
    settings, result = restored
    want = catalog_rows(source)
    assert all(want[t.name] for t in Base.metadata.sorted_tables)  # every table has rows to carry over
    assert catalog_rows(settings) == want  # dates, datetimes (UTC), JSON, floats, booleans, the generation
    assert files_under(settings.originals_dir) == files_under(source.originals_dir)
    assert any(name.endswith(".mp3") for name in files_under(settings.originals_dir))
    assert (summary.documents, summary.passages, summary.files) == (7, 30, len(files_under(source.originals_dir)))
    assert (result.documents, result.passages, result.files, result.revision) == (7, 30, summary.files, HEAD)
    assert result.original_bytes == summary.original_bytes == sum(map(len, files_under(source.originals_dir).values()))
    rows = sum(len(want[t.name]) for t in Base.metadata.sorted_tables)
    assert steps == {"catalog": (rows, rows), "index": (30, 30),
                     "originals": (summary.original_bytes,) * 2}
    assert not list(summary.file.parent.glob(".kmh.tar.*"))  # no temporary file left beside it


def test_restored_originals_download_through_the_api(source, restored):
    settings, _ = restored
    with Catalog(source.catalog_db_url, migrate=False) as catalog:
        docs, _ = catalog.list(limit=100, status=None)
    assert any(doc.status == "retracted" for doc in docs)  # only staff may read those: a staff key reads all
    with TestClient(create_app(settings), headers=bearer(api_key(settings, "staff"))) as client:
        for doc in docs:
            r = client.get(f"/api/documents/{doc.id}/file")
            assert r.status_code == 200, (doc.filename, r.text)
            assert r.content == (source.data_dir / doc.original_path).read_bytes()
        assert client.get("/api/search", params={"q": "atelier de Saly"}).json()["hits"]


def test_archive_layout(archive):
    summary, _ = archive
    with tarfile.open(summary.file) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(MANIFEST).read())
        digest = tar.extractfile(MANIFEST_SUM).read().split()[0].decode()
        assert digest == hashlib.sha256(tar.extractfile(MANIFEST).read()).hexdigest()
        members = {m.name: m for m in tar.getmembers()}
        for name, info in manifest["members"].items():
            assert info == {"size": members[name].size,
                            "sha256": hashlib.sha256(tar.extractfile(name).read()).hexdigest()}
    assert names[0] == MARKER and names[-2:] == [MANIFEST, MANIFEST_SUM]
    assert set(names) == set(manifest["members"]) | {MANIFEST, MANIFEST_SUM}
    tables = {t["name"]: t for t in manifest["catalog"]["tables"]}
    assert set(tables) == {t.name for t in Base.metadata.sorted_tables}
    order = [t["name"] for t in manifest["catalog"]["tables"]]
    assert order.index("catalog_state") > order.index("documents")  # after the triggers' table
    assert {c["name"]: c["type"] for c in tables["documents"]["columns"]}["published"] == "date"
    assert {c["name"]: c["type"] for c in tables["transcripts"]["columns"]}["cues"] == "json"
    assert manifest["alembic_revision"] == HEAD and manifest["format_version"] == 1
    assert manifest["counts"] == {"documents": 7, "passages": 30, "files": summary.files,
                                  "bytes": summary.original_bytes}
    assert manifest["index"] | {"pages": None} == {"backend": "edge", "dim": 384, "passages": 30,
                                                   "sentence_passages": 30, "pages": None}
    assert [n for n in names if n.startswith("index/")] == manifest["index"]["pages"] == ["index/000000.npz"]
    assert all(n.startswith(("catalog/", "index/", "originals/")) for n in names[1:-2])


def test_a_non_empty_target_is_refused_without_force(archive, tmp_path, shared_embedders):
    file = archive[0].file
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    restore(settings, file)
    before = catalog_rows(settings)
    with pytest.raises(BackupError, match=r"already holds data \(catalog rows: .*documents 7.*30 passages.*--force"):
        restore(settings, file)
    assert catalog_rows(settings) == before
    # a topic taxonomy alone makes a catalog non-empty too: nothing is thrown away without --force
    other = Settings(data_dir=tmp_path / "other", models_dir=MODELS)
    with open_catalog(other) as catalog:
        catalog.replace_topics(catalog_topics(settings))
    with pytest.raises(BackupError, match="catalog rows: topics 21"):
        restore(other, file)
    # --force replaces what it holds: a document deleted since is back, a passage of another document is gone
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        doc_id = before["documents"][0].id
        catalog.delete(doc_id)
        from kmh.store import Filter

        store.delete(Filter(equals={"doc_id": doc_id}))
        result = restore(settings, file, force=True, catalog=catalog, store=store)
        assert result.passages == store.count() == 30
    finally:
        store.close()
        catalog.close()
    assert catalog_rows(settings) == before
    restore(other, file, force=True)
    assert catalog_rows(other) == before


def catalog_topics(settings: Settings):
    with Catalog(settings.catalog_db_url, migrate=False) as catalog:
        return catalog.topics()


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def data_offset(file: Path, name: str) -> tuple[int, int]:
    with tarfile.open(file) as tar:
        m = tar.getmember(name)
        return m.offset_data, m.size


def test_corrupt_truncated_or_foreign_files_are_refused_and_change_nothing(archive, tmp_path):
    file = archive[0].file
    data = file.read_bytes()
    with tarfile.open(file) as tar:
        original = next(n for n in tar.getnames() if n.endswith(".mp3"))
    bad: dict[str, tuple[bytes, str]] = {}
    for name in (original, "catalog/documents.jsonl", "index/000000.npz", MANIFEST, MARKER):
        offset, size = data_offset(file, name)
        bad[name] = (flip(data, offset + size // 2), "corrupt")
    bad["header"] = (flip(data, data_offset(file, "catalog/topics.jsonl")[0] - 512 + 10), "corrupt|truncated")
    bad["truncated"] = (data[: len(data) // 2], "truncated|corrupt")
    bad["no manifest"] = (data[: data_offset(file, MANIFEST)[0] - 512] + b"\0" * 1024, "manifest is missing")
    gz = io.BytesIO()
    with tarfile.open(fileobj=gz, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("notes.txt"))
    bad["other tar"] = (gz.getvalue(), "not a KMH backup")
    bad["text"] = ("Ceci n'est pas une sauvegarde.\n".encode() * 100, "not a KMH backup")
    bad["empty"] = (b"", "not a KMH backup")
    settings = Settings(data_dir=tmp_path / "target", models_dir=MODELS)
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        for label, (content, message) in bad.items():
            path = tmp_path / f"bad-{label.replace('/', '-')}.tar"
            path.write_bytes(content)
            with pytest.raises(BackupError, match=message) as info:
                restore(settings, path, catalog=catalog, store=store)
            assert str(path) in str(info.value), label
        assert store.count() == 0
    finally:
        store.close()
        catalog.close()
    assert is_empty(settings)
    with pytest.raises(BackupError, match="does not exist"):
        restore(settings, tmp_path / "missing.tar")


def test_a_gzip_archive_restores_and_a_flipped_byte_in_it_is_refused(source, root, tmp_path):
    summary = backup(source, tmp_path / "kmh.tar.gz")
    with open(summary.file, "rb") as fh:
        assert fh.read(2) == b"\x1f\x8b"
    data = summary.file.read_bytes()
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(flip(data, len(data) // 2))
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    with pytest.raises(BackupError, match="corrupt"):
        restore(settings, bad)
    assert is_empty(settings)
    restore(settings, summary.file)
    assert catalog_rows(settings) == catalog_rows(source)


def test_a_failed_restore_leaves_nothing_behind(archive, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)

    def fail(step, done, total):
        if step == "originals" and done:
            raise OSError("No space left on device")

    with pytest.raises(BackupError, match="No space left on device. Nothing of it was kept"):
        restore(settings, archive[0].file, progress=fail)
    rows = catalog_rows(settings)
    assert all(not v for k, v in rows.items() if k not in ("catalog_state", "revision"))  # rolled back
    assert rows["catalog_state"][0].generation == 0
    store = open_vector_store(settings)
    try:
        assert store.count() == 0
    finally:
        store.close()
    restore(settings, archive[0].file)  # and the next try works
    assert store_count(settings) == 30


def store_count(settings: Settings) -> int:
    store = open_vector_store(settings)
    try:
        return store.count()
    finally:
        store.close()


def test_an_edge_backup_restores_into_qdrant_local_mode_and_back(source, archive, tmp_path, shared_embedders):
    qdrant = Settings(data_dir=tmp_path / "q", models_dir=MODELS, store_backend="qdrant",
                      qdrant_url=str(tmp_path / "q" / "qdrant"))
    restore(qdrant, archive[0].file)
    assert catalog_rows(qdrant) == catalog_rows(source)
    assert files_under(qdrant.originals_dir) == files_under(source.originals_dir)
    # without the sentence ranking (kept in half precision and scored on an 8-bit copy on edge, exactly in local
    # mode) both engines score alike: the same hits, scores equal to float32 rounding
    plain = {"sentence_ranking": False}
    want = answers(source.model_copy(update=plain), shared_embedders)
    assert_same_answers(answers(qdrant.model_copy(update=plain), shared_embedders), want, tol=1e-5)
    # and back: a backup of the Qdrant collection restores into the embedded store, identical to the start
    again = backup(qdrant, tmp_path / "from-qdrant.tar")
    with tarfile.open(again.file) as tar:
        assert json.loads(tar.extractfile(MANIFEST).read())["index"]["backend"] == "qdrant"
    edge = Settings(data_dir=tmp_path / "edge", models_dir=MODELS)
    restore(edge, again.file)
    assert catalog_rows(edge) == catalog_rows(source)
    assert_same_answers(answers(edge, shared_embedders), answers(source, shared_embedders))


def rewrite(file: Path, out: Path, change) -> Path:
    """A copy of an archive whose manifest ``change`` edits, its checksum made to match."""
    with tarfile.open(file) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(out, "w") as tar:
        manifest = json.loads(dict((m.name, d) for m, d in members)[MANIFEST])
        change(manifest)
        text = json.dumps(manifest).encode()
        for m, d in members:
            d = {MANIFEST: text, MANIFEST_SUM: f"{hashlib.sha256(text).hexdigest()}  {MANIFEST}\n".encode()}.get(m.name, d)
            m.size = len(d)
            tar.addfile(m, io.BytesIO(d))
    return out


def test_a_backup_from_a_newer_schema_or_format_is_refused(archive, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS)
    newer = rewrite(archive[0].file, tmp_path / "newer.tar", lambda m: m.update(alembic_revision="0099",
                                                                               kmh_version="9.0"))
    with pytest.raises(BackupError, match="revision '0099', which this version of KMH does not know.*9.0"):
        restore(settings, newer)
    future = rewrite(archive[0].file, tmp_path / "future.tar", lambda m: m.update(format_version=2))
    with pytest.raises(BackupError, match="format 2, newer"):
        restore(settings, future)
    wider = rewrite(archive[0].file, tmp_path / "wider.tar", lambda m: m["index"].update(dim=768))
    with pytest.raises(BackupError, match="768-dimensional"):
        restore(settings, wider)
    assert is_empty(settings)


def test_a_backup_of_an_older_schema_is_migrated_on_restore(tmp_path):
    """A catalog at revision 0002 (before the seminar archive): restored, its schema runs the later migrations."""
    old = Settings(data_dir=tmp_path / "old", models_dir=MODELS)
    catalog = Catalog(old.catalog_db_url, migrate=False)
    catalog.migrate("0002")
    when = datetime(2024, 3, 28, 9, 30, 15, 123456, tzinfo=timezone.utc)
    doc = dict(id="0123456789ab", sha256="ab" * 32, filename="note.txt", source_key="/x/note.txt", title="Note",
               doc_type="report", language="fr", published=date(2024, 3, 1), countries=["Senegal"], programme=None,
               source_url=None, source=None, status="published", version=1, ingested_at=when, updated_at=when,
               passage_count=0, format="txt", mime="text/plain", page_count=None, outline=[{"section": "A", "page": 1}],
               original_path="originals/ab/ab/x.txt")
    with catalog.engine.begin() as conn:
        conn.execute(Document.__table__.insert(), doc)
        conn.execute(DocumentVersion.__table__.insert(),
                     {k: doc[k] for k in ("sha256", "filename", "original_path", "ingested_at", "passage_count")}
                     | {"doc_id": doc["id"], "version": 1, "note": "v1"})
    generation = catalog.generation()
    store = open_vector_store(old)
    try:
        summary = backup(old, tmp_path / "old.tar", catalog=catalog, store=store)
    finally:
        store.close()
        catalog.close()
    assert summary.revision == "0002" and summary.documents == 1
    with tarfile.open(summary.file) as tar:
        assert {n for n in tar.getnames() if n.startswith("catalog/")} == {
            "catalog/catalog_state.jsonl", "catalog/documents.jsonl", "catalog/document_versions.jsonl"}
    new = Settings(data_dir=tmp_path / "new", models_dir=MODELS)
    result = restore(new, summary.file)  # the target is at the latest revision: down to 0002, rows in, up again
    assert result.revision == "0002"
    with Catalog(new.catalog_db_url, migrate=False) as restored:
        assert restored.current_revision() == HEAD
        got = restored.get(doc["id"])
        assert (got.published, got.ingested_at, got.countries, got.outline) == (doc["published"], when,
                                                                                 ["Senegal"], doc["outline"])
        assert restored.history(doc["id"])[0].note == "v1"
        assert restored.generation() == generation and restored.topics() == []


def test_backup_refuses_bad_targets(source, tmp_path):
    with pytest.raises(BackupError, match="is a folder"):
        backup(source, tmp_path)
    with pytest.raises(BackupError, match="does not exist"):
        backup(source, tmp_path / "nowhere" / "kmh.tar")
    with pytest.raises(BackupError, match="inside the originals folder"):
        backup(source, source.originals_dir / "kmh.tar")
    (tmp_path / "kept.tar").write_bytes(b"an earlier backup")
    with pytest.raises(BackupError, match="already exists.*--force"):
        backup(source, tmp_path / "kept.tar")
    assert (tmp_path / "kept.tar").read_bytes() == b"an earlier backup"
    assert backup(source, tmp_path / "kept.tar", overwrite=True).passages == 30


def test_backup_and_restore_commands(source, tmp_path, monkeypatch):
    runner = CliRunner()

    def kmh(data: Path, *args: str):
        monkeypatch.setenv("KMH_DATA_DIR", str(data))
        return runner.invoke(app, list(args), catch_exceptions=False)

    file = tmp_path / "cli.tar"
    result = kmh(source.data_dir, "backup", str(file))
    assert result.exit_code == 0, result.output
    assert "backed up 7 documents, 30 passages" in result.stdout and "passages" in result.stderr  # summary, bars
    assert kmh(source.data_dir, "backup", str(file)).exit_code == 1  # kept unless --force
    target = tmp_path / "target"
    result = kmh(target, "restore", str(file))
    assert result.exit_code == 0, result.output
    assert "restored 7 documents, 30 passages" in result.stdout
    q = "Combien d'acteurs nationaux ont participé à l'atelier de Saly ?"
    hits = [json.loads(kmh(d, "search", q, "--json", "--k", "8").stdout) for d in (source.data_dir, target)]
    assert [h["passage_id"] for h in hits[1]] == [h["passage_id"] for h in hits[0]] and len(hits[0]) == 8
    assert [h["score"] for h in hits[1]] == pytest.approx([h["score"] for h in hits[0]], abs=1e-6)
    assert [h["text"] for h in hits[1]] == [h["text"] for h in hits[0]]
    again = kmh(target, "restore", str(file))
    assert again.exit_code == 1 and "--force" in again.stderr
    assert kmh(target, "restore", str(file), "--force").exit_code == 0
    # the embedded index is locked while another process (the server) has it open
    held = open_vector_store(Settings(data_dir=source.data_dir))
    try:
        locked = kmh(source.data_dir, "backup", str(tmp_path / "locked.tar"))
    finally:
        held.close()
    assert locked.exit_code == 3 and "already open" in locked.stderr
    assert not (tmp_path / "locked.tar").exists()
    assert "backup" in kmh(target, "--help").stdout and "restore" in kmh(target, "--help").stdout
