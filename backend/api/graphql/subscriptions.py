"""jobUpdates: push job status/progress as it happens.

Two sources feed one queue: the in-process event bus (`backend.jobs.events.BUS`, immediate) and a
poll of the database every POLL_SECONDS (changes made by another process, e.g. `mpr worker`, or
an AWS callback handled by another web worker). Updates only move forward per job — by attempt,
then phase (queued < running < finished), then progress — so a poll read before a newer bus event
never makes a job look like it went back.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import AsyncGenerator

import strawberry

from backend.api.graphql.ids import parse_id
from backend.api.graphql.types import JobStatus, JobUpdate
from backend.catalog.statuses import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from backend.catalog.tables import TranscodeJob as JobTable
from backend.jobs.errors import not_found
from backend.jobs.events import BUS, JobEvent
from backend.jobs.lifecycle import event_from_row

log = logging.getLogger("mpr.api.subscriptions")

POLL_SECONDS = 1.0
_PHASE = {QUEUED: 0, RUNNING: 1, SUCCEEDED: 2, FAILED: 2, CANCELLED: 2}
_POLL_COLUMNS = (JobTable.id, JobTable.status, JobTable.progress, JobTable.fps, JobTable.speed,
                 JobTable.eta_seconds, JobTable.attempt, JobTable.error, JobTable.executor, JobTable.updated_at)


def order_key(ev: JobEvent) -> tuple:
    return (ev.attempt, _PHASE.get(ev.status, 0), ev.progress or 0.0)


def visible(ev: JobEvent) -> tuple:
    """What a client would see of `ev` (an update that changes none of it is not sent)."""
    return (ev.status, ev.progress, ev.fps, ev.speed, ev.eta_seconds, ev.attempt, ev.error)


def to_update(ev: JobEvent) -> JobUpdate:
    return JobUpdate(
        job_id=strawberry.ID(str(ev.job_id)), status=JobStatus(ev.status), progress=ev.progress or 0.0,
        fps=ev.fps, speed=ev.speed, eta_seconds=ev.eta_seconds, attempt=ev.attempt, error=ev.error or "",
    )


async def _poll(queue: asyncio.Queue, job_id: int | None, since: dt.datetime | None) -> None:
    """Put the DB state of the job (or of every job changed since the last look) into `queue`."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            query = JobTable.select(*_POLL_COLUMNS)
            if job_id is not None:
                query = query.where(JobTable.id == job_id)
            else:
                query = query.where(JobTable.updated_at >= since).order_by(JobTable.updated_at).limit(500)
            rows = await query
        except Exception:  # a lost connection must not end the subscription; try again
            log.warning("jobUpdates poll failed", exc_info=True)
            continue
        for row in rows:
            if job_id is None and row["updated_at"] is not None and row["updated_at"] > since:
                since = row["updated_at"]
            queue.put_nowait(("poll", event_from_row(row)))


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Status and progress of one job (jobId) or of every job (no jobId).")
    async def job_updates(self, job_id: strawberry.ID | None = None) -> AsyncGenerator[JobUpdate, None]:
        wanted = parse_id(job_id, "jobId") if job_id is not None else None
        queue: asyncio.Queue = asyncio.Queue()
        last: dict[int, tuple] = {}
        sent: dict[int, tuple] = {}
        since = None
        if wanted is not None:
            row = await JobTable.select(*_POLL_COLUMNS).where(JobTable.id == wanted).first()
            if row is None:
                raise not_found("job", wanted)
            queue.put_nowait(("poll", event_from_row(row)))  # the current state first
        else:
            since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=POLL_SECONDS)

        with BUS.listen(wanted) as bus_queue:
            async def forward() -> None:
                while True:
                    queue.put_nowait(("bus", await bus_queue.get()))

            tasks = [asyncio.create_task(forward()), asyncio.create_task(_poll(queue, wanted, since))]
            try:
                while True:
                    source, ev = await queue.get()
                    key, previous = order_key(ev), last.get(ev.job_id)
                    shown = visible(ev)
                    fresh = previous is None or key > previous or (
                        key == previous and source == "bus" and shown != sent.get(ev.job_id)
                    )
                    if not fresh:
                        continue
                    last[ev.job_id], sent[ev.job_id] = key, shown
                    yield to_update(ev)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
