"""Applying a (signature-checked) callback from the AWS path to its job.

Idempotent and order-proof: a callback for another attempt, for a job already terminal, or
repeating what is known changes nothing and says why. Progress never moves backwards.
"""
from __future__ import annotations

import logging

from backend.catalog.outputs import register_output
from backend.catalog.tables import TranscodeJob
from backend.config import Settings
from backend.jobs import lifecycle
from backend.jobs.errors import DomainError, not_found
from backend.media.probe import probe_async
from backend.storage import Storages, open_storages

log = logging.getLogger("mpr.jobs.callbacks")
CALLBACK_STATUSES = ("running", "succeeded", "failed")


def _number(value, name: str, default: float = 0.0) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise DomainError("INVALID_INPUT", f"callback field {name} must be a number") from exc


async def apply_callback(job_id: int, payload: dict, storages: Storages | None = None) -> tuple[bool, str]:
    if not isinstance(payload, dict):
        raise DomainError("INVALID_INPUT", "callback body must be a JSON object")
    status = payload.get("status")
    if status not in CALLBACK_STATUSES:
        raise DomainError("INVALID_INPUT", f"callback status must be one of {', '.join(CALLBACK_STATUSES)}")
    try:
        attempt = int(payload.get("attempt"))
    except (TypeError, ValueError) as exc:
        raise DomainError("INVALID_INPUT", "callback attempt must be an integer") from exc
    job = await TranscodeJob.select().where(TranscodeJob.id == job_id).first()
    if job is None:
        raise not_found("job", job_id)
    if attempt != job["attempt"]:
        return False, f"stale callback for attempt {attempt}; the job is on attempt {job['attempt']}"
    if job["status"] in lifecycle.TERMINAL:
        return False, f"job is already {job['status']}; callback ignored"
    if job["status"] != lifecycle.RUNNING:
        return False, f"job is {job['status']}, not running; callback ignored"

    if status == "running":
        progress = min(_number(payload.get("progress"), "progress"), 99.0)
        if progress <= (job["progress"] or 0.0):
            # repeated or reordered: keep the heartbeat fresh, never move backwards
            await lifecycle.report_progress(job_id, attempt, progress=job["progress"] or 0.0,
                                            fps=job["fps"], speed=job["speed"], eta_seconds=job["eta_seconds"])
            return False, "progress not newer than what is known"
        await lifecycle.report_progress(
            job_id, attempt, progress=progress,
            fps=payload.get("fps"), speed=payload.get("speed"), eta_seconds=payload.get("eta"),
        )
        return True, f"progress {progress:.1f}%"

    if status == "failed":
        error = str(payload.get("error") or "failed on AWS without a reason")[:2000]
        moved = await lifecycle.transition(
            job_id, lifecycle.FAILED, error, expect_attempt=attempt, expect_from=(lifecycle.RUNNING,),
            error=error, log_tail=str(payload.get("log_tail") or "")[-20000:],
        )
        return moved, "job failed" if moved else "job changed meanwhile; callback ignored"

    output = payload.get("output") or {}
    key = output.get("key") or job["output_key"]
    storages = storages or open_storages(Settings.from_env())
    try:
        if storages.output.local_path(key) is not None:  # local storage, ran on AWS: fetch the output
            from backend.jobs.executors.aws import fetch_output

            await fetch_output(Settings.from_env(), storages, key)
        info = await probe_async(storages.output.probe_source(key))
    except Exception as exc:  # noqa: BLE001 - the object is missing or unreadable
        error = f"the reported output {key!r} cannot be read: {exc}"
        await lifecycle.transition(job_id, lifecycle.FAILED, error, expect_attempt=attempt,
                                   expect_from=(lifecycle.RUNNING,), error=error)
        return True, error
    asset_id = await register_output(storages, key, info)
    moved = await lifecycle.transition(
        job_id, lifecycle.SUCCEEDED, f"output {key} verified on AWS: {info.duration:.3f} s",
        expect_attempt=attempt, expect_from=(lifecycle.RUNNING,), output_asset=asset_id,
        log_tail=str(payload.get("log_tail") or "")[-20000:],
    )
    return moved, "job succeeded" if moved else "job changed meanwhile; callback ignored"
