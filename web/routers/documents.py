"""A document's page: metadata, outline, its passages in reading order (each an anchor), download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import RedirectResponse

from api.deps import AudienceDep, CatalogDep, SearcherDep, StoreDep
from api.schemas import LinkedPassage, SimilarResponse
from api.urls import document_file_url
from services.passages import document_view
from services.similar import similar_to_document
from web import citations
from web.deps import PageDep
from web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/documents/{doc_id}")
def document_page(page: PageDep, catalog: CatalogDep, store: StoreDep, searcher: SearcherDep, audience: AudienceDep,
                  doc_id: Annotated[str, Path(max_length=64)]):
    """Staff and admins also see a retracted document, marked so; for anyone else it is not found. Lists the
    documents and recording segments most like it (services.similar)."""
    view = document_view(catalog=catalog, store=store, doc_id=doc_id, audience=audience)
    if view.recording:
        return RedirectResponse(f"/recordings/{doc_id}", status_code=303)
    doc = view.document
    outline = [dict(section=o.get("section"), level=o.get("level") or 1, page=o.get("page"),
                    url=document_file_url(doc.id, o.get("page")) if o.get("page") else None)
               for o in doc.outline if o.get("section")]
    return render(page.request, page, "document.html", doc=doc,
                  passages=[LinkedPassage.from_ref(p) for p in view.passages], outline=outline, history=view.history,
                  file_url=document_file_url(doc.id), editions=view.editions,
                  similar=SimilarResponse.from_results("document", similar_to_document(
                      searcher=searcher, doc_id=doc.id, reader_lang=page.lang, audience=audience)).hits,
                  cite=citations.for_document(page=page, catalog=catalog, doc_id=doc.id, audience=audience))
