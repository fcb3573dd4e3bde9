"""Staff page for website import: the form that queues a crawl (services.crawls, as POST /api/crawls does) and the
latest crawls with their progress and summary."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Form
from starlette.responses import RedirectResponse

from api.auth import StaffDep
from api.deps import CatalogDep, ReadyDep
from api.errors import ServiceError, status_of
from api.schemas import Crawl
from services import crawls
from web.deps import StaffPage
from web.templating import render

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form(max_length=4000)]


def _patterns(text: str) -> list[str]:
    """One pattern a line (blank lines left out)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _page(page: StaffPage, catalog, *, status_code: int = 200, error: str | None = None, values: dict | None = None):
    latest = [Crawl.from_record(j) for j in crawls.list_crawls(catalog=catalog, limit=20)]
    return render(page.request, page, "crawls.html", status_code=status_code, crawls=latest, error=error,
                  values=values or {})


@router.get("/staff/crawls")
def crawls_page(page: StaffPage, catalog: CatalogDep):
    return _page(page, catalog)


@router.post("/staff/crawls")
async def start_crawl(page: StaffPage, rt: ReadyDep, key: StaffDep, url: Annotated[str, Form(max_length=2000)],
                      depth: Annotated[str, Form(max_length=2)] = "", include: FormText = "", exclude: FormText = ""):
    """The API's POST /api/crawls from a form; a wrong field or a crawl of the site already under way is shown on
    the form, filled in."""
    try:
        if depth and not depth.isdigit():
            from services.errors import InvalidParameter

            raise InvalidParameter("depth", "must be a whole number", "body")
        await anyio.to_thread.run_sync(partial(
            crawls.queue_crawl, catalog=rt.catalog, worker=rt.worker, settings=rt.settings, url=url.strip(),
            depth=int(depth) if depth else None, include=_patterns(include), exclude=_patterns(exclude), actor=key))
    except ServiceError as exc:
        values = {"url": url, "depth": depth, "include": include, "exclude": exclude}
        return _page(page, rt.catalog, status_code=status_of(exc), error=exc.detail, values=values)
    return RedirectResponse("/staff/crawls", status_code=303)
