"""Applying a (signature-checked) callback from the AWS path to its job, and the reply to it.

Idempotent and order-proof: a callback for another attempt, for a job already terminal, or
repeating what is known changes nothing and says why. Progress never moves backwards.

The reply (`CallbackReply.to_dict()`, the body of POST /api/jobs/{id}/callback) has one
documented shape; the Lambda decides with its fields and never reads the wording:

    {"accepted":   bool,   # the report changed the job (progress stored, state moved)
     "stop":       bool,   # this attempt is no longer wanted: stop FFmpeg, upload nothing
     "reason":     str,    # for people and logs only (MESSAGES)
     "job_status": str,    # the job's status after the report ("" when unknown)
     "changed":    bool,   # = accepted   (the earlier names, kept)
     "message":    str}    # = reason
"""
from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass

from backend.catalog.outputs import register_output
from backend.catalog.tables import TranscodeJob
from backend.config import Settings
from backend.jobs import lifecycle
from backend.jobs.errors import DomainError, not_found
from backend.jobs.package_callback import apply_package, is_template_job
from backend.media.probe import probe_async
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.callbacks")
CALLBACK_STATUSES = (lifecycle.RUNNING, lifecycle.SUCCEEDED, lifecycle.FAILED)
MAX_PLAN_RECORD = 20_000  # bytes of JSON a succeeded callback may add to the job's plan

# The human side of the replies (tests reword them all: nothing may depend on their text).
MESSAGES = {
    "stale": "stale callback for attempt {attempt}; the job is on attempt {current}",
    "terminal": "job is already {status}; callback ignored",
    "not_running": "job is {status}, not running; callback ignored",
    "not_newer": "progress not newer than what is known",
    "progress": "progress {progress:.1f}%",
    "failed": "job failed",
    "succeeded": "job succeeded",
    "changed_meanwhile": "job changed meanwhile; callback ignored",
    "unreadable": "the reported output {key!r} cannot be read: {error}",
    "nonce": "the callback's execution nonce is not the one of job {job_id}'s current attempt; refused",
}


class StaleExecution(DomainError):
    """A signed callback whose nonce is not the job's current attempt's (answered 409, stop)."""

    def __init__(self, job_id: int, job_status: str):
        super().__init__("STALE_EXECUTION", MESSAGES["nonce"].format(job_id=job_id))
        self.job_status = job_status


@dataclass(frozen=True)
class CallbackReply:
    accepted: bool
    stop: bool
    reason: str
    job_status: str = ""

    def to_dict(self) -> dict:
        return {"accepted": self.accepted, "stop": self.stop, "reason": self.reason,
                "job_status": self.job_status, "changed": self.accepted, "message": self.reason}

    @classmethod
    def refused(cls, reason: str) -> "CallbackReply":
        """A report that was not applied at all (bad signature, malformed, unknown job)."""
        return cls(accepted=False, stop=False, reason=reason)


async def _reply(job_id: int, attempt: int, accepted: bool, reason: str) -> CallbackReply:
    """The reply after a report was handled: `stop` unless the reporting attempt still runs."""
    row = await TranscodeJob.select(TranscodeJob.status, TranscodeJob.attempt).where(TranscodeJob.id == job_id).first()
    status = row["status"] if row else ""
    wanted = row is not None and row["attempt"] == attempt and status == lifecycle.RUNNING
    return CallbackReply(accepted, not wanted, reason, status)


def _number(value, name: str, default: float = 0.0) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise DomainError("INVALID_INPUT", f"callback field {name} must be a number") from exc


async def apply_callback(job_id: int, payload: dict, storages: Storages, settings: Settings, *,
                         nonce: str) -> CallbackReply:
    """Apply one signature-checked report. `nonce` is the execution nonce it was signed with:
    anything but the job's current attempt's raises StaleExecution and changes nothing."""
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
    if not job["callback_nonce"] or not hmac.compare_digest(job["callback_nonce"].encode(), (nonce or "").encode()):
        raise StaleExecution(job_id, job["status"])
    if attempt != job["attempt"]:
        return CallbackReply(False, True, MESSAGES["stale"].format(attempt=attempt, current=job["attempt"]),
                             job["status"])
    if job["status"] in lifecycle.TERMINAL:
        return CallbackReply(False, True, MESSAGES["terminal"].format(status=job["status"]), job["status"])
    if job["status"] != lifecycle.RUNNING:
        return CallbackReply(False, True, MESSAGES["not_running"].format(status=job["status"]), job["status"])

    if status == lifecycle.RUNNING:
        progress = min(_number(payload.get("progress"), "progress"), 99.0)
        if progress <= (job["progress"] or 0.0):
            # repeated or reordered: keep the heartbeat fresh, never move backwards
            kept = await lifecycle.report_progress(job_id, attempt, progress=job["progress"] or 0.0, fps=job["fps"],
                                                   speed=job["speed"], eta_seconds=job["eta_seconds"])
            if kept:
                return CallbackReply(False, False, MESSAGES["not_newer"], lifecycle.RUNNING)
            return await _reply(job_id, attempt, False, MESSAGES["not_newer"])
        stored = await lifecycle.report_progress(
            job_id, attempt, progress=progress,
            fps=payload.get("fps"), speed=payload.get("speed"), eta_seconds=payload.get("eta"),
        )
        if stored:
            return CallbackReply(True, False, MESSAGES["progress"].format(progress=progress), lifecycle.RUNNING)
        return await _reply(job_id, attempt, False, MESSAGES["changed_meanwhile"])  # cancelled meanwhile

    if status == lifecycle.FAILED:
        error = str(payload.get("error") or "failed on AWS without a reason")[:2000]
        moved = await lifecycle.transition(
            job_id, lifecycle.FAILED, error, expect_attempt=attempt, expect_from=(lifecycle.RUNNING,),
            error=error, log_tail=str(payload.get("log_tail") or "")[-20000:],
        )
        return await _reply(job_id, attempt, moved, MESSAGES["failed" if moved else "changed_meanwhile"])

    if is_template_job(job):  # an output template's folder of outputs (lambda/ladder_actions.py)
        moved, reason = await apply_package(job, attempt, payload, storages, settings)
        return await _reply(job_id, attempt, moved, (reason or MESSAGES["succeeded"]) if moved
                            else MESSAGES["changed_meanwhile"])
    output = payload.get("output") or {}
    key = output.get("key") or job["output_key"]
    try:
        if storages.output.local_path(key) is not None:  # local storage, ran on AWS: fetch the output
            from backend.jobs.executors.aws import fetch_output

            await fetch_output(settings, storages, key)
        info = await probe_async(storages.output.probe_source(key))
    except Exception as exc:  # noqa: BLE001 - the object is missing or unreadable
        error = MESSAGES["unreadable"].format(key=key, error=exc)
        await lifecycle.transition(job_id, lifecycle.FAILED, error, expect_attempt=attempt,
                                   expect_from=(lifecycle.RUNNING,), error=error)
        return await _reply(job_id, attempt, True, error)
    asset_id = await register_output(storages, key, info)
    extra = {}
    record = output.get("plan")  # what the runner records about how it ran (a smart cut's parts, checks)
    if isinstance(record, dict) and len(json.dumps(record)) <= MAX_PLAN_RECORD:
        current = job["plan"] if isinstance(job["plan"], dict) else json.loads(job["plan"] or "{}")
        extra["plan"] = {**current, **record}
    moved = await lifecycle.transition(
        job_id, lifecycle.SUCCEEDED, f"output {key} verified on AWS: {info.duration:.3f} s",
        expect_attempt=attempt, expect_from=(lifecycle.RUNNING,), output_asset=asset_id,
        log_tail=str(payload.get("log_tail") or "")[-20000:], **extra,
    )
    return await _reply(job_id, attempt, moved, MESSAGES["succeeded" if moved else "changed_meanwhile"])
