"""Ingestion jobs (staff): GET /api/jobs and /api/jobs/{job_id} (that one organisers too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.auth import StaffDep, StaffOrOrganiserDep
from api.deps import CatalogDep
from api.errors import problem_responses
from api.schemas import Job, JobPage
from services import jobs
from services.jobs import JobState

router = APIRouter(prefix="/api", tags=["jobs"])


@router.get("/jobs", response_model=JobPage, summary="Ingestion jobs, newest first (staff)",
            responses=problem_responses(401, 403, 422, 503))
def list_jobs(
    catalog: CatalogDep,
    _key: StaffDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    state: Annotated[JobState | None, Query()] = None,
    doc_id: Annotated[str | None, Query(max_length=12)] = None,
) -> JobPage:
    rows, total = jobs.list_jobs(catalog=catalog, limit=limit, offset=offset, state=state, doc_id=doc_id)
    return JobPage(total=total, limit=limit, offset=offset, items=[Job.from_record(j) for j in rows])


@router.get("/jobs/{job_id}", response_model=Job,
            summary="A job's state and progress (staff, and organisers, who follow the recordings they publish)",
            responses=problem_responses(401, 403, 404, 503))
def get_job(catalog: CatalogDep, _key: StaffOrOrganiserDep,
            job_id: Annotated[str, Path(max_length=12, description="A job id")]) -> Job:
    return Job.from_record(jobs.get_job(catalog=catalog, job_id=job_id))
