"""Job mutations: createJob, cancelJob, retryJob, deleteJob, deleteFinishedJobs (rules live in backend.jobs.service)."""
from __future__ import annotations

import strawberry

from backend.api.graphql.context import api
from backend.api.graphql.ids import parse_id
from backend.api.graphql.inputs import CreateJobInput
from backend.api.graphql.types import JobDeletion, JobStatus, TranscodeJob
from backend.catalog.tables import TranscodeJob as JobTable
from backend.jobs import service


@strawberry.type
class JobMutations:
    @strawberry.mutation(description="Queue a transcode/trim of one asset with one preset, or with an output "
                                     "template (one job, several outputs: a streaming package, files).")
    async def create_job(self, info: strawberry.Info, input: CreateJobInput) -> TranscodeJob:
        ctx = api(info)
        row = await service.create_job(
            ctx.settings, ctx.storages,
            source_id=parse_id(input.source_id, "sourceId"),
            preset_id=None if input.preset_id is None else parse_id(input.preset_id, "presetId"),
            template_id=None if input.template_id is None else parse_id(input.template_id, "templateId"),
            trim_start=input.trim_start,
            trim_end=input.trim_end,
            accurate_trim=input.accurate_trim,
            output_name=input.output_name,
            priority=input.priority,
            chunked=input.chunked,
            trim_mode=input.trim_mode.value if input.trim_mode else None,
        )
        if ctx.identity is not None and ctx.identity.user_id is not None:
            await JobTable.update({JobTable.created_by: ctx.identity.user_id}).where(JobTable.id == row["id"])
            row = {**row, "created_by": ctx.identity.user_id}
        return TranscodeJob.from_row(row)

    @strawberry.mutation(description="Cancel a queued or running job (FFmpeg is stopped, the partial output removed).")
    async def cancel_job(self, info: strawberry.Info, id: strawberry.ID) -> TranscodeJob:
        return TranscodeJob.from_row(await service.cancel_job(parse_id(id, "job id")))

    @strawberry.mutation(description="Run a failed or cancelled job again as a new attempt.")
    async def retry_job(self, info: strawberry.Info, id: strawberry.ID) -> TranscodeJob:
        return TranscodeJob.from_row(await service.retry_job(parse_id(id, "job id")))

    @strawberry.mutation(description="Forget a finished job (succeeded, failed or cancelled) and its history. "
                                     "Refused (JOB_ACTIVE) while it is queued or running; its output asset stays.")
    async def delete_job(self, info: strawberry.Info, id: strawberry.ID) -> JobDeletion:
        job_id = await service.delete_job(parse_id(id, "job id"))
        return JobDeletion(ids=[strawberry.ID(str(job_id))], count=1)

    @strawberry.mutation(description="Forget every finished job with one of `statuses` (default: succeeded, "
                                     "failed and cancelled) and their history; queued and running jobs stay.")
    async def delete_finished_jobs(self, info: strawberry.Info,
                                   statuses: list[JobStatus] | None = None) -> JobDeletion:
        ids = await service.delete_jobs(None, [s.value for s in statuses] if statuses else None)
        return JobDeletion(ids=[strawberry.ID(str(i)) for i in ids], count=len(ids))
