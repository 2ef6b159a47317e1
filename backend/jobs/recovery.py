"""Recovery of attempts nobody is running any more: dead workers and stalled heartbeats.

A `running` job whose worker process is gone (same host, pid not alive) or whose heartbeat is
older than the stall window goes back to `queued` as a new attempt, or to `failed` with the
reason once its attempts are used up. No job stays `running` with nothing running it.

`release_stopped` is the other case: `mpr up` killed its own server on purpose (a second Ctrl-C,
a stop past its deadline), so the jobs those processes held go back as the same attempt.
"""
from __future__ import annotations

import datetime as dt
import logging
import socket

from backend.catalog.tables import TranscodeJob
from backend.jobs import lifecycle
from backend.lifeline import pid_alive

log = logging.getLogger("mpr.jobs.recovery")


def _worker_pid(worker_id: str) -> int | None:
    parts = worker_id.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return None
    try:
        return int(parts[1])
    except ValueError:
        return None


def worker_is_dead(worker_id: str) -> bool:
    """True when `worker_id` names a process on this host that no longer exists (a zombie left by a
    killed server counts as gone)."""
    pid = _worker_pid(worker_id)
    return pid is not None and not pid_alive(pid)


def _as_utc(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


async def recover_attempt(row: dict, reason: str) -> bool:
    """Re-queue (attempt + 1) while attempts remain, else fail with `reason`."""
    if row["attempt"] < row["max_attempts"]:
        return await lifecycle.transition(
            row["id"], lifecycle.QUEUED, f"{reason}; re-queued as attempt {row['attempt'] + 1}",
            expect_attempt=row["attempt"], expect_from=(lifecycle.RUNNING,),
        )
    return await lifecycle.transition(
        row["id"], lifecycle.FAILED, f"{reason}; no attempts left",
        expect_attempt=row["attempt"], expect_from=(lifecycle.RUNNING,),
        error=f"{reason} (attempt {row['attempt']} of {row['max_attempts']})",
    )


async def recover_orphans(executor: str, stall_seconds: float, own_job_ids: set[int] = frozenset()) -> list[int]:
    """Recover `running` jobs of `executor` that nobody runs; return the ids that moved."""
    rows = await TranscodeJob.select(
        TranscodeJob.id, TranscodeJob.attempt, TranscodeJob.max_attempts, TranscodeJob.worker_id,
        TranscodeJob.heartbeat_at, TranscodeJob.started_at,
    ).where((TranscodeJob.status == lifecycle.RUNNING) & (TranscodeJob.executor == executor))
    now = lifecycle.now()
    moved = []
    for row in rows:
        if row["id"] in own_job_ids:
            continue
        last = _as_utc(row["heartbeat_at"]) or _as_utc(row["started_at"])
        if worker_is_dead(row["worker_id"]):
            reason = f"interrupted: the process running it ({row['worker_id']}) died"
        elif last is None or (now - last).total_seconds() > stall_seconds:
            reason = f"stalled: no progress for more than {int(stall_seconds)} s"
        else:
            continue
        if await recover_attempt(row, reason):
            log.warning("job %s: %s", row["id"], reason, extra={"job_id": row["id"]})
            moved.append(row["id"])
    return moved


async def release_stopped(pids: set[int], reason: str = lifecycle.SERVER_STOPPED) -> list[int]:
    """After `mpr up` stopped its server by force: the `running` jobs whose worker was one of
    `pids` (processes on this host, now dead) go back to the queue without spending an attempt."""
    rows = await TranscodeJob.select(TranscodeJob.id, TranscodeJob.attempt, TranscodeJob.worker_id).where(
        TranscodeJob.status == lifecycle.RUNNING
    )
    moved = []
    for row in rows:
        pid = _worker_pid(row["worker_id"] or "")
        if pid in pids and not pid_alive(pid) and await lifecycle.requeue_unspent(row["id"], row["attempt"], reason):
            moved.append(row["id"])
    return moved
