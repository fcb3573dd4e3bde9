"""Haystack component: topics suggested for embedded passages (kmh.topics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict

if TYPE_CHECKING:
    from kmh.topics import TopicSuggester


@component
class PassageTopics:
    """Suggests topics for each passage by the similarity of its vector to the topics' (kmh.topics.TopicSuggester).

    The suggester follows the catalog's taxonomy: ingest.topics.TopicLinks sets it when one is loaded, and there
    are no suggestions while it is None. Suggestions go to the catalog, not into the passages: a passage's payload
    only holds the topics an organiser confirmed."""

    def __init__(self, suggester: TopicSuggester | None = None):
        self.suggester = suggester

    @component.output_types(suggestions=list[tuple[str, str, float]])
    def run(self, documents: list[Document]) -> dict[str, list[tuple[str, str, float]]]:
        """(passage id, topic id, score) for the passages that carry an embedding, best topic first."""
        embedded = [d for d in documents if d.embedding is not None]
        if self.suggester is None or not embedded:
            return {"suggestions": []}
        found = self.suggester.suggest(np.asarray([d.embedding for d in embedded], dtype=np.float32))
        return {"suggestions": [(d.id, topic_id, score)
                                for d, best in zip(embedded, found) for topic_id, score in best]}

    def to_dict(self) -> dict[str, Any]:
        """The component without its suggester: the taxonomy lives in the catalog, not in the pipeline."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassageTopics:
        return default_from_dict(cls, data)
