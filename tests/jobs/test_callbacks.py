"""apply_callback called directly: each refusal carries its code (the HTTP route only shows 400),
and fields the Lambda leaves out take the documented defaults. Route-level tests are in
tests/api/test_callback.py; these close what the mutation run (make mutation) found unchecked.
"""
from __future__ import annotations

import pytest

from backend.catalog.tables import TranscodeJob
from backend.jobs import service
from backend.jobs.callbacks import StaleExecution, apply_callback
from backend.jobs.claim import claim_next
from backend.jobs.errors import DomainError

NONCE = "the-dispatched-attempts-nonce"


@pytest.fixture
async def running(db, settings, storages, presets, add_asset) -> int:
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    claimed = await claim_next("local", "w1")
    assert claimed["id"] == job["id"]
    await TranscodeJob.update({TranscodeJob.callback_nonce: NONCE}).where(TranscodeJob.id == job["id"])
    return job["id"]


@pytest.fixture
def apply(settings, storages):
    """apply_callback as the route calls it; (accepted, reason) of its structured reply."""
    async def call(job_id: int, payload) -> tuple[bool, str]:
        # signed by the dispatched execution: the row holds its nonce (as the AWS executor stores it)
        await TranscodeJob.update({TranscodeJob.callback_nonce: NONCE}).where(TranscodeJob.id == job_id)
        reply = await apply_callback(job_id, payload, storages, settings, nonce=NONCE)
        return reply.accepted, reply.reason
    return call


async def row(job_id: int) -> dict:
    return await TranscodeJob.select(TranscodeJob.status, TranscodeJob.progress, TranscodeJob.error).where(
        TranscodeJob.id == job_id).first()


@pytest.mark.parametrize(
    "payload, words",
    [
        ([1, 2], "must be a JSON object"),
        ({"attempt": 1, "status": "exploded"}, "status must be one of running, succeeded, failed"),
        ({"attempt": None, "status": "running"}, "attempt must be an integer"),
        ({"attempt": "one", "status": "running"}, "attempt must be an integer"),
        ({"attempt": 1, "status": "running", "progress": "half"}, "field progress must be a number"),
        ({"attempt": 1, "status": "running", "progress": [50]}, "field progress must be a number"),
    ],
)
async def test_refusals_carry_invalid_input(apply, running, payload, words):
    with pytest.raises(DomainError) as err:
        await apply(running, payload)
    assert err.value.code == "INVALID_INPUT" and words in err.value.message
    assert await row(running) == {"status": "running", "progress": 0.0, "error": ""}


async def test_unknown_job_is_not_found(apply, db):
    with pytest.raises(DomainError) as err:
        await apply(424242, {"attempt": 1, "status": "running"})
    assert err.value.code == "NOT_FOUND"


async def test_progress_left_out_counts_as_zero(apply, running):
    """A heartbeat without progress neither moves the bar nor invents a figure."""
    await apply(running, {"attempt": 1, "status": "running"})
    assert (await row(running))["progress"] == 0.0
    await apply(running, {"attempt": 1, "status": "running", "progress": "37.5"})
    assert (await row(running))["progress"] == 37.5
    await apply(running, {"attempt": 1, "status": "running", "progress": 250})
    assert (await row(running))["progress"] == 99.0  # 100 only when the output is verified


async def test_failure_without_a_reason_says_so(apply, running):
    await apply(running, {"attempt": 1, "status": "failed"})
    state = await row(running)
    assert state["status"] == "failed" and state["error"] == "failed on AWS without a reason"


async def test_a_repeated_progress_keeps_the_figures_and_refreshes_the_heartbeat(apply, running):
    """Reordered or repeated: nothing moves back, fps/speed/eta stay, but the job is alive."""
    await apply(running, {"attempt": 1, "status": "running", "progress": 40, "fps": 25.0,
                                   "speed": 1.5, "eta": 12.0})
    before = await TranscodeJob.select(TranscodeJob.heartbeat_at).where(TranscodeJob.id == running).first()
    await TranscodeJob.update({TranscodeJob.heartbeat_at: None}).where(TranscodeJob.id == running)
    changed, message = await apply(running, {"attempt": 1, "status": "running", "progress": 30,
                                                      "fps": 1.0, "speed": 0.1, "eta": 999.0})
    assert (changed, message) == (False, "progress not newer than what is known")
    after = await TranscodeJob.select(TranscodeJob.progress, TranscodeJob.fps, TranscodeJob.speed,
                                      TranscodeJob.eta_seconds, TranscodeJob.heartbeat_at).where(
        TranscodeJob.id == running).first()
    assert (after["progress"], after["fps"], after["speed"], after["eta_seconds"]) == (40.0, 25.0, 1.5, 12.0)
    assert before["heartbeat_at"] is not None and after["heartbeat_at"] is not None  # refreshed


async def test_a_fresh_job_stays_at_zero_on_an_empty_heartbeat(apply, db, settings, storages, presets, add_asset):
    """Progress 0 of a job that has none yet is 'not newer': stored as 0, not as a made-up 1 %."""
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await claim_next("local", "w1")
    changed, _ = await apply(job["id"], {"attempt": 1, "status": "running", "progress": 0})
    assert not changed and (await row(job["id"]))["progress"] == 0.0
    changed, _ = await apply(job["id"], {"attempt": 1, "status": "running", "progress": 0.5})
    assert changed and (await row(job["id"]))["progress"] == 0.5


async def test_a_job_not_running_ignores_callbacks(apply, db, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    changed, message = await apply(job["id"], {"attempt": 1, "status": "running", "progress": 5})
    assert (changed, message) == (False, "job is queued, not running; callback ignored")
    assert await row(job["id"]) == {"status": "queued", "progress": 0.0, "error": ""}


async def test_progress_stores_the_lambda_s_figures(apply, running):
    changed, message = await apply(running, {"attempt": 1, "status": "running", "progress": 12.5,
                                                      "fps": 24.0, "speed": 0.8, "eta": 33.0})
    assert (changed, message) == (True, "progress 12.5%")
    got = await TranscodeJob.select(TranscodeJob.progress, TranscodeJob.fps, TranscodeJob.speed,
                                    TranscodeJob.eta_seconds).where(TranscodeJob.id == running).first()
    assert got == {"progress": 12.5, "fps": 24.0, "speed": 0.8, "eta_seconds": 33.0}


async def test_failure_keeps_a_bounded_reason_and_the_log_s_end(apply, running):
    log_tail = "".join(f"line {i}\n" for i in range(5000))  # ~50 KB: only the last 20,000 chars are kept
    changed, message = await apply(running, {"attempt": 1, "status": "failed", "error": "E" * 3000,
                                                      "log_tail": log_tail})
    assert (changed, message) == (True, "job failed")
    got = await TranscodeJob.select(TranscodeJob.status, TranscodeJob.error, TranscodeJob.log_tail).where(
        TranscodeJob.id == running).first()
    assert got["status"] == "failed" and got["error"] == "E" * 2000
    assert got["log_tail"] == log_tail[-20000:]


async def test_a_nonce_other_than_the_current_attempts_changes_nothing(running, settings, storages):
    for nonce in ("", "an-earlier-attempts-nonce", NONCE + "x"):
        with pytest.raises(StaleExecution) as caught:
            await apply_callback(running, {"attempt": 1, "status": "failed", "error": "replayed"}, storages,
                                 settings, nonce=nonce)
        assert caught.value.code == "STALE_EXECUTION" and caught.value.job_status == "running"
    assert (await row(running))["status"] == "running"
