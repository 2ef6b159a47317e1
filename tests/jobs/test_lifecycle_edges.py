"""Lifecycle edges `make mutation` found unchecked: a move retried after its COMMIT landed but the
answer was lost counts once (`_committed_earlier`; tests/faults/test_fault_lost_commit.py loses
the answer for real, in the slow set), `require_transition`'s refusals, `history` of one job."""
from __future__ import annotations

import pytest

from backend.jobs import lifecycle, service
from backend.jobs.claim import claim_next
from backend.jobs.errors import DomainError


@pytest.fixture
async def running_job(db, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await claim_next("local", "w1")
    return job["id"]


async def retry_once(job_id: int, to: str, reason: str, *, retried: bool = True) -> bool:
    return await lifecycle._transition_once(job_id, to, reason, None, None, {}, retried=retried)


async def test_a_retried_move_that_landed_counts_once(running_job):
    reason = "cancelled by the user " + "x" * 2500  # history keeps 2000 characters of it
    assert await lifecycle.transition(running_job, lifecycle.CANCELLED, reason)
    history = await lifecycle.history(running_job)
    assert history[-1]["reason"] == reason[:2000]
    with lifecycle.BUS.listen(running_job) as events:
        assert await retry_once(running_job, lifecycle.CANCELLED, reason)
        event = events.get_nowait()
    assert (event.job_id, event.status, event.attempt) == (running_job, "cancelled", 1)
    assert len(await lifecycle.history(running_job)) == len(history)  # no second row


async def test_only_the_same_change_is_taken_for_a_landed_one(running_job):
    reason = "cancelled by the user"
    assert await lifecycle.transition(running_job, lifecycle.CANCELLED, reason)
    assert not await retry_once(running_job, lifecycle.CANCELLED, "another reason")
    assert not await retry_once(running_job, lifecycle.CANCELLED, reason, retried=False)  # a first try
    assert not await retry_once(running_job, lifecycle.FAILED, reason)  # not what landed
    assert len(await lifecycle.history(running_job)) == 3  # created, claimed, cancelled: nothing added


async def test_require_transition_explains_its_refusals(running_job):
    with pytest.raises(DomainError) as err:
        await lifecycle.require_transition(424242, lifecycle.CANCELLED, "by the user")
    assert (err.value.code, err.value.message) == ("NOT_FOUND", "job 424242 does not exist")
    with pytest.raises(DomainError) as err:  # its keywords reach the move: attempt 2 is not this one
        await lifecycle.require_transition(running_job, lifecycle.CANCELLED, "by the user", expect_attempt=2)
    assert (err.value.code, err.value.message) == (
        "ILLEGAL_TRANSITION", f"job {running_job} is running; it cannot become cancelled")
    await lifecycle.require_transition(running_job, lifecycle.CANCELLED, "by the user", expect_attempt=1)
    assert (await lifecycle.history(running_job))[-1]["to_status"] == "cancelled"


async def test_history_is_one_job_s(running_job, settings, storages, presets, add_asset):
    other = await add_asset("small", key="other.mp4")
    second = await service.create_job(settings, storages, source_id=other["id"], preset_id=presets["H.264 480p"])
    assert [h["job"] for h in await lifecycle.history(second["id"])] == [second["id"]]
    assert {h["job"] for h in await lifecycle.history(running_job)} == {running_job}


async def test_progress_is_published_with_every_figure(running_job):
    """What jobUpdates subscribers get: the stored figures, the attempt and the executor."""
    with lifecycle.BUS.listen(running_job) as events:
        assert await lifecycle.report_progress(running_job, 1, progress=42.0, fps=24.5, speed=1.25, eta_seconds=8.0)
        event = events.get_nowait()
    assert (event.job_id, event.status, event.progress, event.fps, event.speed, event.eta_seconds,
            event.attempt, event.executor) == (running_job, "running", 42.0, 24.5, 1.25, 8.0, 1, "local")
    assert not await lifecycle.report_progress(running_job, 2, progress=50.0)  # another attempt: stop it
