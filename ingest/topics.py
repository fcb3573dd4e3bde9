"""Topics at ingestion: the taxonomy file loaded into the catalog, the suggester that follows it, topics suggested
again when it changes, and the organisers' decisions to carry to a document's next version."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.components.decisions import CarriedDecision
from ingest.components.topics import PassageTopics
from ingest.model import FileResult, IngestError
from kmh.settings import Settings
from kmh.store import Filter, VectorStore

if TYPE_CHECKING:
    from kmh.catalog import Catalog, DocumentRecord
    from kmh.topics import TopicSuggester

log = logging.getLogger(__name__)


class TopicLinks:
    """Keeps the pipeline's topic component (``component``) on the catalog's taxonomy; the query encoder that
    embeds the topics loads with the first taxonomy."""

    def __init__(self, settings: Settings, catalog: Catalog, store: VectorStore,
                 component: PassageTopics | None = None):
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.component = component if component is not None else PassageTopics()
        self._query_embedder: Any = None  # a Haystack text embedder (kmh.embedding.text_embedder), loaded on need

    @property
    def suggester(self) -> TopicSuggester | None:
        """The kmh.topics.TopicSuggester over the catalog's taxonomy, or None while there is none."""
        return self.component.suggester

    def fit(self) -> None:
        """Fit the suggester to the catalog's taxonomy (None while there is none)."""
        from kmh.topics import Topic, TopicSuggester

        records = self.catalog.topics()
        if not records:
            self.component.suggester = None
            return
        topics = [Topic(r.id, {"fr": r.label_fr, "en": r.label_en}, {"fr": r.description_fr, "en": r.description_en},
                        r.parent, r.grp) for r in records]
        s = self.settings
        suggester = TopicSuggester(topics, threshold=s.topic_threshold, max_per_passage=s.topic_max_per_passage)
        suggester.fit(self._topic_embedder())
        self.component.suggester = suggester

    def _topic_embedder(self) -> Any:
        """Topics are embedded as e5 queries (see kmh.topics): the query encoder, loaded when first needed."""
        if self._query_embedder is None:
            from kmh.embedding import text_embedder

            self._query_embedder = text_embedder(self.settings)
            self._query_embedder.warm_up()
        return self._query_embedder

    def load(self, path: Path) -> FileResult:
        """Load a topic taxonomy file into the catalog (it replaces the previous one); when it changed, topics are
        suggested again for every passage indexed."""
        from kmh.catalog import TopicRecord
        from kmh.topics import TopicsError, load_topics

        try:
            topics = load_topics(path)
        except TopicsError as exc:
            raise IngestError(path, exc.reason) from None
        records = [TopicRecord(t.id, t.label["fr"], t.label["en"], t.description["fr"], t.description["en"],
                               t.parent, t.group) for t in topics]
        first = not self.catalog.topics()
        counts = self.catalog.replace_topics(records)
        changed = any(counts.values())
        if changed or self.suggester is None:
            self.fit()
        if changed:
            self.suggest_again()
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no change"
        status = "new" if first else "updated" if changed else "unchanged"
        return FileResult(path, status, None, f"topics: {len(records)} ({summary})")

    def suggest_again(self) -> int:
        """Suggest topics again for every passage already indexed (the taxonomy changed), from their stored
        vectors; organisers' decisions are kept. Returns how many passages were scored."""
        import numpy as np

        suggester = self.suggester
        done = 0
        for doc in self.catalog.every(page=200) if suggester is not None else ():
            ids = self.store.ids(Filter(equals={"doc_id": doc.id, "doc_version": doc.version}))
            vectors = self.store.dense_vectors(ids)
            ids = [i for i in ids if i in vectors]
            found = suggester.suggest(np.asarray([vectors[i] for i in ids], dtype=np.float32)) if ids else []
            self.catalog.replace_suggestions(doc.id, doc.version, [
                (pid, topic_id, score) for pid, best in zip(ids, found) for topic_id, score in best])
            done += len(ids)
        log.info("topics suggested again for %d passages", done)
        return done

    def carried(self, prior: DocumentRecord | None) -> list[CarriedDecision]:
        """The organisers' decisions (confirmed or rejected topics) on the passages of ``prior``, the version a file
        replaces, each with its passage's payload (ingest.components.decisions carries them over)."""
        if prior is None:
            return []
        decided = [lk for lk in self.catalog.links_of_document(prior.id) if lk.state != "suggested"]
        if not decided:
            return []
        old = {h.id: h.payload for h in self.store.retrieve(list({lk.passage_id for lk in decided}),
                                                             fields=("text", "start", "end", "kind"))}
        return [CarriedDecision(lk, old[lk.passage_id]) for lk in decided if lk.passage_id in old]
