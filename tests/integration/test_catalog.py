"""Catalog and its migrations, on a real SQLite file and on a throwaway PostgreSQL server (tests/pg.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from kmh.catalog import (
    Catalog,
    DocumentRecord,
    DuplicateDocument,
    NotFound,
    make_engine,
    sha256_bytes,
    store_original,
)
from kmh.catalog.models import Base, Document
from tests.conftest import ROOT

HEX12 = re.compile(r"[0-9a-f]{12}")
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def record(n: int, **kw) -> DocumentRecord:
    values = dict(
        sha256=sha256_bytes(f"doc {n}".encode()),
        filename=f"doc{n}.pdf",
        source_key=f"/corpus/doc{n}.pdf",
        title=f"Document {n}",
        format="pdf",
        mime="application/pdf",
        original_path=f"originals/doc{n}.pdf",
        ingested_at=T0 + timedelta(minutes=n),
    )
    values.update(kw)
    return DocumentRecord(**values)


@pytest.fixture
def url(new_catalog_url) -> str:
    """An empty catalog database: a SQLite file, or a PostgreSQL database (conftest.new_catalog_url)."""
    return new_catalog_url()


@pytest.fixture
def catalog(url: str):
    cat = Catalog(url)
    yield cat
    cat.close()


def head(cat: Catalog) -> str:
    return ScriptDirectory.from_config(cat.alembic_config()).get_current_head()


# -- schema and migrations ------------------------------------------------------------------


def test_migrate_creates_schema_and_is_idempotent(url: str) -> None:
    cat = Catalog(url)  # creates the missing data folder and migrates
    assert head(cat) == "0011"
    assert cat.current_revision() == "0011"
    assert set(inspect(cat.engine).get_table_names()) == {
        "alembic_version", "documents", "document_versions", "catalog_state", "topics", "seminars",
        "seminar_sessions", "transcripts", "recordings", "topic_links", "api_keys", "web_sessions", "audit_log",
        "jobs", "passage_checks", "crawl_pages", "search_log"}
    with cat.engine.connect() as conn:
        if cat.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
        else:  # 0002's PostgreSQL branch: a plpgsql function and three statement triggers
            triggers = conn.exec_driver_sql(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'documents'::regclass AND NOT tgisinternal "
                "AND tgfoid = 'kmh_bump_generation'::regproc").scalars()
        assert set(triggers) == {f"documents_generation_{e}" for e in ("insert", "update", "delete")}
    doc = cat.add(record(1))

    cat.migrate()
    cat.migrate()
    assert cat.current_revision() == "0011"
    with cat.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    cat.close()

    again = Catalog(url)  # reopening migrates again: nothing to do, data kept
    assert again.current_revision() == "0011"
    assert again.get(doc.id) == doc
    again.close()


def test_concurrent_first_opens_migrate_once(url: str) -> None:
    # Several processes starting on an empty database: one migrates, the others wait for it (SQLite's write
    # lock, PostgreSQL's advisory lock) and then find nothing to do. Processes, not threads: Alembic's
    # `op` and `context` are global to a process.
    code = "import sys; from kmh.catalog import Catalog; c = Catalog(sys.argv[1]); print(c.current_revision())"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    with Catalog(url) as cat:
        assert [(p.returncode, out.strip()) for p, (out, _) in zip(procs, outs)] == [(0, head(cat))] * 3, outs


def test_downgrade_to_base_and_upgrade_again(url: str) -> None:
    cat = Catalog(url)
    cat.add(record(1))
    cfg = cat.alembic_config()
    command.downgrade(cfg, "base")  # every revision's downgrade, 0002's triggers (and PostgreSQL function) included
    assert cat.current_revision() is None
    assert inspect(cat.engine).get_table_names() == ["alembic_version"]
    if not cat.is_sqlite:
        with cat.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_proc WHERE proname = 'kmh_bump_generation'").scalar() == 0

    command.upgrade(cfg, "head")
    assert cat.current_revision() == head(cat)
    assert cat.list(status=None) == ([], 0) and cat.generation() == 0
    cat.add(record(1))
    assert cat.generation() == 1  # the triggers are back
    cat.close()


def _norm(sql: object) -> str:
    return re.sub(r"\s+", " ", str(sql)).strip()


def _checks_and_foreign_keys(engine) -> dict[str, tuple[dict[str, str], set[tuple]]]:
    """Per table, its CHECK constraints (name: SQL as the database gives it back) and foreign keys."""
    insp = inspect(engine)
    return {
        table.name: (
            {c["name"]: _norm(c["sqltext"]) for c in insp.get_check_constraints(table.name)},
            {(fk["name"], fk["referred_table"], fk["options"].get("ondelete"))
             for fk in insp.get_foreign_keys(table.name)},
        )
        for table in Base.metadata.sorted_tables
    }


def test_models_and_migration_agree(catalog: Catalog, new_catalog_url) -> None:
    with catalog.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
    command.check(catalog.alembic_config())  # raises if autogenerate would write anything

    # Autogenerate ignores CHECK constraints and ON DELETE: compare those by hand, with the declarations and with
    # the same models created directly in another database (PostgreSQL rewrites a CHECK's SQL: "x IN (...)" comes
    # back as "x::text = ANY (ARRAY[...])", so only one of its own can be compared with it).
    migrated = _checks_and_foreign_keys(catalog.engine)
    reference = make_engine(new_catalog_url())
    Base.metadata.create_all(reference)
    assert migrated == _checks_and_foreign_keys(reference)
    reference.dispose()
    for table in Base.metadata.sorted_tables:
        checks, foreign_keys = migrated[table.name]
        declared = {c.name: _norm(c.sqltext) for c in table.constraints if c.__class__.__name__ == "CheckConstraint"}
        assert set(checks) == set(declared), table.name
        if catalog.is_sqlite:
            assert checks == declared, table.name
        declared_fks = {(fk.name, fk.referred_table.name, fk.ondelete) for fk in table.foreign_key_constraints}
        assert foreign_keys == declared_fks, table.name


def test_in_memory_sqlite() -> None:
    with Catalog("sqlite://") as cat:
        doc = cat.add(record(1))
        assert cat.get(doc.id) == doc


def test_import_creates_nothing(tmp_path: Path) -> None:
    code = "import sys, kmh.catalog; assert 'alembic' not in sys.modules, 'alembic imported'"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    assert list(tmp_path.iterdir()) == []


# -- documents ------------------------------------------------------------------------------


def test_add_get_and_lookups(catalog: Catalog) -> None:
    outline = [{"section": "Introduction", "page": 1}, {"section": "Annexe", "page": None}]
    doc = catalog.add(
        record(
            1,
            doc_type="report",
            language="fr",
            published=date(2024, 5, 2),
            countries=["SN", "GN"],
            programme="EU-IOM Joint Initiative",
            source_url="https://example.org/r.pdf",
            page_count=12,
            passage_count=30,
            outline=outline,
        ),
        note="first ingest",
    )
    assert HEX12.fullmatch(doc.id)
    assert doc.version == 1 and doc.status == "published"
    assert doc.ingested_at == T0 + timedelta(minutes=1) and doc.updated_at == doc.ingested_at

    got = catalog.get(doc.id)
    assert got == doc
    # Read back in UTC on both databases (PostgreSQL gives its session's time zone; tests/pg.py sets one that is not UTC).
    assert got.ingested_at.tzinfo == got.updated_at.tzinfo == catalog.history(doc.id)[0].ingested_at.tzinfo == timezone.utc
    assert got.countries == ["SN", "GN"] and got.outline == outline
    assert got.published == date(2024, 5, 2)
    assert catalog.by_sha256(sha256_bytes(b"doc 1")) == doc
    assert catalog.by_source_key("/corpus/doc1.pdf") == doc

    assert catalog.get("000000000000") is None
    assert catalog.by_sha256("0" * 64) is None
    assert catalog.by_source_key("/nowhere") is None

    [v1] = catalog.history(doc.id)
    assert (v1.version, v1.sha256, v1.filename, v1.passage_count, v1.note) == (1, doc.sha256, "doc1.pdf", 30, "first ingest")

    with pytest.raises(ValueError, match="12 lowercase hex"):
        catalog.add(record(2, id="ABCDEF012345"))
    given = catalog.add(record(2, id="abcdef012345"))
    assert given.id == "abcdef012345"
    new_id = catalog.new_doc_id()
    assert HEX12.fullmatch(new_id) and catalog.get(new_id) is None


def test_add_defaults_times_to_now(catalog: Catalog) -> None:
    before = datetime.now(timezone.utc)
    doc = catalog.add(record(1, ingested_at=None))
    assert before <= doc.ingested_at <= datetime.now(timezone.utc)


def test_list_paging_and_filters(catalog: Catalog) -> None:
    kinds = ["report", "report", "news", "handbook", "report", "news", "report"]
    langs = ["fr", "en", "fr", "fr", None, "en", "fr"]
    ids = [catalog.add(record(i, doc_type=k, language=lang)).id for i, (k, lang) in enumerate(zip(kinds, langs))]
    newest_first = ids[::-1]

    page, total = catalog.list(limit=3)
    assert total == 7 and [d.id for d in page] == newest_first[:3]
    page, total = catalog.list(limit=3, offset=3)
    assert total == 7 and [d.id for d in page] == newest_first[3:6]
    page, total = catalog.list(limit=3, offset=6)
    assert total == 7 and [d.id for d in page] == newest_first[6:]
    page, total = catalog.list(limit=3, offset=9)
    assert (page, total) == ([], 7)

    page, total = catalog.list(doc_type="report")
    assert total == 4 and {d.doc_type for d in page} == {"report"}
    page, total = catalog.list(language="fr")
    assert total == 4 and {d.language for d in page} == {"fr"}
    page, total = catalog.list(doc_type="report", language="fr", limit=1)
    assert total == 2 and len(page) == 1
    assert catalog.list(doc_type="seminar_page") == ([], 0)


def test_newest_published_orders_by_publication_then_ingestion(catalog: Catalog) -> None:
    # (published, minutes after T0 it was ingested): what a feed without a question lists first
    rows = [(date(2019, 1, 1), 1), (None, 9), (date(2024, 3, 1), 2), (date(2019, 1, 1), 5), (None, 3),
            (date(2021, 12, 1), 4)]
    ids = [catalog.add(record(i, published=p, ingested_at=T0 + timedelta(minutes=m))).id
           for i, (p, m) in enumerate(rows)]
    retracted = catalog.add(record(9, published=date(2026, 1, 1)))
    catalog.set_status(retracted.id, "retracted")
    # 2024, 2021, 2019 ingested last, 2019 ingested first, then the undated ones by ingestion
    assert catalog.newest_published() == [ids[2], ids[5], ids[3], ids[0], ids[1], ids[4]]


def test_doc_type_check_constraint(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="doc_type"):
        catalog.add(record(1, doc_type="brochure"))
    # The database refuses it too, whatever the code path.
    with pytest.raises(IntegrityError, match="ck_documents_doc_type|CHECK"):
        with catalog.session() as s:
            s.add(Document(**{**vars(record(1, id="abcdef012345")), "doc_type": "brochure"}))
    with pytest.raises(IntegrityError):
        with catalog.session() as s:
            s.add(Document(**{**vars(record(2, id="abcdef012346")), "status": "failed"}))
    assert catalog.list(status=None) == ([], 0)


def test_sha256_is_unique(catalog: Catalog) -> None:
    first = catalog.add(record(1))
    with pytest.raises(DuplicateDocument) as exc:
        catalog.add(record(2, sha256=first.sha256))
    assert exc.value.doc_id == first.id
    with pytest.raises(IntegrityError):
        with catalog.session() as s:
            s.add(Document(**vars(record(3, id="abcdef012345", sha256=first.sha256))))
    assert catalog.list()[1] == 1


def test_save_new_version_bumps_and_keeps_history(catalog: Catalog) -> None:
    old = catalog.add(record(1, doc_type="report", language="fr", passage_count=10), note="v1")
    catalog.set_status(old.id, "retracted")
    new = catalog.save_new_version(
        old.id,
        record(2, source_key=old.source_key, doc_type="report", language="fr", passage_count=12, ingested_at=None),
        note="file changed",
    )
    assert new.id == old.id and new.version == 2
    assert new.sha256 == sha256_bytes(b"doc 2") and new.filename == "doc2.pdf" and new.passage_count == 12
    assert new.status == "retracted"  # status is kept; set_status changes it
    assert new.ingested_at > old.ingested_at and new.updated_at >= new.ingested_at
    assert catalog.get(old.id) == new
    assert catalog.by_sha256(old.sha256) is None
    assert catalog.by_sha256(new.sha256) == new

    history = catalog.history(old.id)
    assert [(v.version, v.sha256, v.filename, v.passage_count, v.note) for v in history] == [
        (1, old.sha256, "doc1.pdf", 10, "v1"),
        (2, new.sha256, "doc2.pdf", 12, "file changed"),
    ]

    third = catalog.save_new_version(old.id, record(3))
    assert third.version == 3 and len(catalog.history(old.id)) == 3
    with pytest.raises(NotFound):
        catalog.save_new_version("000000000000", record(4))


def test_passage_checks_follow_the_version_switch(catalog: Catalog) -> None:
    """Each version's checks are written with it and replace the previous version's; a deleted document takes
    its checks along; the counts and samples only see current versions."""
    from kmh.catalog import passage_check

    def checks(doc_id: str, version: int, n: int):
        return [passage_check(f"00000000-0000-4000-8000-{version:06d}{i:06d}", doc_id, version,
                              [float(i + 1)] * 8 + [0.5] * 376, f"text {version}.{i}") for i in range(n)]

    doc = catalog.add(record(1, passage_count=3), checks=checks("", 1, 3))
    assert [c.passage_id for c in catalog.checks_of(doc.id, 1)] == [c.passage_id for c in checks(doc.id, 1, 3)]
    assert catalog.check_counts() == {doc.id: 3}
    new = catalog.save_new_version(doc.id, record(2, passage_count=2), checks=checks(doc.id, 2, 2))
    assert catalog.checks_of(doc.id, 1) == [] and len(catalog.checks_of(new.id, 2)) == 2
    assert catalog.check_counts() == {doc.id: 2}
    assert {c.passage_id for c in catalog.sample_checks(10)} == {c.passage_id for c in checks(doc.id, 2, 2)}
    assert len(catalog.sample_checks(1)) == 1
    assert catalog.replace_checks(doc.id, 2, checks(doc.id, 2, 4), passage_count=4) == 4
    assert catalog.get(doc.id).passage_count == 4 and catalog.check_counts() == {doc.id: 4}
    with pytest.raises(ValueError, match="version 2, not 1"):
        catalog.replace_checks(doc.id, 1, [])
    other = catalog.add(record(5), version=3, note="restored")
    assert other.version == 3 and [v.version for v in catalog.history(other.id)] == [3]
    assert catalog.delete(doc.id)
    assert catalog.check_counts() == {} and catalog.sample_checks(10) == []


def test_failed_new_version_leaves_old_intact(catalog: Catalog) -> None:
    doc = catalog.add(record(1, passage_count=10))
    other = catalog.add(record(2))

    def unchanged() -> None:
        assert catalog.get(doc.id) == doc
        assert [v.version for v in catalog.history(doc.id)] == [1]

    # Content of another document: refused before any write.
    with pytest.raises(DuplicateDocument):
        catalog.save_new_version(doc.id, record(3, sha256=other.sha256))
    unchanged()
    # Bad value: refused up front.
    with pytest.raises(ValueError):
        catalog.save_new_version(doc.id, record(3, doc_type="brochure"))
    unchanged()
    # Failure in the middle of the transaction (fields set, version bumped, flush fails): rolled back.
    with pytest.raises(Exception, match="JSON serializable"):
        catalog.save_new_version(doc.id, record(3, outline=[{"section": object(), "page": 1}]))
    unchanged()
    # The catalog still works afterwards.
    assert catalog.save_new_version(doc.id, record(3)).version == 2


def test_set_status_retracted_is_not_listed(catalog: Catalog) -> None:
    a = catalog.add(record(1))
    b = catalog.add(record(2))
    retracted = catalog.set_status(a.id, "retracted")
    assert retracted.status == "retracted" and retracted.updated_at >= a.updated_at

    page, total = catalog.list(status="published")
    assert total == 1 and [d.id for d in page] == [b.id]
    assert [d.id for d in catalog.list(status="retracted")[0]] == [a.id]
    assert catalog.list(status=None)[1] == 2
    assert catalog.get(a.id).status == "retracted"

    assert catalog.set_status(a.id, "published").status == "published"
    assert catalog.list()[1] == 2
    with pytest.raises(ValueError):
        catalog.set_status(a.id, "failed")
    with pytest.raises(NotFound):
        catalog.set_status("000000000000", "retracted")


def test_delete_removes_document_and_history(catalog: Catalog) -> None:
    doc = catalog.add(record(1))
    catalog.save_new_version(doc.id, record(2))
    keep = catalog.add(record(3))

    assert catalog.delete(doc.id) is True
    assert catalog.get(doc.id) is None and catalog.history(doc.id) == []
    assert catalog.delete(doc.id) is False
    assert catalog.get(keep.id) == keep and len(catalog.history(keep.id)) == 1

    # Foreign keys are on: deleting the row directly cascades to the history too.
    with catalog.session() as s:
        s.execute(text("DELETE FROM documents WHERE id = :id"), {"id": keep.id})
    assert catalog.history(keep.id) == []


# -- originals ------------------------------------------------------------------------------


def test_store_original_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    data = b"%PDF-1.7 rapport annuel"
    sha = sha256_bytes(data)
    assert len(sha) == 64

    rel = store_original(tmp_path, data, ".PDF")
    assert rel == Path("originals", sha[:2], sha[2:4], f"{sha}.pdf")
    assert not rel.is_absolute()
    assert (tmp_path / rel).read_bytes() == data
    mtime = (tmp_path / rel).stat().st_mtime_ns

    assert store_original(tmp_path, data, ".pdf") == rel
    assert (tmp_path / rel).stat().st_mtime_ns == mtime
    assert [p.name for p in (tmp_path / rel).parent.iterdir()] == [rel.name]  # no temp files left

    other = store_original(tmp_path, b"another file", "")
    assert other != rel and other.name == sha256_bytes(b"another file")
    with pytest.raises(ValueError):
        store_original(tmp_path, data, "/../x")


# -- generation and the search cache --------------------------------------------------------


def test_every_change_to_documents_bumps_the_generation(catalog: Catalog) -> None:
    seen = [catalog.generation()]

    def bumped() -> bool:
        seen.append(catalog.generation())
        return seen[-1] > seen[-2]

    doc = catalog.add(record(1))
    assert bumped()
    catalog.set_status(doc.id, "retracted")
    assert bumped()
    catalog.save_new_version(doc.id, record(2))
    assert bumped()
    assert not bumped()  # reads change nothing
    catalog.get(doc.id), catalog.list(), catalog.refs([doc.id])
    assert not bumped()
    with catalog.session() as s:  # plain SQL, as another program would write it
        s.execute(text("UPDATE documents SET title = 'x' WHERE id = :id"), {"id": doc.id})
    assert bumped()
    catalog.delete(doc.id)
    assert bumped()


def test_refs_are_the_search_fields(catalog: Catalog) -> None:
    a = catalog.add(record(1, doc_type="report"))
    refs = catalog.refs([a.id, "ffffffffffff", a.id])
    assert list(refs) == [a.id]
    ref = refs[a.id]
    assert (ref.id, ref.version, ref.status, ref.title, ref.doc_type, ref.filename) == (
        a.id, 1, "published", a.title, "report", a.filename)
    assert catalog.refs([]) == {}


def test_ref_cache_reads_rows_once_until_the_catalog_changes(catalog: Catalog, url: str) -> None:
    from kmh.catalog.cache import RefCache

    a, b = catalog.add(record(1)), catalog.add(record(2))
    cache = RefCache(catalog)
    assert set(cache.get([a.id, b.id, "ffffffffffff"])) == {a.id, b.id}
    assert cache.loads == 1
    assert cache.get([a.id])[a.id].status == "published"
    assert cache.loads == 1  # served from memory

    # A change made by another process (another connection) empties it: retracted is seen at once.
    other = Catalog(url)
    other.set_status(a.id, "retracted")
    other.close()
    assert cache.get([a.id])[a.id].status == "retracted"
    assert cache.loads == 2
    catalog.save_new_version(b.id, record(3))
    assert cache.get([b.id])[b.id].version == 2

    small = RefCache(catalog, size=1)
    small.get([a.id]), small.get([b.id])
    assert len(small._refs) == 1


def test_ref_cache_prime_loads_every_document_at_once(catalog: Catalog, url: str) -> None:
    from kmh.catalog.cache import RefCache

    docs = [catalog.add(record(i)) for i in range(1, 4)]
    cache = RefCache(catalog)
    assert cache.prime() == 3
    assert set(cache.get([d.id for d in docs])) == {d.id for d in docs}
    assert cache.loads == 0  # every search after the start finds them cached

    other = Catalog(url)
    other.set_status(docs[0].id, "retracted")
    other.close()
    assert cache.get([docs[0].id])[docs[0].id].status == "retracted"  # a later change is still seen

    small = RefCache(catalog, size=2)
    assert small.prime() == 2
    assert len(small._refs) == 2
