"""A retry by hand is not one of the automatic attempts: after `retryJob`, recovery re-queues a
stalled attempt as often as it would have for a job nobody retried (backend.jobs.service.retry_job)."""
from __future__ import annotations

from backend.catalog.tables import TranscodeJob
from backend.jobs import lifecycle, recovery, service


async def _job(settings, storages, presets, add_asset) -> int:
    asset = await add_asset("small")
    row = await service.create_job(settings.with_(max_attempts=2), storages, source_id=asset["id"],
                                   preset_id=presets["H.264 480p"])
    return row["id"]


async def _run_and_stall(job_id: int) -> bool:
    """queued → running, then recovery finds it stalled; True when it was re-queued."""
    assert await lifecycle.transition(job_id, lifecycle.RUNNING, "claimed")
    row = await TranscodeJob.select().where(TranscodeJob.id == job_id).first()
    await recovery.recover_attempt(row, "stalled")
    return (await lifecycle.load_job(job_id))["status"] == lifecycle.QUEUED


async def test_a_manual_retry_keeps_the_automatic_budget(settings, storages, presets, add_asset):
    job_id = await _job(settings, storages, presets, add_asset)
    # a fresh job with max_attempts 2: one automatic re-queue, then it fails
    assert await _run_and_stall(job_id) is True
    assert await _run_and_stall(job_id) is False
    failed = await lifecycle.load_job(job_id)
    assert (failed["status"], failed["attempt"], failed["max_attempts"]) == ("failed", 2, 2)

    retried = await service.retry_job(job_id)  # by hand: attempt 3, and the budget grows with it
    assert (retried["status"], retried["attempt"], retried["max_attempts"]) == ("queued", 3, 3)
    assert await _run_and_stall(job_id) is False  # the spent automatic attempt stays spent


async def test_retry_of_a_cancelled_first_attempt_leaves_its_re_queue(settings, storages, presets, add_asset):
    job_id = await _job(settings, storages, presets, add_asset)
    await service.cancel_job(job_id)
    retried = await service.retry_job(job_id)
    assert (retried["attempt"], retried["max_attempts"]) == (2, 3)
    assert await _run_and_stall(job_id) is True  # the automatic re-queue a fresh job has is still there
    assert await _run_and_stall(job_id) is False
    assert (await lifecycle.load_job(job_id))["attempt"] == 3
