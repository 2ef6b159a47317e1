"""A move retried after its COMMIT landed but the answer was lost counts once (lifecycle's
`_committed_earlier`): the fast-test counterpart of tests/faults/test_fault_lost_commit.py,
which loses the answer for real. Written for what `make mutation` found unchecked."""
from __future__ import annotations

import pytest

from backend.jobs import lifecycle, service
from backend.jobs.claim import claim_next


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
