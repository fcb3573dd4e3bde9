"""What a file costs is linear in its size: parsing, boilerplate rules, metadata, sentence splitting and chunking.

Each pathological shape goes through the path of an upload (format parser, metadata inference, chunker) at a size
n and 4n in the same run; the CPU time of 4n must stay under 8 times that of n (a quadratic step gives 16), so no
absolute time is asserted. Text without sentence ends is cut at word boundaries, a "word" longer than a passage is
cut hard, chunking has its own deadline, and a 60,000-word line without punctuation is published through the API
while the upload queued after it is published too."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.chunking import SEGMENT_WINDOW, Chunker, ChunkingTimeout
from ingest.components.chunker import PassageChunker
from ingest.metadata import infer_meta
from ingest.model import Block, DocMeta, IngestError, ParsedDocument
from ingest.parsers import parse_bytes
from kmh.settings import Settings
from kmh.store import Filter
from tests.conftest import MODELS
from tests.helpers import api_key, bearer, wait_for_job

MAX_WORDS = 250
SERVER_MAX_WORDS = 2000


def pad_line(words: int) -> str:
    """The report's file: one line, a sentence, then " pad" again and again without punctuation. It reads as English,
    whose segmenter rules took " pa" for an abbreviation and rewrote the whole text once for each "pad"."""
    return "Annual report on reintegration." + " pad" * words


# name -> (file name, text of about n words)
SHAPES = {
    "pad": ("pad.txt", pad_line),
    "one-word": ("word.txt", lambda n: "x" * (4 * n)),
    "long-lines": ("lines.txt", lambda n: "\n".join(" ".join(["mot"] * 2000) for _ in range(n // 2000))),
    "newlines": ("newlines.txt", lambda n: "Début du texte.\n" + "\n" * (2 * n) + "Fin du texte."),
    "sentences": ("phrases.txt", lambda n: " ".join(["Une phrase courte ici."] * (n // 4))),
    "table": ("table.txt", lambda n: "\n".join(["| a | b | c | d |"] * (n // 4))),
    "wrapped-list": ("liste.txt", lambda n: "- premier point\n" + "\n".join(["suite du point"] * (n // 3))),
    "short-paragraphs": ("paras.txt", lambda n: "\n\n".join(f"Un paragraphe {i} qui finit ici." for i in range(n // 6))),
    "md-headings": ("titres.md", lambda n: "\n\n".join(["# Titre", "texte court."] * (n // 3))),
    "md-stops": ("stops.md", lambda n: "\n\n".join(["## Section", "Un texte de suite ici.", "## Articles similaires",
                                                    "Un lien"] * (n // 9))),
    "html-stops": ("stops.html", lambda n: "<html><body>" + "<div><p>Un texte de suite ici.</p>"
                   "<h2>Articles similaires</h2><p>lien</p></div>" * (n // 7) + "</body></html>"),
}


def upload_path(name: str, text: str) -> tuple[str, list[Block]]:
    """Parse, infer metadata and chunk as an upload does; the parsed text."""
    blocks = parse_bytes(name, text.encode("utf-8"))
    meta = infer_meta(blocks, None)
    Chunker(120, MAX_WORDS, 40).split(blocks, meta.language)
    return blocks


def cpu_seconds(name: str, text: str) -> float:
    """The least CPU time of three runs (other processes on the machine do not count)."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        upload_path(name, text)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("shape", list(SHAPES))
def test_cost_grows_linearly_with_the_size(shape):
    name, make = SHAPES[shape]
    upload_path(name, make(1000))  # loads the parsers and models
    small, large = make(6000), make(24000)
    assert len(large) >= 3.5 * len(small)
    ratio = cpu_seconds(name, large) / max(cpu_seconds(name, small), 1e-3)
    assert ratio < 8, f"{shape}: 4 times the text cost {ratio:.1f} times the time"


def test_a_pdf_paragraph_of_many_lines_is_joined_in_linear_time():
    from ingest.parsers.pdf import _join_lines

    def cpu(lines: list[str]) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            joined = _join_lines(lines)
            best = min(best, time.process_time() - start)
        assert joined.startswith("réintégration ligne") and joined.endswith("ligne")
        return best

    lines = ["réinté-", "gration ligne"] + ["ligne"] * 20000
    ratio = cpu(lines * 4) / max(cpu(lines), 1e-3)
    assert ratio < 8, f"4 times the lines cost {ratio:.1f} times the time"


def test_the_segmenter_sees_bounded_windows_and_each_character_once(monkeypatch):
    """pysbd's cost grows with the square of its input (one re.sub over the whole text per abbreviation-like word):
    it only ever gets windows of SEGMENT_WINDOW characters, which together hold the text once."""
    import ingest.chunking as chunker

    seen: list[int] = []
    real = chunker._segmenter

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def segment(self, text):
            seen.append(len(text))
            return self.inner.segment(text)

    monkeypatch.setattr(chunker, "_segmenter", lambda language: Counting(real(language)))
    for text in (pad_line(60000), " ".join(["Une phrase courte ici."] * 20000)):
        seen.clear()
        _, passages = Chunker(120, MAX_WORDS, 40).split([Block(text)], "en")
        assert seen and max(seen) <= SEGMENT_WINDOW
        assert sum(seen) <= len(text)
        assert passages


def test_text_without_sentence_ends_is_cut_at_word_boundaries():
    text = pad_line(60000)
    _, passages = Chunker(120, MAX_WORDS, 40).split([Block(text)], "en")
    assert len(passages) >= 60000 // MAX_WORDS
    covered = 0
    for p in passages:
        assert text[p.start:p.end] == p.text
        assert p.start == 0 or text[p.start - 1] == " "
        assert p.end == len(text) or text[p.end] == " "
        assert len(p.text.split()) <= MAX_WORDS * 1.2  # a short last passage may join the one before
        assert p.start <= covered + 1  # no gap
        covered = max(covered, p.end)
    assert covered == len(text)


def test_a_word_longer_than_a_passage_is_cut_hard():
    chunker = Chunker(120, MAX_WORDS, 40)
    word = "x" * 200_000
    text, passages = chunker.split([Block(f"Avant. {word} après")], "fr")
    assert len(passages) >= 200_000 // chunker.max_chars
    assert all(len(p.text) <= chunker.max_chars * 1.2 for p in passages)
    pieces = "".join(p.text for p in passages)
    assert word in pieces and pieces.count("x") == 200_000


def test_a_run_of_headings_keeps_a_bounded_trail():
    blocks = [Block(f"Titre {i}", "title", level=1 + i % 6) for i in range(20000)] + [Block("Le texte enfin.")]
    _, passages = Chunker(120, MAX_WORDS, 40).split(blocks, "fr")
    assert len(passages) == 1
    assert passages[0].text.endswith("Le texte enfin.") and len(passages[0].text.split()) < 40


def test_chunking_past_its_deadline_fails_the_document_with_a_plain_reason(tmp_path):
    with pytest.raises(ChunkingTimeout):
        Chunker().split([Block(pad_line(3000))], "en", deadline=time.monotonic() - 1)
    parsed = ParsedDocument(path=tmp_path / "pad.txt", format="txt", mime="text/plain",
                            blocks=[Block(pad_line(3000))], meta=DocMeta())
    with pytest.raises(IngestError, match=r"took longer than 1e-09 s \(KMH_PARSE_TIMEOUT_S\)") as err:
        PassageChunker(120, MAX_WORDS, 40, timeout_s=1e-9).passages(parsed, {"doc_id": "d", "doc_version": 1})
    assert err.value.path.name == "pad.txt"


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_embedders):
    root = tmp_path_factory.mktemp("linear")
    # Long passages and no sentence vectors: fewer texts to embed on a small CPU, the same parse and chunking path.
    settings = Settings(data_dir=root / "data", models_dir=MODELS, parse_timeout_s=120, chunk_min_words=1000,
                        chunk_max_words=SERVER_MAX_WORDS, sentence_ranking=False)
    key = api_key(settings, "staff")
    with TestClient(create_app(settings)) as client:
        yield client, key


def test_a_long_line_without_punctuation_is_published_and_the_next_upload_too(server):
    client, key = server
    text = pad_line(60000)
    assert len(text.encode()) > 240_000
    first = client.post("/api/documents", headers=bearer(key), files={"file": ("pad.txt", text.encode())})
    second = client.post("/api/documents", headers=bearer(key), files={
        "file": ("suivant.txt", "Les conseillers accompagnent les personnes de retour pendant six mois.".encode())})
    assert first.status_code == 202 and second.status_code == 202
    job = wait_for_job(client, first.json(), key, timeout=420)
    assert job["state"] == "done", job
    assert wait_for_job(client, second.json(), key, timeout=120)["state"] == "done"

    doc_id = first.json()["doc_id"]
    store = client.app.state.runtime.store
    hits = []
    offset = None
    while True:
        page, offset = store.scroll(Filter(equals={"doc_id": doc_id}), limit=256, offset=offset)
        hits += page
        if offset is None:
            break
    assert len(hits) >= 60000 // SERVER_MAX_WORDS
    words = 0
    for hit in hits:
        passage = hit.payload["text"]
        assert text[hit.payload["start"]:hit.payload["end"]] == passage
        assert re.fullmatch(r"\S+( \S+)*", passage)  # whole words, cut at spaces
        assert hit.payload["start"] == 0 or text[hit.payload["start"] - 1] == " "
        assert hit.payload["end"] == len(text) or text[hit.payload["end"]] == " "
        assert len(passage.split()) <= SERVER_MAX_WORDS * 1.2
        words += len(passage.split())
    assert words >= 60000
