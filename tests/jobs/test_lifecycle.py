"""The lifecycle: legal moves only, history of every move, terminal states never regress, stale attempts ignored."""
from __future__ import annotations

import pytest

from backend.catalog.tables import TranscodeJob
from backend.jobs import lifecycle, service
from backend.jobs.claim import claim_next
from backend.jobs.errors import DomainError


@pytest.fixture
async def job(db, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    return await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])


async def status(job_id):
    return (await TranscodeJob.select(TranscodeJob.status, TranscodeJob.attempt).where(TranscodeJob.id == job_id).first())


async def test_legal_path_and_history(job):
    claimed = await claim_next("local", "w1")
    assert claimed["id"] == job["id"] and claimed["status"] == "running"
    assert await lifecycle.transition(job["id"], "succeeded", "done", expect_attempt=1)
    hist = await lifecycle.history(job["id"])
    assert [(h["from_status"], h["to_status"]) for h in hist] == [("", "queued"), ("queued", "running"), ("running", "succeeded")]
    assert all(h["at"] is not None and h["reason"] for h in hist)


async def test_terminal_never_regresses(job):
    await claim_next("local", "w1")
    assert await lifecycle.transition(job["id"], "succeeded", "done")
    for target in ("running", "queued", "failed", "cancelled"):
        assert not await lifecycle.transition(job["id"], target, "late")
    assert (await status(job["id"]))["status"] == "succeeded"
    with pytest.raises(DomainError) as err:
        await service.retry_job(job["id"])
    assert err.value.code == "ILLEGAL_TRANSITION"


async def test_illegal_moves_refused(job):
    assert not await lifecycle.transition(job["id"], "succeeded", "skip running")
    assert not await lifecycle.transition(job["id"], "queued", "already queued")
    assert (await status(job["id"]))["status"] == "queued"


async def test_retry_makes_new_attempt_and_stale_attempt_changes_nothing(job):
    await claim_next("local", "w1")
    assert await lifecycle.transition(job["id"], "failed", "boom", error="boom")
    row = await service.retry_job(job["id"])
    assert row["status"] == "queued" and row["attempt"] == 2 and row["error"] == "" and row["progress"] == 0
    await claim_next("local", "w1")
    # a late report from attempt 1 must not touch attempt 2
    assert not await lifecycle.transition(job["id"], "failed", "late", expect_attempt=1)
    assert not await lifecycle.report_progress(job["id"], 1, progress=50.0)
    assert await lifecycle.report_progress(job["id"], 2, progress=10.0)
    assert (await status(job["id"]))["status"] == "running"


async def test_cancel_queued_and_cancel_twice(job):
    row = await service.cancel_job(job["id"])
    assert row["status"] == "cancelled" and row["finished_at"] is not None
    with pytest.raises(DomainError):
        await service.cancel_job(job["id"])


async def test_claim_order_priority_then_age(db, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    ids = []
    for prio in (0, 5, 0, 10):
        row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"], priority=prio)
        ids.append(row["id"])
    order = [(await claim_next("local", "w"))["id"] for _ in ids]
    assert order == [ids[3], ids[1], ids[0], ids[2]]
    assert await claim_next("local", "w") is None
