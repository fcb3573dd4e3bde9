"""The topic taxonomy (``corpus/topics.yaml``) and the suggester that links passages to topics.

A topic has an id, a label and a description in French and English. The suggester embeds each
topic once and compares passages' stored vectors with the topics' vectors by cosine similarity.

Choices, measured on ``tests/eval/topic_links.jsonl`` (60 passages, 73 passage→topic links):

- What is embedded (``topic_texts``): "query: " + label + ". " + description, once per language.
  A topic plays the part of a query looking for passages; "query: " separates relevant from
  unrelated pairs better than "passage: " (ROC AUC 0.963 against 0.953), and label + description
  better than the description alone (0.952) or the label alone (0.869).
- The two languages: the mean of the French and English vectors (``combine="mean"``), as good as
  the better of the two scores ("max", AUC 0.962) with one vector per topic.
- The score is relative (``relative=True``): the cosine minus the passage's mean cosine over all
  topics. e5 cosines sit in a narrow band (0.79–0.91 here) whose level depends on the passage,
  French passages scoring higher on every topic than English ones; centring removes that offset
  (AUC 0.951 with raw cosines, 0.963 centred). Scores and the threshold are on this relative
  scale, which depends on the whole taxonomy: re-measure the threshold when topics change.
- Defaults: threshold 0.025, at most 3 topics per passage: precision 0.857, recall 0.740 on the
  labelled set (French 0.80/0.66, English 1.00/0.95); no topic for the boilerplate passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
from haystack import Document, component

LANGUAGES = ("fr", "en")
GROUPS = ("level", "dimension", "theme")
TOPIC_FIELDS = ("id", "label", "description", "parent", "group")
TOPIC_PREFIX = "query: "
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Defaults measured on the corpus (see the module docstring and tests/eval/topic_links.jsonl).
DEFAULT_THRESHOLD = 0.025
DEFAULT_MAX_PER_PASSAGE = 3


class TopicsError(ValueError):
    """The taxonomy file is invalid; the message names the file and the field."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class Topic:
    """One topic of the taxonomy; ``label`` and ``description`` map "fr" and "en" to text."""

    id: str
    label: dict[str, str]
    description: dict[str, str]
    parent: str | None = None
    group: str | None = None


def load_topics(path: Path | str) -> list[Topic]:
    """The topics of a taxonomy file, in file order; raises TopicsError naming the field at fault."""
    from kmh.yamlfile import read_yaml

    path = Path(path)
    raw = read_yaml(path, TopicsError)
    if not isinstance(raw, dict) or "topics" not in raw:
        raise TopicsError(path, "topics: missing (the file must be a mapping with a 'topics' list)")
    unknown = [str(k) for k in raw if k != "topics"]
    if unknown:
        raise TopicsError(path, f"{unknown[0]}: unknown field (allowed: topics)")
    items = raw["topics"]
    if not isinstance(items, list) or not items:
        raise TopicsError(path, "topics: must be a non-empty list")

    topics: list[Topic] = []
    where: dict[str, int] = {}
    for i, item in enumerate(items):
        at = f"topics[{i}]"
        if not isinstance(item, dict):
            raise TopicsError(path, f"{at}: must be a mapping of field: value")
        for key in item:
            if key not in TOPIC_FIELDS:
                raise TopicsError(path, f"{at}.{key}: unknown field (allowed: {', '.join(TOPIC_FIELDS)})")
        topic_id = item.get("id")
        if topic_id is None:
            raise TopicsError(path, f"{at}.id: missing")
        if not isinstance(topic_id, str) or not _ID.fullmatch(topic_id):
            raise TopicsError(path, f"{at}.id: {topic_id!r} is not a kebab-case id (e.g. community-level)")
        if topic_id in where:
            raise TopicsError(path, f"{at}.id: {topic_id!r} already used by topics[{where[topic_id]}]")
        where[topic_id] = i
        label = _bilingual(path, f"{at}.label", item.get("label"))
        description = _bilingual(path, f"{at}.description", item.get("description"))
        group = item.get("group")
        if group is not None and group not in GROUPS:
            raise TopicsError(path, f"{at}.group: {group!r} is not one of {', '.join(GROUPS)}")
        parent = item.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise TopicsError(path, f"{at}.parent: must be a topic id")
        topics.append(Topic(topic_id, label, description, parent, group))

    for i, topic in enumerate(topics):
        if topic.parent is None:
            continue
        if topic.parent not in where:
            raise TopicsError(path, f"topics[{i}].parent: unknown topic {topic.parent!r}")
        seen, current = {topic.id}, topic.parent
        while current is not None:
            if current in seen:
                raise TopicsError(path, f"topics[{i}].parent: {topic.parent!r} makes a cycle")
            seen.add(current)
            current = topics[where[current]].parent
    return topics


def _bilingual(path: Path, at: str, value: Any) -> dict[str, str]:
    if value is None:
        raise TopicsError(path, f"{at}: missing")
    if not isinstance(value, dict):
        raise TopicsError(path, f"{at}: must be a mapping with fr and en")
    for lang in value:
        if lang not in LANGUAGES:
            raise TopicsError(path, f"{at}.{lang}: unknown language (allowed: {', '.join(LANGUAGES)})")
    out = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if text is None or (isinstance(text, str) and not text.strip()):
            raise TopicsError(path, f"{at}.{lang}: missing")
        if not isinstance(text, str):
            raise TopicsError(path, f"{at}.{lang}: must be text")
        out[lang] = re.sub(r"\s+", " ", text).strip()
    return out


def topic_texts(topic: Topic, prefix: str = TOPIC_PREFIX) -> list[str]:
    """What is embedded for a topic: prefix + label + description, one text per language (fr, en)."""
    texts = []
    for lang in LANGUAGES:
        label = topic.label[lang].rstrip(" .")
        texts.append(f"{prefix}{label}. {topic.description[lang]}")
    return texts


Embed = Callable[[list[str]], np.ndarray]


def as_embed(embedder: Any, prefix: str = TOPIC_PREFIX) -> tuple[Embed, str]:
    """A batch function ``embed(texts) -> (n, dim) array`` and the prefix the topic texts still need.

    ``embedder`` is such a callable (it embeds the texts as given) or a Haystack text embedder
    (``run(text) -> {"embedding"}``); one that adds a prefix of its own must add ``prefix``.
    """
    if hasattr(embedder, "run"):
        own = getattr(embedder, "prefix", "") or ""
        if own and own != prefix:
            raise ValueError(f"the embedder adds the prefix {own!r}; topics are embedded with {prefix!r}")
        if hasattr(embedder, "warm_up"):
            embedder.warm_up()

        def embed(texts: list[str]) -> np.ndarray:
            return np.asarray([embedder.run(text=t)["embedding"] for t in texts], dtype=np.float32)

        return embed, "" if own else prefix
    if callable(embedder):
        return embedder, prefix
    raise TypeError("embedder must be a callable embed(texts) -> array or an object with run(text) -> {'embedding'}")


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


@component
class TopicSuggester:
    """Suggests topics for passages from their embeddings (cosine similarity to each topic's texts)."""

    def __init__(self, topics: Sequence[Topic], threshold: float = DEFAULT_THRESHOLD,
                 max_per_passage: int = DEFAULT_MAX_PER_PASSAGE, combine: Literal["mean", "max"] = "mean",
                 relative: bool = True, embed: Any = None, prefix: str = TOPIC_PREFIX):
        topics = list(topics)
        if not topics:
            raise ValueError("topics must not be empty")
        ids = [t.id for t in topics]
        if len(set(ids)) != len(ids):
            raise ValueError("topic ids must be unique")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be a number in [-1, 1], got {threshold!r}")
        if isinstance(max_per_passage, bool) or not isinstance(max_per_passage, int) or max_per_passage < 1:
            raise ValueError(f"max_per_passage must be a positive integer, got {max_per_passage!r}")
        if combine not in ("max", "mean"):
            raise ValueError(f"combine must be 'max' or 'mean', got {combine!r}")
        self.topics = topics
        self.ids = ids
        self.threshold = float(threshold)
        self.max_per_passage = max_per_passage
        self.combine = combine
        self.relative = bool(relative)
        self.embed = embed
        self.prefix = prefix
        self._vectors: np.ndarray | None = None  # (topics, languages, dim), unit length

    @property
    def fitted(self) -> bool:
        return self._vectors is not None

    def warm_up(self) -> None:
        """Embed the topics with the ``embed`` given at construction (once)."""
        if self._vectors is not None:
            return
        if self.embed is None:
            raise RuntimeError("TopicSuggester has no embedder: pass embed=... or call fit(embedder)")
        self.fit(self.embed)

    def fit(self, embedder: Any) -> "TopicSuggester":
        """Embed every topic's texts with ``embedder`` (see ``as_embed``); returns self."""
        embed, prefix = as_embed(embedder, self.prefix)
        texts = [text for topic in self.topics for text in topic_texts(topic, prefix)]
        vectors = np.asarray(embed(texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"embed returned shape {vectors.shape} for {len(texts)} texts")
        self._vectors = _normalise(vectors).reshape(len(self.topics), len(LANGUAGES), -1)
        return self

    def scores(self, passage_vectors: np.ndarray) -> np.ndarray:
        """(passages, topics) scores: cosine similarity, the two languages combined, relative if ``relative``."""
        if self._vectors is None:
            raise RuntimeError("TopicSuggester is not fitted: call warm_up() or fit(embedder) first")
        p = np.asarray(passage_vectors, dtype=np.float32)
        if p.ndim == 1:
            p = p[None, :]
        if p.ndim != 2 or p.shape[1] != self._vectors.shape[2]:
            raise ValueError(f"passage vectors of shape {p.shape} do not match topic vectors of size "
                             f"{self._vectors.shape[2]}")
        p = _normalise(p)
        if self.combine == "mean":
            cosines = p @ _normalise(self._vectors.mean(axis=1)).T
        else:
            cosines = np.einsum("pd,tld->ptl", p, self._vectors).max(axis=2)
        if self.relative:
            cosines = cosines - cosines.mean(axis=1, keepdims=True)
        return cosines

    def suggest(self, passage_vectors: np.ndarray) -> list[list[tuple[str, float]]]:
        """For each passage, (topic id, score) pairs at or above the threshold, best first, at most max_per_passage."""
        out = []
        for row in self.scores(passage_vectors):
            order = np.argsort(-row, kind="stable")[: self.max_per_passage]
            out.append([(self.ids[j], round(float(row[j]), 4)) for j in order if row[j] >= self.threshold])
        return out

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Copies of the documents with ``meta["topics"]`` (ids, best first) where they carry an embedding."""
        from dataclasses import replace

        if self._vectors is None:
            self.warm_up()
        embedded = [i for i, d in enumerate(documents) if d.embedding is not None]
        out = list(documents)
        if embedded:
            found = self.suggest(np.asarray([documents[i].embedding for i in embedded]))
            for i, row in zip(embedded, found):
                out[i] = replace(documents[i], meta={**documents[i].meta, "topics": [t for t, _ in row]})
        return {"documents": out}
