"""One hit per publication: when several language editions of a publication match, search shows one of them, the
one in the reader's language if it matched, else the best-ranked one; the others are linked from its hits.

The shown edition's hits take the places of all the publication's hits in the ranking, in order (so it stands where
the publication's best hit stood); hits of the other editions beyond them are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")


def shown_editions(doc_ids: Sequence[str], publication_of: Mapping[str, str], language_of: Mapping[str, str | None],
                   preferred: str | None) -> dict[str, str]:
    """The edition shown of each publication among ``doc_ids`` (documents in ranking order; those absent from
    ``publication_of`` have no other edition), by publication id: the first in ``preferred`` language, else the
    first ranked."""
    shown: dict[str, str] = {}
    for doc_id in doc_ids:
        pub = publication_of.get(doc_id)
        if pub is None:
            continue
        current = shown.get(pub)
        if current is None or (preferred is not None and language_of.get(doc_id) == preferred
                               and language_of.get(current) != preferred):
            shown[pub] = doc_id
    return shown


def one_edition_per_publication(items: Sequence[T], doc_of: Callable[[T], str], publication_of: Mapping[str, str],
                                language_of: Mapping[str, str | None], preferred: str | None) -> list[T]:
    """``items`` (hits in ranking order, ``doc_of`` giving each one's document) with one edition per publication:
    see the module. ``publication_of`` maps each document that has other editions to its publication,
    ``language_of`` documents to their language."""
    if not publication_of:
        return list(items)
    shown = shown_editions([doc_of(x) for x in items], publication_of, language_of, preferred)
    queues: dict[str, list[T]] = {}
    for x in items:
        pub = publication_of.get(doc_of(x))
        if pub is not None and shown[pub] == doc_of(x):
            queues.setdefault(pub, []).append(x)
    out: list[T] = []
    for x in items:
        pub = publication_of.get(doc_of(x))
        if pub is None:
            out.append(x)
        elif queues[pub]:
            out.append(queues[pub].pop(0))
    return out
