"""Citations: GET /api/documents/{doc_id}/citation and GET /api/passages/{passage_id}/citation, a reference to paste
into a report (text, in French or English) or to import into a reference manager (RIS, BibTeX, CSL-JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import AudienceDep, CatalogDep, SearcherDep, SettingsDep, public_base
from api.errors import problem_responses
from api.schemas import CitationFormats
from api.urls import citation_api_url, linked_reference
from kmh.citation import FORMATS, MEDIA_TYPES, as_csl, filename, render
from kmh.language import accepted_language
from kmh.settings import Settings
from services import citations
from services.citations import Cited

router = APIRouter(prefix="/api", tags=["citations"])

OutFormat = Literal["text", "ris", "bibtex", "csl-json", "json"]
FormatQuery = Annotated[OutFormat, Query(
    alias="format", description="text: a reference to paste (text/plain); ris, bibtex, csl-json: a file for a reference "
    "manager (sent as an attachment); json: all four at once (CitationFormats)")]
LangQuery = Annotated[Literal["fr", "en"] | None, Query(
    description="The language of the words the reference adds (accessed, session, recording…); default: the "
                "first of fr or en in Accept-Language, else en")]

_STRING = {"schema": {"type": "string"}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The reference in the format asked for",
          "content": {"text/plain": _STRING, MEDIA_TYPES["ris"]: _STRING, MEDIA_TYPES["bibtex"]: _STRING,
                      MEDIA_TYPES["csl-json"]: {"schema": {"type": "array",
                                                           "items": {"$ref": "#/components/schemas/CslItem"}}}}},
    **problem_responses(404, 422, 503),
}
# The files carry non-ASCII text: say it is UTF-8 (JSON always is).
_CONTENT_TYPES = {**MEDIA_TYPES, "ris": MEDIA_TYPES["ris"] + "; charset=utf-8",
                  "bibtex": MEDIA_TYPES["bibtex"] + "; charset=utf-8"}


@router.get("/documents/{doc_id}/citation", response_model=CitationFormats, responses=RESPONSES,
            summary="Cite a document or recording: a text reference (fr, en), RIS, BibTeX or CSL-JSON")
def document_citation(request: Request, catalog: CatalogDep, settings: SettingsDep, audience: AudienceDep,
                      doc_id: Annotated[str, Path(max_length=64, description="A document id (12 hex characters)")],
                      fmt: FormatQuery = "text", lang: LangQuery = None) -> Response:
    lang = lang or reader_language(request.headers.get("accept-language"))
    cited = citations.document_reference(catalog=catalog, doc_id=doc_id, lang=lang, audience=audience)
    return _answer(request, settings, cited, fmt, lang, citation_api_url(doc_id=doc_id))


@router.get("/passages/{passage_id}/citation", response_model=CitationFormats, responses=RESPONSES,
            summary="Cite a passage at its page, or a recording segment at its second (speaker, session)")
def passage_citation(request: Request, searcher: SearcherDep, settings: SettingsDep, audience: AudienceDep,
                     passage_id: Annotated[str, Path(max_length=100, description="A passage id from a search hit")],
                     fmt: FormatQuery = "text", lang: LangQuery = None,
                     t: Annotated[float | None, Query(ge=0, le=1e6, description=(
                         "Recording segments: cite the segment from this second of it (the moment a search hit "
                         "plays from); a second outside the segment is a 422"))] = None) -> Response:
    lang = lang or reader_language(request.headers.get("accept-language"))
    cited = citations.passage_reference(searcher=searcher, passage_id=passage_id, lang=lang, audience=audience, at=t)
    route = citation_api_url(passage_id=passage_id)
    return _answer(request, settings, cited, fmt, lang, route, "" if t is None else f"&t={t:g}")


def _answer(request: Request, settings: Settings, cited: Cited, fmt: str, lang: str, route: str,
            more: str = "") -> Response:
    ref = linked_reference(cited.reference, cited.web_url, public_base(request, settings))
    accessed = datetime.now(UTC).date()
    if fmt == "json":
        files = {f: f"{route}?format={f}&lang={lang}{more}" for f in FORMATS}
        body = {"key": ref.key, "lang": lang, "url": ref.url, "files": files,
                "csl-json": as_csl(ref, lang, accessed), **{f: render(ref, f, lang, accessed) for f in FORMATS[:3]}}
        return JSONResponse(CitationFormats.model_validate(body).model_dump(mode="json", by_alias=True,
                                                                             exclude_none=True))
    body = render(ref, fmt, lang, accessed)
    headers = {"Content-Language": lang}
    if fmt != "text":
        headers["Content-Disposition"] = f'attachment; filename="{filename(ref, fmt)}"'
    return Response(body, media_type=_CONTENT_TYPES[fmt], headers=headers)


def reader_language(accept: str | None) -> str:
    """fr or en, whichever ``Accept-Language`` prefers (by q-value, then order); en without either."""
    return accepted_language(accept, ("fr", "en")) or "en"
