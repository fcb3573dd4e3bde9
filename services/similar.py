"""More like this: what GET /api/passages/{id}/similar and GET /api/documents/{id}/similar answer, and what the
document and recording pages list (search.similar).

Synchronous and transport-free, as services.search: records of the search layer, services.errors raised.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from kmh.catalog import PUBLIC, Audience
from search.similar import MAX_K, SimilarFinder, SimilarResults
from services.errors import DocumentNotFound, InvalidParameter, PassageNotFound
from services.search import closed_filters

if TYPE_CHECKING:
    from search.searcher import Searcher

__all__ = ["MAX_K", "SimilarResults", "similar_to_document", "similar_to_passage"]

DEFAULT_K = 5

_finders: weakref.WeakKeyDictionary[Searcher, SimilarFinder] = weakref.WeakKeyDictionary()
_finders_lock = threading.Lock()


def finder(searcher: Searcher) -> SimilarFinder:
    """The searcher's finder (one per searcher: it keeps the vectors of the documents asked lately)."""
    with _finders_lock:
        found = _finders.get(searcher)
        if found is None:
            found = _finders[searcher] = SimilarFinder(searcher)
        return found


def _check(searcher: Searcher, k: int, lang: str | None, doc_type: str | None) -> tuple[str | None, str | None]:
    if not 1 <= k <= MAX_K:
        raise InvalidParameter("k", f"must be between 1 and {MAX_K}")
    return closed_filters(searcher=searcher, lang=lang, doc_type=doc_type)


def similar_to_passage(*, searcher: Searcher, passage_id: str, k: int = DEFAULT_K, lang: str | None = None,
                       doc_type: str | None = None, reader_lang: str | None = None,
                       audience: Audience = PUBLIC) -> SimilarResults:
    """Up to ``k`` passages of other documents most like this passage, one per document, in any language (``lang``
    and ``doc_type`` narrow them). PassageNotFound for an unknown passage, one of an old version or of a document
    ``audience`` may not see; InvalidParameter for k outside 1..MAX_K; UnknownFilter for an unknown lang or type."""
    lang, doc_type = _check(searcher, k, lang, doc_type)
    found = finder(searcher).to_passage(passage_id, k=k, lang=lang, doc_type=doc_type, reader_lang=reader_lang,
                                        audience=audience)
    if found is None:
        raise PassageNotFound(passage_id)
    return found


def similar_to_document(*, searcher: Searcher, doc_id: str, k: int = DEFAULT_K, lang: str | None = None,
                        doc_type: str | None = None, reader_lang: str | None = None,
                        audience: Audience = PUBLIC) -> SimilarResults:
    """Up to ``k`` other documents and recordings most like this document (or recording) as a whole, each by its
    best passage or segment. DocumentNotFound for an unknown document or one ``audience`` may not see; the other
    errors as similar_to_passage."""
    lang, doc_type = _check(searcher, k, lang, doc_type)
    found = finder(searcher).to_document(doc_id, k=k, lang=lang, doc_type=doc_type, reader_lang=reader_lang,
                                         audience=audience)
    if found is None:
        raise DocumentNotFound(doc_id)
    return found
