"""Taking the next queued job for an executor: highest priority first, then oldest.

One atomic statement, so two processes sharing a database never run one job twice:
on PostgreSQL the inner SELECT takes the row with `FOR UPDATE SKIP LOCKED` (a competing claimer
skips it instead of waiting); on SQLite the single UPDATE is serialised by the database lock.
"""
from __future__ import annotations

import os
import socket
import uuid

from piccolo.engine.postgres import PostgresEngine

from backend.catalog.tables import TranscodeJob
from backend.jobs.events import BUS
from backend.jobs.lifecycle import QUEUED, RUNNING, event_from_row, load_job, now, record

_CLAIM_SQL = """
UPDATE transcode_job
SET status = 'running', worker_id = {{}}, started_at = {{}}, heartbeat_at = {{}},
    finished_at = NULL, progress = 0
WHERE id = (
    SELECT id FROM transcode_job
    WHERE status = 'queued' AND executor = {{}}
    ORDER BY priority DESC, created_at ASC, id ASC
    LIMIT 1{lock}
) AND status = 'queued'
RETURNING id
"""


def new_worker_id() -> str:
    """host:pid:random — the host and pid let a restarted process recognise its dead predecessor's jobs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def claim_next(executor: str, worker_id: str) -> dict | None:
    """Mark the next queued job of `executor` as running for `worker_id`; return its row, or None."""
    is_pg = isinstance(TranscodeJob._meta.db, PostgresEngine)
    sql = _CLAIM_SQL.format(lock=" FOR UPDATE SKIP LOCKED" if is_pg else "")
    t = now()
    # one statement: a claimed job is never seen `running` without the heartbeat that proves it alive
    async with TranscodeJob._meta.db.transaction():  # the claim and its history row land together
        rows = await TranscodeJob.raw(sql, worker_id, t, t, executor)
        if not rows:
            return None
        job_id = rows[0]["id"]
        row = await load_job(job_id)
        await record(job_id, QUEUED, RUNNING, row["attempt"], f"claimed by {worker_id}")
    BUS.publish(event_from_row(row))
    return row
