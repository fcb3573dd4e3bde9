"""API keys, web sessions, the audit log and ingestion jobs in the catalog."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kmh.catalog import Catalog, DuplicateDocument, DuplicateJob, UnknownKey
from kmh.catalog.models import ApiKey


@pytest.fixture
def catalog(new_catalog_url):
    """On SQLite and on PostgreSQL (conftest.new_catalog_url)."""
    cat = Catalog(new_catalog_url())
    yield cat
    cat.close()


def test_keys_are_stored_hashed_and_shown_once(catalog):
    rec, key = catalog.create_key("Aïcha (KMH staff)", "staff", created_by="cli")
    assert key.startswith(f"kmh_{rec.id}_") and len(key) == 4 + 12 + 1 + 43
    with catalog.session() as s:
        row = s.get(ApiKey, rec.id)
        assert key not in (row.key_hash, row.name) and len(row.key_hash) == 64
    assert catalog.authenticate(key).id == rec.id
    assert catalog.authenticate(key).last_used_at is not None
    assert catalog.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None  # one character off
    assert catalog.authenticate(f"kmh_{'0' * 12}_{key.rsplit('_', 1)[1]}") is None
    assert catalog.authenticate("not a key") is None
    assert [k.name for k in catalog.keys()] == ["Aïcha (KMH staff)"]


def test_revoked_keys_fail_and_end_their_sessions(catalog):
    rec, key = catalog.create_key("organiser", "organiser")
    token, csrf = catalog.open_session(rec.id, timedelta(hours=1))
    assert catalog.web_session(token).csrf_token == csrf
    catalog.revoke_key(rec.id)
    assert catalog.authenticate(key) is None
    assert catalog.web_session(token) is None
    assert not catalog.key(rec.id).active
    with pytest.raises(UnknownKey):
        catalog.revoke_key("ffffffffffff")


def test_roles_and_grants(catalog):
    for role, may in {"reader": {"reader"}, "staff": {"reader", "staff"}, "organiser": {"reader", "organiser"},
                      "admin": {"reader", "staff", "organiser", "admin"}}.items():
        rec, _ = catalog.create_key(role, role)
        assert {r for r in ("reader", "staff", "organiser", "admin") if rec.may(r)} == may
    with pytest.raises(ValueError, match="unknown role"):
        catalog.create_key("x", "superuser")
    with pytest.raises(ValueError, match="name"):
        catalog.create_key("  ", "staff")


def test_the_access_service_raises_domain_errors_and_audits_each_change(catalog):
    from services import access
    from services.errors import Forbidden, InvalidParameter, KeyNotFound, Unauthorized

    admin = access.create_key(catalog=catalog, name="Aïcha", role="admin", actor=None)
    assert admin.record.created_by == "cli" and admin.secret.startswith(f"kmh_{admin.record.id}_")
    staff = access.create_key(catalog=catalog, name="Moussa", role="staff", actor=admin.record)
    assert staff.record.created_by == admin.record.id
    assert access.authenticate(catalog=catalog, secret=staff.secret).id == staff.record.id
    assert access.authorize(key=staff.record, role="staff") == staff.record
    with pytest.raises(Forbidden) as refused:
        access.authorize(key=staff.record, role="organiser")
    assert refused.value.extra == {"role": "staff", "needed": "organiser"}
    for name, role, field in (("  ", "staff", "name"), ("x", "root", "role")):
        with pytest.raises(InvalidParameter) as bad:
            access.create_key(catalog=catalog, name=name, role=role, actor=admin.record)
        assert bad.value.name == field

    signed = access.sign_in(catalog=catalog, secret=staff.secret, lifetime=timedelta(hours=1))
    assert signed.session.key.id == staff.record.id
    assert access.web_session(catalog=catalog, token=signed.token).csrf_token == signed.session.csrf_token
    assert access.whoami(catalog=catalog, key=staff.record, token=signed.token)[1].csrf_token == signed.session.csrf_token
    with pytest.raises(KeyNotFound) as unknown:
        access.revoke_key(catalog=catalog, key_id="ffffffffffff", actor=admin.record)
    assert (unknown.value.kind, unknown.value.title, unknown.value.extra) == (
        "key-not-found", "API key not found", {"key_id": "ffffffffffff"})
    assert not access.revoke_key(catalog=catalog, key_id=staff.record.id, actor=admin.record).active
    for ended in (lambda: access.authenticate(catalog=catalog, secret=staff.secret),
                  lambda: access.web_session(catalog=catalog, token=signed.token),
                  lambda: access.sign_out(catalog=catalog, key=None, token=signed.token),
                  lambda: access.whoami(catalog=catalog, key=None, token=None)):
        with pytest.raises(Unauthorized):
            ended()

    page = access.audit_log(catalog=catalog, limit=2)
    assert page.total == 4 and (page.limit, page.offset) == (2, 0)
    assert [e.action for e in page.items] == ["key.revoke", "session.sign_in"]
    assert [e.actor for e in access.audit_log(catalog=catalog, target=staff.record.id).items] == [
        "Aïcha", "Moussa", "Aïcha"]


def test_sessions_expire(catalog):
    rec, _ = catalog.create_key("s", "staff")
    token, _ = catalog.open_session(rec.id, timedelta(seconds=-1))
    assert catalog.web_session(token) is None
    token, _ = catalog.open_session(rec.id, timedelta(hours=1))
    catalog.close_session(token)
    assert catalog.web_session(token) is None


def test_jobs_queue_claim_and_finish_with_audit(catalog):
    staff, _ = catalog.create_key("staff", "staff")
    job = catalog.create_job("publish", filename="report.pdf", sha256="a" * 64, size=10, staged_path="staging/x",
                             meta={"title": "T"}, actor=staff)
    assert job.state == "queued" and len(job.doc_id) == 12 and catalog.get(job.doc_id) is None
    with pytest.raises(DuplicateJob) as exc:
        catalog.create_job("publish", filename="copy.pdf", sha256="a" * 64, size=10, staged_path="staging/y",
                           meta={}, actor=staff)
    assert exc.value.job_id == job.id
    claimed = catalog.claim_job()
    assert (claimed.id, claimed.state, claimed.attempts) == (job.id, "running", 1)
    assert catalog.claim_job() is None
    assert [j.id for j in catalog.interrupted_jobs()] == [job.id]
    catalog.update_job(job.id, progress={"stage": "embedding", "done": 3, "total": 9}, doc_version=1)
    catalog.update_job(job.id, state="done")
    done = catalog.job(job.id)
    assert done.state == "done" and done.finished_at is not None and done.progress["done"] == 3
    entries, total = catalog.audit_log()
    assert total == 1 and entries[0].action == "document.publish" and entries[0].actor == "staff"
    assert entries[0].target == job.doc_id and entries[0].detail["filename"] == "report.pdf"


def test_a_job_for_content_already_catalogued_is_refused(catalog):
    from tests.integration.test_catalog import record

    doc = catalog.add(record(1))
    with pytest.raises(DuplicateDocument) as exc:
        catalog.create_job("publish", filename="x.pdf", sha256=doc.sha256, size=1, staged_path="s", meta={},
                           actor=None)
    assert exc.value.doc_id == doc.id


def test_interrupted_jobs_all_or_only_stale_ones(catalog):
    from datetime import datetime, timezone

    job = catalog.create_job("publish", filename="a.pdf", sha256="b" * 64, size=1, staged_path="s", meta={},
                             actor=None)
    catalog.claim_job()
    assert [j.id for j in catalog.interrupted_jobs()] == [job.id]  # the process owning the store: all
    long_ago = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert catalog.interrupted_jobs(stale_before=long_ago) == []  # another process may still be running it
    assert [j.id for j in catalog.interrupted_jobs(stale_before=datetime.now(timezone.utc) + timedelta(seconds=1))] == [
        job.id]
