"""Chunking along the structure: pages, sections, sentence boundaries, sizes, offsets."""

import pytest

from ingest.chunking import Chunker, join_blocks
from ingest.model import Block

SENT = "La réintégration durable demande un appui économique, social et psychosocial aux personnes de retour."  # 15 words


def para(n: int, tag: str = "") -> str:
    return " ".join(f"{SENT[:-1]} cas{tag}{i}x." for i in range(n))


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="min_words"):
        Chunker(min_words=300, max_words=250)
    with pytest.raises(ValueError, match="overlap"):
        Chunker(min_words=50, max_words=100, overlap_words=60)


def test_offsets_slice_the_parsed_text_and_sizes_stay_in_bounds():
    blocks = [Block("Introduction", "title", level=1), Block(para(60)), Block("Suite", "title", level=1), Block(para(30))]
    text, passages = Chunker(120, 250, 40).split(blocks, "fr")
    assert text == join_blocks(blocks)[0]
    assert len(passages) >= 4
    for p in passages:
        assert text[p.start : p.end] == p.text
        assert p.words <= 250 * 1.2
        assert p.text.rstrip().endswith(".")  # cut at a sentence end
    assert all(p.words >= 60 for p in passages)


def test_passages_never_cross_a_page_and_keep_their_page():
    blocks = [
        Block("Chapitre 1", "title", page=1, level=1),
        Block(para(5, "a"), page=1),
        Block(para(5, "b"), page=2),
        Block(para(30, "c"), page=3),
    ]
    text, passages = Chunker(120, 250, 40).split(blocks, "fr")
    pages = {p.page for p in passages}
    assert pages == {1, 2, 3}
    for p in passages:
        tags = {c for c in "abc" if f"cas{c}0x." in p.text or f"cas{c}1x." in p.text}
        assert len(tags) <= 1, p.text  # text of one page only
    assert [p.page for p in passages] == sorted(p.page for p in passages)


def test_section_path_follows_heading_levels():
    blocks = [
        Block("Module 1", "title", level=1),
        Block("Introduction", "title", level=2),
        Block(para(12)),
        Block("Principaux messages", "title", level=2),
        Block(para(12)),
        Block("Module 2", "title", level=1),
        Block(para(12)),
    ]
    _, passages = Chunker(120, 250, 40).split(blocks, "fr")
    sections = [p.section_path for p in passages]
    assert ["Module 1", "Introduction"] in sections
    assert ["Module 1", "Principaux messages"] in sections
    assert ["Module 2"] in sections


def test_consecutive_passages_overlap_by_whole_sentences():
    text, passages = Chunker(60, 100, 30).split([Block(para(30))], "fr")
    assert len(passages) >= 4
    for a, b in zip(passages, passages[1:]):
        assert b.start < a.end  # overlap
        assert len(text[b.start : a.end].split()) <= 30
        assert b.text.startswith("La réintégration")  # starts on a sentence


def test_a_sentence_longer_than_max_words_is_cut():
    long = " ".join(["mot"] * 700) + "."
    _, passages = Chunker(120, 250, 40).split([Block(long)], "fr")
    assert all(p.words <= 250 for p in passages)
    assert sum(p.words for p in passages) >= 700


def test_short_sections_merge_with_the_next_on_the_same_page():
    blocks = [Block("Dates", "title"), Block("Du 1er au 2 décembre 2021"), Block("Objectifs", "title"), Block(para(10))]
    _, passages = Chunker(120, 250, 40).split(blocks, "fr")
    assert len(passages) == 1
    assert passages[0].text.startswith("Dates")
    assert passages[0].section_path == ["Objectifs"]  # the section holding most of its words


def test_passages_list_their_sentences_without_headings():
    blocks = [Block("Principaux messages", "title"), Block(para(6)), Block("Une liste :", "text"),
              Block("premier point de la liste", "list_item"), Block(para(4, "b"))]
    _, passages = Chunker(60, 100, 20).split(blocks, "fr")
    assert len(passages) >= 2
    for p in passages:
        pieces = [p.text[a:b] for a, b in p.sentences]
        assert pieces and all(x and x == x.strip() for x in pieces)
        assert "Principaux messages" not in pieces
        assert [a for a, _ in p.sentences] == sorted(a for a, _ in p.sentences)
        assert all(x.startswith("La réintégration") or x in ("Une liste :", "premier point de la liste")
                   for x in pieces)
    first = passages[0]
    assert first.text.startswith("Principaux messages") and first.sentences[0][0] > 0
    assert "premier point de la liste" in [p.text[a:b] for p in passages for a, b in p.sentences]


# --- the pipeline's chunkers: a batch of sources, each failing alone ------------------------------------------


def test_passage_chunker_cuts_a_batch_and_names_the_source_it_cannot_cut(tmp_path):
    from ingest.components.chunker import PassageChunker, PassageSource
    from ingest.model import DocMeta, IngestError, ParsedDocument

    def source(name: str, blocks: list[Block], doc_id: str) -> PassageSource:
        parsed = ParsedDocument(tmp_path / name, "txt", "text/plain", blocks, DocMeta())
        return PassageSource(parsed, {"doc_id": doc_id, "doc_version": 2, "language": "fr", "title": name})

    full = source("plein.txt", [Block("Introduction", "title"), Block(para(30))], "a" * 12)
    empty = source("vide.txt", [Block("   ")], "b" * 12)
    out = PassageChunker(120, 250, 40).run(sources=[full, empty])
    assert set(out["failed"]) == {"b" * 12}
    error = out["failed"]["b" * 12]
    assert isinstance(error, IngestError) and error.reason == "no text could be extracted"
    assert error.path.name == "vide.txt"
    docs = out["documents"]
    assert len(docs) >= 2 and {d.meta["doc_id"] for d in docs} == {"a" * 12}
    assert [d.meta["index"] for d in docs] == list(range(len(docs)))
    assert all(d.meta["doc_version"] == 2 and d.meta["kind"] == "document" and d.meta["title"] == "plein.txt"
               for d in docs)
    assert len({d.id for d in docs}) == len(docs)


def test_transcript_chunker_cites_seconds_and_sessions(tmp_path):
    from ingest.components.transcripts import TranscriptChunker, TranscriptSource
    from ingest.media.windows import Session
    from ingest.model import IngestError
    from ingest.plan import SeminarContext

    cues = [{"start": 10.0 * i, "end": 10.0 * i + 9, "text": f"Phrase numéro {i} sur la réintégration.",
             "speaker": "Awa" if i < 6 else None} for i in range(12)]
    ctx = SeminarContext("sem", "Séminaire", None, [Session(1, 0.0, 60.0, ("Awa",)), Session(2, 60.0, 120.0)],
                         {1: "Ouverture"}, "day-1")
    talk = TranscriptSource(tmp_path / "talk.wav", cues, ctx, {"doc_id": "c" * 12, "doc_version": 1})
    silent = TranscriptSource(tmp_path / "silent.wav", [], None, {"doc_id": "d" * 12, "doc_version": 1})
    out = TranscriptChunker(30.0, 60.0).run(sources=[talk, silent])
    assert isinstance(out["failed"]["d" * 12], IngestError)
    assert out["failed"]["d" * 12].reason == "the transcript has no text"
    docs = out["documents"]
    assert {d.meta["session"] for d in docs} == {1, 2}  # never across a session
    assert all(d.meta["end"] <= 60.0 for d in docs if d.meta["session"] == 1)
    assert {d.meta["section"] for d in docs} == {"Session 1 · Ouverture", "Session 2"}
    assert all(d.meta["kind"] == "recording" and d.meta["seminar_id"] == "sem" for d in docs)


def test_chunkers_serialise_with_their_settings():
    from haystack.core.serialization import component_from_dict, component_to_dict

    from ingest.components.chunker import PassageChunker
    from ingest.components.transcripts import TranscriptChunker

    for made in (PassageChunker(100, 200, 30, timeout_s=5.0), TranscriptChunker(20.0, 45.0)):
        data = component_to_dict(made, "chunker")
        assert component_to_dict(component_from_dict(type(made), data, "chunker"), "chunker") == data
    assert component_to_dict(PassageChunker(100, 200, 30, timeout_s=5.0), "chunker")["init_parameters"] == {
        "min_words": 100, "max_words": 200, "overlap_words": 30, "timeout_s": 5.0}
