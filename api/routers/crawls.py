"""Website import (staff): POST /api/crawls queues a crawl job, GET /api/crawls and /api/crawls/{crawl_id} follow it."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.auth import StaffDep
from api.deps import CatalogDep, ReadyDep
from api.errors import problem_responses
from api.schemas import Crawl, CrawlRequest
from services import crawls, jobs
from services.errors import JobNotFound

router = APIRouter(prefix="/api", tags=["crawls"])


@router.post("/crawls", status_code=202, response_model=Crawl, responses={
    202: {"description": "Accepted: the crawl job (see its url)"}, **problem_responses(401, 403, 409, 422, 503)},
    summary="Import a website (staff): its pages and the documents they link, as a job; a re-crawl publishes what "
            "changed, retracts what is gone")
async def create_crawl(rt: ReadyDep, key: StaffDep, body: CrawlRequest):
    job = await anyio.to_thread.run_sync(partial(
        crawls.queue_crawl, catalog=rt.catalog, worker=rt.worker, settings=rt.settings, url=body.url,
        depth=body.depth, include=body.include, exclude=body.exclude, actor=key))
    out = Crawl.from_record(job).model_dump(mode="json")
    return JSONResponse(out, status_code=202, headers={"Location": out["url"]})


@router.get("/crawls", response_model=list[Crawl], summary="The latest crawls, newest first (staff)",
            responses=problem_responses(401, 403, 422, 503))
def list_crawls(catalog: CatalogDep, _key: StaffDep, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[Crawl]:
    return [Crawl.from_record(j) for j in crawls.list_crawls(catalog=catalog, limit=limit)]


@router.get("/crawls/{crawl_id}", response_model=Crawl, summary="A crawl's state, progress and summary (staff)",
            responses=problem_responses(401, 403, 404, 503))
def get_crawl(catalog: CatalogDep, _key: StaffDep,
              crawl_id: Annotated[str, Path(max_length=12, description="A crawl (job) id")]) -> Crawl:
    job = jobs.get_job(catalog=catalog, job_id=crawl_id)
    if job.kind != "crawl":
        raise JobNotFound(crawl_id)
    return Crawl.from_record(job)
