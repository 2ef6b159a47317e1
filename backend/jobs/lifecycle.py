"""The job lifecycle: the ONE place that knows which status changes are legal.

    queued → running → succeeded | failed | cancelled
    queued → cancelled | failed          (cancelled before it ran; could not be dispatched)
    failed | cancelled → queued          (retry: a new attempt)
    running → queued | failed            (recovery of a stalled or orphaned attempt)
    running → queued, same attempt       (the server stopped it: `requeue_unspent`)

Every change is a conditional UPDATE on the status (and attempt) that was read, so two
processes racing on one job cannot both win; the winner records a `JobTransition` row, queues
the change's webhook event (`backend.catalog.webhooks`, in the same transaction) and publishes a
`JobEvent`. Terminal states never regress.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from backend.catalog import webhooks
from backend.catalog.retry import with_retry
from backend.catalog.statuses import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL  # noqa: F401 (re-exported)
from backend.catalog.tables import JobTransition, TranscodeJob
from backend.jobs.errors import DomainError
from backend.jobs.events import BUS, JobEvent

log = logging.getLogger("mpr.jobs")

SERVER_STOPPED = "server stopped"
LEGAL: dict[str, frozenset[str]] = {
    "": frozenset({QUEUED}),
    QUEUED: frozenset({RUNNING, CANCELLED, FAILED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, CANCELLED, QUEUED}),
    FAILED: frozenset({QUEUED}),
    CANCELLED: frozenset({QUEUED}),
    SUCCEEDED: frozenset(),
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


JSON_FIELDS = ("preset_snapshot", "plan", "spec", "template_snapshot")
JSON_LIST_FIELDS = ("outputs",)


def decode_job(row: dict | None) -> dict | None:
    """A job row with its JSON columns as Python values (raw selects return them as text)."""
    if row is not None:
        for name in JSON_FIELDS:
            if isinstance(row.get(name), str):
                row[name] = json.loads(row[name] or "null") or {}
        for name in JSON_LIST_FIELDS:
            if isinstance(row.get(name), str):
                row[name] = json.loads(row[name] or "null") or []
    return row


async def load_job(job_id: int) -> dict | None:
    return decode_job(await TranscodeJob.select().where(TranscodeJob.id == job_id).first())


def is_legal(src: str, dst: str) -> bool:
    return dst in LEGAL.get(src, frozenset())


def implied_fields(src: str, dst: str, current_attempt: int) -> dict:
    """Columns every transition of this kind sets, so callers cannot forget them (the claim's
    single UPDATE in `backend.jobs.claim` takes them from here too)."""
    t = now()
    if dst == RUNNING:
        # a new execution: no callback is valid until the dispatcher stores this attempt's nonce
        return {"started_at": t, "heartbeat_at": t, "finished_at": None, "progress": 0.0, "callback_nonce": ""}
    if dst in TERMINAL:
        fields = {"finished_at": t, "eta_seconds": None}
        if dst == SUCCEEDED:
            fields["progress"] = 100.0
        return fields
    if dst == QUEUED and src in (RUNNING, FAILED, CANCELLED):
        return {
            "attempt": current_attempt + 1,
            "progress": 0.0, "fps": None, "speed": None, "eta_seconds": None,
            "started_at": None, "finished_at": None, "heartbeat_at": None,
            "worker_id": "", "execution_id": "", "callback_nonce": "", "error": "",
            "outputs": [], "playback_key": "",  # a template job's outputs belong to the attempt that made them
        }
    return {}


def event_from_row(row: dict) -> JobEvent:
    return JobEvent(
        job_id=row["id"], status=row["status"], progress=row.get("progress") or 0.0,
        fps=row.get("fps"), speed=row.get("speed"), eta_seconds=row.get("eta_seconds"),
        attempt=row.get("attempt") or 1, error=row.get("error") or "", executor=row.get("executor") or "",
    )


async def record(job_id: int, src: str, dst: str, attempt: int, reason: str) -> None:
    await JobTransition.insert(
        JobTransition(job=job_id, from_status=src, to_status=dst, attempt=attempt, reason=reason[:2000])
    )


async def transition(
    job_id: int,
    to: str,
    reason: str,
    *,
    expect_attempt: int | None = None,
    expect_from: tuple[str, ...] | None = None,
    **fields,
) -> bool:
    """Move job `job_id` to `to` if that is legal from where it is now; return whether it moved.

    `expect_attempt` / `expect_from` narrow the move to one attempt / some statuses (a stale
    worker or callback then changes nothing). Extra `fields` are written in the same UPDATE.
    Transient database failures are retried (the move is a conditional update, safe to repeat).
    """
    if to not in LEGAL:
        raise ValueError(f"unknown job status {to!r}")
    tries = 0

    async def once() -> bool:
        nonlocal tries
        tries += 1
        return await _transition_once(job_id, to, reason, expect_attempt, expect_from, fields, retried=tries > 1)

    return await with_retry(once, what=f"job {job_id} → {to}")


async def _committed_earlier(job_id: int, to: str, attempt: int, reason: str) -> bool:
    """Whether the job's latest history row is this very change (a previous try committed it)."""
    last = await JobTransition.select(JobTransition.to_status, JobTransition.attempt, JobTransition.reason).where(
        JobTransition.job == job_id
    ).order_by(JobTransition.id, ascending=False).first()
    return last is not None and (last["to_status"], last["attempt"], last["reason"]) == (to, attempt, reason[:2000])


async def _transition_once(job_id, to, reason, expect_attempt, expect_from, fields, retried=False) -> bool:
    if (not retried and expect_attempt is not None and expect_from is not None and len(expect_from) == 1
            and is_legal(expect_from[0], to)):
        # the caller knows where the job must be (a worker ending its own attempt): the conditional
        # UPDATE alone decides, without reading the row first; not moved: the careful path below
        # says why (one round trip less per job, issue 20)
        if await _write(job_id, expect_from[0], to, expect_attempt, reason, fields):
            return True
    for _ in range(5):
        row = await TranscodeJob.select(TranscodeJob.status, TranscodeJob.attempt).where(
            TranscodeJob.id == job_id
        ).first()
        if row is None:
            return False
        src, attempt = row["status"], row["attempt"]
        if retried and src == to and await _committed_earlier(job_id, to, attempt, reason):
            # the previous try's COMMIT landed but its answer was lost with the connection: it moved
            new = await load_job(job_id)
            BUS.publish(event_from_row(new))
            return True
        if expect_attempt is not None and attempt != expect_attempt:
            return False
        if expect_from is not None and src not in expect_from:
            return False
        if not is_legal(src, to):
            return False
        if await _write(job_id, src, to, attempt, reason, fields):
            return True
        # somebody else moved it between our read and write: look again
    return False


async def _write(job_id: int, src: str, to: str, attempt: int, reason: str, fields: dict) -> bool:
    """The conditional UPDATE src → to of `attempt`, its history row and webhook event in one
    transaction; publishes the change. False (nothing written) when the job is not (src, attempt)."""
    values = {**implied_fields(src, to, attempt), **fields, "status": to}
    async with TranscodeJob._meta.db.transaction():  # the status and its history row land together
        updated = await TranscodeJob.update(
            {getattr(TranscodeJob, k): v for k, v in values.items()}
        ).where(
            (TranscodeJob.id == job_id) & (TranscodeJob.status == src) & (TranscodeJob.attempt == attempt)
        ).returning(*TranscodeJob.all_columns())
        if updated:
            await record(job_id, src, to, updated[0]["attempt"], reason)
            await webhooks.job_changed(updated[0], reason)
    if not updated:
        return False
    new = updated[0]
    webhooks.notify()
    log.info("job %s: %s → %s (attempt %s): %s", job_id, src, to, new["attempt"], reason,
             extra={"job_id": job_id})
    BUS.publish(event_from_row(new))
    return True


async def requeue_unspent(job_id: int, attempt: int, reason: str = SERVER_STOPPED) -> bool:
    """running → queued keeping the attempt number: the server was stopped (SIGTERM, Ctrl-C) while
    this attempt ran, which says nothing about the job, so it does not count against max_attempts.

    Only for attempts whose FFmpeg is already stopped: the next claim runs the same attempt number.
    """
    return await transition(job_id, QUEUED, reason, expect_attempt=attempt, expect_from=(RUNNING,),
                            attempt=attempt)


async def create(job: TranscodeJob, reason: str = "created") -> dict:
    """Insert a new job as `queued` ("" → queued), with its first history row in the same
    transaction (never claimable before its history starts); publish it and return the row."""
    job.status = QUEUED
    async with TranscodeJob._meta.db.transaction():
        await job.save()
        await record(job.id, "", QUEUED, 1, reason)
        await webhooks.job_changed(job.to_dict(), reason)
    webhooks.notify()
    row = await load_job(job.id)
    BUS.publish(event_from_row(row))
    return row


async def require_transition(job_id: int, to: str, reason: str, **kwargs) -> None:
    """`transition` for user actions: explain a refusal instead of returning False."""
    if await transition(job_id, to, reason, **kwargs):
        return
    row = await TranscodeJob.select(TranscodeJob.status).where(TranscodeJob.id == job_id).first()
    if row is None:
        raise DomainError("NOT_FOUND", f"job {job_id} does not exist")
    raise DomainError(
        "ILLEGAL_TRANSITION", f"job {job_id} is {row['status']}; it cannot become {to}"
    )


async def report_progress(
    job_id: int, attempt: int, *, progress: float, fps=None, speed=None, eta_seconds=None
) -> bool:
    """Store progress of a running attempt; False means the attempt is no longer wanted (stop it)."""
    updated = await with_retry(lambda: TranscodeJob.update(
        {
            TranscodeJob.progress: progress,
            TranscodeJob.fps: fps,
            TranscodeJob.speed: speed,
            TranscodeJob.eta_seconds: eta_seconds,
            TranscodeJob.heartbeat_at: now(),
        }
    ).where(
        (TranscodeJob.id == job_id) & (TranscodeJob.status == RUNNING) & (TranscodeJob.attempt == attempt)
    ).returning(TranscodeJob.id, TranscodeJob.executor).run(), what=f"job {job_id} progress")
    if not updated:
        return False
    BUS.publish(JobEvent(job_id=job_id, status=RUNNING, progress=progress, fps=fps, speed=speed,
                         eta_seconds=eta_seconds, attempt=attempt, executor=updated[0]["executor"]))
    try:  # throttled inside; the attempt goes on whatever happens to its webhook event
        await webhooks.job_progress({"id": job_id, "status": RUNNING, "attempt": attempt, "progress": progress,
                                     "executor": updated[0]["executor"]})
    except Exception:
        log.exception("job %s: could not queue job.progressing", job_id)
    return True


async def history(job_id: int) -> list[dict]:
    return await JobTransition.select().where(JobTransition.job == job_id).order_by(JobTransition.id)
