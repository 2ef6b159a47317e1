"""Taking the next queued job for an executor: highest priority first, then oldest.

One atomic statement, so two processes sharing a database never run one job twice:
on PostgreSQL the inner SELECT takes the row with `FOR UPDATE SKIP LOCKED` (a competing claimer
skips it instead of waiting); on SQLite the single UPDATE is serialised by the database lock.
The columns the claim sets are the lifecycle's own for queued → running
(`lifecycle.implied_fields`), plus the worker that took it; its webhook event (job.progressing)
is queued in the same transaction, as the lifecycle's are.
"""
from __future__ import annotations

import os
import socket
import uuid

from piccolo.engine.postgres import PostgresEngine

from backend.catalog import webhooks
from backend.catalog.tables import TranscodeJob
from backend.jobs.events import BUS
from backend.jobs.lifecycle import (
    QUEUED, RUNNING, decode_job, event_from_row, implied_fields, is_legal, load_job, record,
)

_CLAIM_SQL = """
UPDATE transcode_job
SET {sets}
WHERE id = (
    SELECT id FROM transcode_job
    WHERE status = {{}} AND executor = {{}}
    ORDER BY priority DESC, created_at ASC, id ASC
    LIMIT 1{lock}
) AND status = {{}}
RETURNING {returning}
"""
_ANY_QUEUED = "SELECT 1 FROM transcode_job WHERE status = {} AND executor = {} LIMIT 1"
assert is_legal(QUEUED, RUNNING)


def new_worker_id() -> str:
    """host:pid:random — the host and pid let a restarted process recognise its dead predecessor's jobs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim_statement(executor: str, worker_id: str, *, postgres: bool) -> tuple[str, list]:
    """The claim's SQL and its parameters: status and the implied columns of queued → running."""
    fields = {"status": RUNNING, "worker_id": worker_id, **implied_fields(QUEUED, RUNNING, 0)}
    sets = ", ".join(f"{name} = {{}}" for name in fields)
    # PostgreSQL hands back the whole claimed row (asyncpg types it as a select would: no second
    # query); SQLite only its id, the row is then read with the select's own conversions
    sql = _CLAIM_SQL.format(sets=sets, lock=" FOR UPDATE SKIP LOCKED" if postgres else "",
                            returning="*" if postgres else "id")
    return sql, [*fields.values(), QUEUED, executor, QUEUED]


async def claim_next(executor: str, worker_id: str) -> dict | None:
    """Mark the next queued job of `executor` as running for `worker_id`; return its row, or None."""
    postgres = isinstance(TranscodeJob._meta.db, PostgresEngine)
    if not postgres and not await TranscodeJob.raw(_ANY_QUEUED, QUEUED, executor):
        # SQLite: one plain statement (Piccolo's exists() builds a select of every column) spares an
        # empty claim its transaction (BEGIN, UPDATE, COMMIT on a connection of its own); the claim
        # below still decides, atomically
        return None
    sql, params = claim_statement(executor, worker_id, postgres=postgres)
    # one statement: a claimed job is never seen `running` without the heartbeat that proves it alive
    async with TranscodeJob._meta.db.transaction():  # the claim and its history row land together
        rows = await TranscodeJob.raw(sql, *params)
        if not rows:
            return None
        job_id = rows[0]["id"]
        row = decode_job(dict(rows[0])) if postgres else await load_job(job_id)
        await record(job_id, QUEUED, RUNNING, row["attempt"], f"claimed by {worker_id}")
        await webhooks.job_changed(row, f"claimed by {worker_id}")  # job.progressing (throttled)
    webhooks.notify()
    BUS.publish(event_from_row(row))
    return row
