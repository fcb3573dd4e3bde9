"""The ingest path as one Haystack Pipeline, and how a batch of prepared files goes through it.

    chunker (documents) ─┐
                         ├─ joiner ─ decisions ─ sparse ─ embedder ─┬─ writer   (passages written, their checks)
    transcripts ─────────┘                                          └─ topics   (topics suggested)

The chunkers cut the parsed documents and the recordings' transcripts into passages, ``decisions`` carries the
organisers' topic decisions of the prior versions to them, ``sparse`` adds the BM25 vector, ``embedder`` the dense
vector and the sentence multivector, ``writer`` upserts them into the vector store; ``topics`` suggests topics.
Haystack copies a component's inputs before it runs: the BM25 step comes before the embedder so that only two
components (writer, topics) receive the embedded passages, whose multivectors are costly to copy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from haystack import Pipeline
from haystack.components.joiners import DocumentJoiner

from ingest.components.chunker import PassageChunker, PassageSource
from ingest.components.decisions import DecisionCarrier
from ingest.components.passages import PassageEmbedder
from ingest.components.sparse import Bm25DocumentEncoder
from ingest.components.topics import PassageTopics
from ingest.components.transcripts import TranscriptChunker, TranscriptSource
from ingest.components.writer import PassageWriter
from ingest.model import Progress
from ingest.prepared import Indexed, Prepared

if TYPE_CHECKING:
    from kmh.encoder import TokenEncoder
    from kmh.settings import Settings
    from kmh.store import VectorStore

log = logging.getLogger(__name__)


def ingest_pipeline(settings: Settings, store: VectorStore, *, encoder: TokenEncoder | None = None,
                    topics: PassageTopics | None = None) -> Pipeline:
    """The pipeline over ``store``. ``encoder``: the document encoder to share (else the settings' one, kmh.embedding);
    ``topics``: the topic component to use (ingest.topics.TopicLinks keeps its suggester up to date)."""
    from kmh.embedding import token_encoder

    sentences = settings.sentence_ranking and store.has_sentences
    if settings.sentence_ranking and not store.has_sentences:
        log.warning("the vector store has no sentence vectors (it was created before they existed): passages are "
                    "indexed without them; re-create the index to use the sentence ranking")
    pipeline = Pipeline()
    pipeline.add_component("chunker", PassageChunker(settings.chunk_min_words, settings.chunk_max_words,
                                                     settings.chunk_overlap_words, timeout_s=settings.parse_timeout_s))
    pipeline.add_component("transcripts", TranscriptChunker(settings.segment_min_seconds, settings.segment_max_seconds))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="concatenate", sort_by_score=False))
    pipeline.add_component("decisions", DecisionCarrier())
    pipeline.add_component("sparse", Bm25DocumentEncoder())
    pipeline.add_component("embedder", PassageEmbedder(
        encoder or token_encoder(settings), prefix=settings.passage_prefix,
        sentences=settings.sentence_vectors if sentences else None))
    pipeline.add_component("writer", PassageWriter(store))
    pipeline.add_component("topics", topics if topics is not None else PassageTopics())
    pipeline.connect("chunker.documents", "joiner.documents")
    pipeline.connect("transcripts.documents", "joiner.documents")
    pipeline.connect("joiner.documents", "decisions.documents")
    pipeline.connect("decisions.documents", "sparse.documents")
    pipeline.connect("sparse.documents", "embedder.documents")
    pipeline.connect("embedder.documents", "writer.documents")
    pipeline.connect("embedder.documents", "topics.documents")
    return pipeline


def run_batch(pipeline: Pipeline, batch: Sequence[Prepared], progress: Progress | None = None,
              confirmed: dict[str, list[str]] | None = None) -> list[Indexed]:
    """Run ``batch`` through the pipeline: what it made of each file, in order. A file the chunkers could not cut
    has its error and no passages; any other failure raises (nothing of the batch is then committed).

    ``progress`` hears about the embedding; ``confirmed`` (passage id -> topic ids) sets the topics of passages
    written again under their ids (`kmh check --repair`)."""
    data: dict[str, dict[str, Any]] = {
        "chunker": {"sources": [p.source for p in batch if isinstance(p.source, PassageSource)]},
        "transcripts": {"sources": [p.source for p in batch if isinstance(p.source, TranscriptSource)]},
        "decisions": {"carried": [c for p in batch for c in p.carried], "confirmed": confirmed or {}},
    }
    if progress is not None:
        data["embedder"] = {"progress": progress}
    out = pipeline.run(data, include_outputs_from={"decisions"})
    by_doc = {p.record.id: Indexed() for p in batch}
    for doc_id, error in (out["chunker"]["failed"] | out["transcripts"]["failed"]).items():
        by_doc[doc_id].error = error
    for d in out["decisions"]["documents"]:
        by_doc[d.meta["doc_id"]].passages += 1
    for link in out["decisions"]["decisions"]:
        by_doc[link.doc_id].decisions.append(link)
    passage_doc = {d.id: d.meta["doc_id"] for d in out["decisions"]["documents"]}
    for s in out["topics"]["suggestions"]:
        by_doc[passage_doc[s[0]]].suggestions.append(s)
    for c in out["writer"]["checks"]:
        by_doc[c.doc_id].checks.append(c)
    return [by_doc[p.record.id] for p in batch]
