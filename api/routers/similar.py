"""More like this: GET /api/passages/{passage_id}/similar and GET /api/documents/{doc_id}/similar."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query

from api.deps import AudienceDep, CpuLimiterDep, SearcherDep
from api.errors import problem_responses
from api.schemas import SimilarResponse
from kmh.catalog.models import DOC_TYPES
from kmh.language import LANGUAGES
from services import similar as service

router = APIRouter(prefix="/api", tags=["similar"])

K = Annotated[int, Query(ge=1, le=service.MAX_K, description="Hits, at most one per document")]
Lang = Annotated[str | None, Query(max_length=20, description=f"Only passages in this language, ISO 639-1, in any "
                                   f"case: {', '.join(LANGUAGES)} or any other a document was given")]
DocType = Annotated[str | None, Query(alias="type", max_length=40, description=f"Only this document type, in any "
                                      f"case: {', '.join(DOC_TYPES)}")]
ReaderLang = Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="The reader's language, ISO 639-1: of "
                                         "another publication with several language editions, the hit shows the one "
                                         "in it (else in the source's language) and links the others")]


@router.get(
    "/passages/{passage_id}/similar",
    response_model=SimilarResponse,
    summary="Passages like this one, in any language",
    responses=problem_responses(404, 422, 503),
)
async def passage_similar(
    searcher: SearcherDep,
    limiter: CpuLimiterDep,
    audience: AudienceDep,
    passage_id: Annotated[str, Path(max_length=100, description="A passage id (search hits, documents' passages)")],
    k: K = service.DEFAULT_K,
    lang: Lang = None,
    doc_type: DocType = None,
    reader_lang: ReaderLang = None,
) -> SimilarResponse:
    find = partial(service.similar_to_passage, searcher=searcher, passage_id=passage_id, k=k, lang=lang,
                   doc_type=doc_type, reader_lang=reader_lang.lower() if reader_lang else None, audience=audience)
    return SimilarResponse.from_results("passage", await anyio.to_thread.run_sync(find, limiter=limiter))


@router.get(
    "/documents/{doc_id}/similar",
    response_model=SimilarResponse,
    summary="Documents and recording segments like this document, in any language",
    responses=problem_responses(404, 422, 503),
)
async def document_similar(
    searcher: SearcherDep,
    limiter: CpuLimiterDep,
    audience: AudienceDep,
    doc_id: Annotated[str, Path(max_length=64, description="A document or recording id")],
    k: K = service.DEFAULT_K,
    lang: Lang = None,
    doc_type: DocType = None,
    reader_lang: ReaderLang = None,
) -> SimilarResponse:
    find = partial(service.similar_to_document, searcher=searcher, doc_id=doc_id, k=k, lang=lang, doc_type=doc_type,
                   reader_lang=reader_lang.lower() if reader_lang else None, audience=audience)
    return SimilarResponse.from_results("document", await anyio.to_thread.run_sync(find, limiter=limiter))
