"""The `kmh` command line: ingest with bad input, search --json, docs list/show/rm, and no network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import CORPUS, ROOT
from tests.helpers import make_pdf

runner = CliRunner()


def kmh(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result


@pytest.fixture
def news(tmp_path) -> Path:
    dest = tmp_path / "news"
    shutil.copytree(CORPUS / "news", dest)
    return dest


def catalog_rows() -> dict[str, tuple]:
    from kmh.runtime import open_catalog
    from kmh.settings import Settings

    catalog = open_catalog(Settings())
    try:
        rows, _ = catalog.list(limit=1000)
        return {r.id: (r.sha256, r.version, r.passage_count, r.title, r.updated_at) for r in rows}
    finally:
        catalog.close()


def bad_files(folder: Path) -> dict[str, str]:
    """Each bad file and the words its error line must contain."""
    folder.mkdir()
    (folder / "vide.txt").write_bytes(b"")
    pdf = make_pdf(folder / "complet.pdf").read_bytes()
    (folder / "complet.pdf").unlink()
    (folder / "tronque.pdf").write_bytes(pdf[: len(pdf) // 2])
    from pypdf import PdfReader, PdfWriter

    make_pdf(folder / "clair.pdf")
    writer = PdfWriter(clone_from=PdfReader(folder / "clair.pdf"))
    writer.encrypt("secret")
    with open(folder / "chiffre.pdf", "wb") as f:
        writer.write(f)
    (folder / "clair.pdf").unlink()
    (folder / "tableur.xyz").write_bytes(b"a,b,c\n1,2,3\n")
    (folder / "binaire.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "enorme.txt").write_text("Un texte tout à fait lisible mais beaucoup trop long. " * 40000)
    return {
        "vide.txt": "empty",
        "tronque.pdf": "corrupt",
        "chiffre.pdf": "encrypted",
        "tableur.xyz": "unsupported",
        "binaire.txt": "binary",
        "enorme.txt": "limit",
    }


def test_ingest_bad_input_fails_clearly_and_changes_nothing(news, tmp_path, monkeypatch):
    assert kmh("ingest", str(news)).exit_code == 0
    before = json.loads(kmh("search", "atelier de Saly acteurs nationaux", "--json", "--k", "5").stdout)
    docs_before = catalog_rows()

    monkeypatch.setenv("KMH_MAX_FILE_MB", "1")
    bad = tmp_path / "bad"
    expected = bad_files(bad)
    good = bad / "bonne-note.txt"
    good.write_text("Note\n\n" + "Les maisons de jeunes de Tambacounda accueillent des migrants de retour. " * 20)
    result = kmh("ingest", str(bad))
    assert result.exit_code == 1
    for name, words in expected.items():
        lines = [l for l in result.stderr.splitlines() if name in l]
        assert lines, f"no error line names {name}:\n{result.stderr}"
        assert words in lines[0].lower(), lines[0]
    assert "1 new" in result.stdout and "6 failed" in result.stdout

    monkeypatch.delenv("KMH_MAX_FILE_MB")
    after = json.loads(kmh("search", "atelier de Saly acteurs nationaux", "--json", "--k", "5").stdout)
    assert [h["passage_id"] for h in after] == [h["passage_id"] for h in before]
    docs_after = catalog_rows()
    assert len(docs_after) == len(docs_before) + 1  # the one good file
    assert all(docs_after[doc_id] == row for doc_id, row in docs_before.items())


def test_search_json_shape(news):
    kmh("ingest", str(news))
    result = kmh("search", "Combien d'acteurs nationaux ont participé à l'atelier de Saly ?", "--json", "--k", "3")
    assert result.exit_code == 0
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    for h in hits:
        assert {"doc_id", "title", "filename", "text", "score", "citation"} <= set(h)
        assert set(h["citation"]) >= {"page", "section", "start", "end"}
    assert "36" in hits[0]["text"]


def test_search_filters_narrow_the_results_and_bad_ones_name_their_option(news):
    """kmh search takes every filter of GET /api/search, shows them above the hits, and checks them like the API."""
    from kmh.catalog.models import DOC_TYPES
    from kmh.runtime import open_catalog, open_vector_store
    from kmh.settings import Settings
    from services.topics import decide

    seminar = "2021-12-reintegration-developpement"
    assert kmh("ingest", str(CORPUS / "topics.yaml"), str(news), str(CORPUS / "seminars" / seminar)).exit_code == 0
    q = "réintégration des migrants de retour"

    def hits(*filters: str) -> list[dict]:
        result = kmh("search", q, "--json", "--k", "30", *filters)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    every = hits()
    assert {"news", "recording", "seminar_page"} <= {h["doc_type"] for h in every}
    assert {h["filename"] for h in hits("--country", "morocco")} == {"maroc-avrr-foras-11300-migrants.txt"}
    assert {h["doc_type"] for h in hits("--type", "Recording")} == {"recording"}
    in_seminar = hits("--seminar", seminar.upper())
    assert {h["doc_type"] for h in in_seminar} == {"recording"} and len(in_seminar) < len(every)
    dated = hits("--year-from", "2020", "--year-to", "2023")  # the seminar (2021); the news are 2019, 2024, undated
    assert dated and {h["published"][:4] for h in dated} == {"2021"}
    assert {h["published"][:4] for h in hits("--year-to", "2019")} == {"2019"}
    assert hits("--lang", "EN") == [] and len(hits("--lang", "fr")) == len(every)
    senegal = hits("--country", "Sénégal")[0]["passage_id"]
    settings = Settings()
    catalog, store = open_catalog(settings), open_vector_store(settings)
    try:
        decide(catalog=catalog, store=store, passage_id=senegal, topic_id="community-level", state="confirmed")
    finally:
        store.close()
        catalog.close()
    assert [h["passage_id"] for h in hits("--topic", "Community-Level")] == [senegal]
    shown = kmh("search", q, "--type", "news", "--country", "Senegal", "--year-from", "2024", "--topic", "community-level")
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[0] == (f"{q!r} · hybrid · type news · country Senegal · year-from 2024 · topic "
                                            "community-level")
    # errors name the option, as the API names the parameter
    for args, words in [(("--type", "video"), "--type must be one of: "), (("--lang", "xx"), "--lang must be one of: "),
                        (("--year-from", "2024", "--year-to", "2020"), "--year-from must not be after --year-to"),
                        (("--mode", "fuzzy"), "--mode must be hybrid, dense or keyword"),
                        (("--year-from", "99"), "--year-from")]:
        bad = kmh("search", q, *args)
        assert bad.exit_code == 2 and words in " ".join(bad.stderr.split()), (args, bad.stderr)
    assert all(t in kmh("search", q, "--type", "video").stderr for t in DOC_TYPES)
    help_text = " ".join(kmh("search", "--help").stdout.split())
    assert all(t in help_text for t in DOC_TYPES)
    for option in ("--k", "--mode", "--lang", "--type", "--country", "--year-from", "--year-to", "--topic", "--seminar"):
        assert option in help_text


def test_second_ingest_reports_everything_unchanged(news):
    first = kmh("ingest", str(news))
    assert first.exit_code == 0
    # the summary says the run's pace, also where the progress bar is not drawn (not a terminal)
    summary = re.search(r"^(\d+) passages in ([\d.]+) s: ([\d.]+) passages/s$", first.stdout, re.M)
    assert summary, first.stdout
    passages, seconds, rate = int(summary[1]), float(summary[2]), float(summary[3])
    table = sum(int(n) for n in re.findall(r"│ new\s+│ \w+\s+│ (\d+)", first.stdout))
    assert passages == table > 0 and rate > 0 and abs(rate - passages / seconds) <= 0.05 + rate * 0.01
    assert "3/3" in first.stderr and "passages/s" in first.stderr  # the bar's last state
    result = kmh("ingest", str(news))
    assert result.exit_code == 0
    assert "0 new, 0 updated, 3 unchanged, 0 failed" in result.stdout
    assert re.search(r"^0 passages in [\d.]+ s: 0\.0 passages/s$", result.stdout, re.M), result.stdout


def test_docs_list_show_rm(news):
    kmh("ingest", str(news))
    assert "3 documents" in kmh("docs", "list").stdout
    listed = json.loads(kmh("docs", "list", "--json").stdout)
    assert listed["total"] == 3
    doc_id = next(d["id"] for d in listed["documents"] if d["filename"] == "maroc-avrr-foras-11300-migrants.txt")
    shown = kmh("docs", "show", doc_id)
    assert shown.exit_code == 0 and "Morocco" in shown.stdout and "FORAS" in shown.stdout
    assert json.loads(kmh("docs", "show", doc_id, "--json").stdout)["countries"] == ["Morocco"]
    assert kmh("docs", "rm", doc_id).exit_code == 0
    assert json.loads(kmh("docs", "list", "--json").stdout)["total"] == 2
    hits = json.loads(kmh("search", "11.300 migrants Maroc", "--json").stdout)
    assert all(h["doc_id"] != doc_id for h in hits)
    assert kmh("docs", "show", doc_id).exit_code == 1
    assert kmh("docs", "rm", "000000000000").exit_code == 1

    from kmh.runtime import open_catalog
    from kmh.settings import Settings

    catalog = open_catalog(Settings())  # the command line's writes are in the audit log, as the API's are
    try:
        entries, _ = catalog.audit_log()
        assert [e.action for e in entries] == ["document.delete"] + ["document.ingest"] * 3
        assert entries[0].target == doc_id and {e.actor for e in entries} == {"cli"}
    finally:
        catalog.close()


def test_help_explains_commands():
    out = kmh("--help").stdout
    for cmd in ("ingest", "search", "docs", "setup-models"):
        assert cmd in out
    assert "meta.yaml" in kmh("ingest", "--help").stdout


# What `kmh --help` listed when the command line was one module (kmh/cli.py, then cli/main.py), in its order, with
# crawl (website import) after ingest, and synth-handbook and synth-scan (the sample handbook's PDF and scanned note)
# beside synth-seminar.
COMMANDS = ["setup-models", "ingest", "crawl", "check", "search", "synth-seminar", "synth-handbook", "synth-scan", "eval",
            "serve", "backup", "restore", "keys", "docs"]
SUBCOMMANDS = {"keys": ["create", "list", "revoke"], "docs": ["list", "show", "rm"]}


def listed_commands(*args: str) -> list[str]:
    """The names in the Commands panel of `kmh ARGS --help`, run as the entry point runs it."""
    proc = subprocess.run([sys.executable, "-c", "from cli.main import app; app()", *args, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return re.findall(r"^│ ([a-z][a-z-]*)  ", proc.stdout[proc.stdout.index("─ Commands ─"):], flags=re.M)


def test_help_lists_every_command():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"kmh": "cli.main:app"}
    assert listed_commands() == COMMANDS
    for group, names in SUBCOMMANDS.items():
        assert listed_commands(group) == names


def test_bad_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("KMH_STORE_BACKEND", "elastic")
    result = kmh("docs", "list")
    assert result.exit_code == 2
    assert "KMH_STORE_BACKEND" in result.stderr


def test_ingest_and_search_work_without_any_network(tmp_path, news):
    """Run the real command in a fresh network namespace with no interface up: any download would fail."""
    exe = Path(sys.executable).with_name("kmh")
    env = {**os.environ, "KMH_DATA_DIR": str(tmp_path / "offline-data")}
    script = f"{exe} ingest {news} && {exe} search --json 'AVRR au Maroc'"
    proc = subprocess.run(["unshare", "-n", "bash", "-c", script], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 new" in proc.stdout
    hits = json.loads(proc.stdout[proc.stdout.index("["):])
    assert hits and hits[0]["filename"] == "maroc-avrr-foras-11300-migrants.txt"


def test_ingest_while_a_server_holds_the_store_says_how_to_publish(news, isolated_data):
    """The store is locked by another owner: with a live server recorded in the data folder, the message names it
    and gives the upload command; without one, the plain lock message. Nothing is written either way."""
    from api.server import write_server_info
    from kmh.runtime import open_vector_store
    from kmh.settings import Settings

    settings = Settings()
    holder = open_vector_store(settings)  # stands for the server's open store (the lock is per open handle)
    try:
        result = kmh("ingest", str(news))
        assert result.exit_code == 3
        assert "already open" in result.output and "Qdrant server" in result.output
        info = write_server_info(settings, "http://127.0.0.1:8123")  # this process is alive: a live server
        result = kmh("ingest", str(news))
        assert result.exit_code == 3
        out = " ".join(result.output.split())
        assert f"the KMH server (pid {os.getpid()}, http://127.0.0.1:8123) holds the index" in out
        assert "curl -H 'Authorization: Bearer KEY' -F file=@report.pdf" in out
        assert "http://127.0.0.1:8123/api/documents" in out and "kmh keys create --role staff" in out
        info.unlink()
    finally:
        holder.close()
    assert catalog_rows() == {}


def test_ingest_of_a_recording_while_a_server_holds_the_store_sends_it_to_the_server(tmp_path, isolated_data):
    """No downtime for a new recording: the message gives the POST /api/recordings command for each file (its
    language and captions) and the page; nothing is written."""
    from api.server import write_server_info
    from kmh.runtime import open_vector_store
    from kmh.settings import Settings
    from tests.helpers import silence, write_wav

    folder = tmp_path / "in"
    folder.mkdir()
    write_wav(folder / "talk.wav", silence(1.0))
    (folder / "talk.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nBonjour\n", encoding="utf-8")
    settings = Settings()
    holder = open_vector_store(settings)
    try:
        info = write_server_info(settings, "http://127.0.0.1:8123")
        result = kmh("ingest", "--language", "fr", str(folder))
        assert result.exit_code == 3
        out = " ".join(result.output.split())
        assert "publish the recordings through the server instead (no need to stop it)" in out, out
        assert (f"curl -H 'Authorization: Bearer KEY' -F file=@{folder / 'talk.wav'} "
                f"-F captions=@{folder / 'talk.vtt'} -F language=fr http://127.0.0.1:8123/api/recordings") in out, out
        assert "http://127.0.0.1:8123/staff/recordings" in out
        info.unlink()
    finally:
        holder.close()
    assert catalog_rows() == {}


def test_keys_create_list_revoke(isolated_data):
    result = kmh("keys", "create", "--role", "staff", "--name", "Aïcha, KMH staff")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("kmh_")
    key_id = key.split("_")[1]
    listed = json.loads(kmh("keys", "list", "--json").stdout)
    assert [(k["id"], k["name"], k["role"], k["revoked_at"]) for k in listed] == [
        (key_id, "Aïcha, KMH staff", "staff", None)]
    assert key.split("_", 2)[2] not in kmh("keys", "list").stdout  # the secret may itself hold "_"
    assert kmh("keys", "create", "--role", "root", "--name", "x").exit_code == 2
    assert kmh("keys", "revoke", "ffffffffffff").exit_code == 1
    assert kmh("keys", "revoke", key_id).exit_code == 0
    assert json.loads(kmh("keys", "list", "--json").stdout)[0]["revoked_at"] is not None

    from kmh.runtime import open_catalog
    from kmh.settings import Settings

    catalog = open_catalog(Settings())
    try:
        assert catalog.authenticate(key) is None
        assert [e.action for e in catalog.audit_log()[0]] == ["key.revoke", "key.create"]
    finally:
        catalog.close()


def test_synth_handbook_typesets_the_sample_pdf_once(tmp_path):
    """`make setup`'s step: the handbook's text in corpus-src/ becomes the PDF in corpus/handbooks/, byte for byte the
    file setup made there (so re-running setup changes no content hash); a second run writes nothing."""
    source = ROOT / "corpus-src" / "handbooks" / "manuel-reintegration-module-1-approche-integree.txt"
    sidecar = CORPUS / "handbooks" / source.with_suffix(".meta.yaml").name
    shutil.copy(sidecar, tmp_path / sidecar.name)
    out = tmp_path / source.with_suffix(".pdf").name
    result = kmh("synth-handbook", str(source), str(out))
    assert result.exit_code == 0 and "".join(result.stdout.split()).endswith(f"{out.name}:written")
    assert out.read_bytes() == (CORPUS / "handbooks" / out.name).read_bytes()
    result = kmh("synth-handbook", str(source), str(out))
    assert result.exit_code == 0 and "up to date" in result.stdout
    result = kmh("synth-handbook", str(tmp_path / "absent.txt"), str(tmp_path / "absent.pdf"))
    assert result.exit_code == 1 and "absent.txt:cannotread" in "".join(result.stderr.split())
    assert not (tmp_path / "absent.pdf").exists()
