"""Graceful stop of the local executor on real FFmpeg (what SIGTERM/Ctrl-C lead to in `mpr up`,
`mpr api` and `mpr worker`): a job that ends within the grace finishes; one that does not is
stopped and goes back to the queue as the same attempt ("server stopped"); a second signal cuts
the grace short; the jobs a force-killed server held are re-queued the same way.
"""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import psutil
import pytest

from backend.catalog.tables import TranscodeJob, TranscodePreset
from backend.jobs import lifecycle, service, shutdown
from backend.jobs.claim import claim_next
from backend.jobs.executors.local import LocalExecutor
from backend.jobs.recovery import release_stopped

from jobwait import wait_status


@pytest.fixture(autouse=True)
def no_stop_request():
    shutdown.reset()
    yield
    shutdown.reset()


async def encoding(job_id: int) -> None:
    """Until FFmpeg reports progress on the job (so a stop interrupts a real encode)."""
    for _ in range(900):
        row = await lifecycle.load_job(job_id)
        if row["status"] == "running" and (row["progress"] or 0) > 0:
            return
        assert row["status"] in ("queued", "running"), row
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never made progress")


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


@pytest.fixture
async def start_executor(settings, storages):
    """Starts local executors and stops, at teardown, every one a failed assertion left running: a
    leftover executor would claim the later tests' jobs (same database) with this test's folders."""
    started: list[LocalExecutor] = []

    async def start() -> LocalExecutor:
        ex = LocalExecutor(settings, storages, poll_seconds=0.2)
        await ex.start()
        started.append(ex)
        return ex

    yield start
    for ex in started:
        if not ex._stopping:
            await ex.stop()


async def long_job(settings, storages, presets, add_asset, trim_start=0.0, trim_end=10.0) -> dict:
    # the builtin 720p keeps the clip's 360p and ends 8 s of it in well under a second on a quiet
    # machine, before a stop could interrupt it: a veryslow copy encodes for several seconds
    asset = await add_asset("long")  # 30 s of 640x360
    base = await TranscodePreset.select().where(TranscodePreset.id == presets["H.264 720p"]).first()
    slow = await TranscodePreset.select().where(TranscodePreset.name == "H.264 720p veryslow").first()
    if slow is None:
        slow = TranscodePreset(**{k: v for k, v in base.items() if k != "id"})
        slow.name, slow.builtin, slow.speed_preset = "H.264 720p veryslow", False, "veryslow"
        await slow.save()
        slow = slow.to_dict()
    return await service.create_job(settings, storages, source_id=asset["id"], preset_id=slow["id"],
                                    trim_start=trim_start, trim_end=trim_end)


def assert_requeued_unspent(row: dict, history: list[dict]) -> None:
    assert (row["status"], row["attempt"], row["worker_id"], row["progress"]) == ("queued", 1, "", 0.0), row
    last = history[-1]
    assert (last["from_status"], last["to_status"], last["attempt"], last["reason"]) == (
        "running", "queued", 1, lifecycle.SERVER_STOPPED), history


async def test_a_job_that_ends_within_the_grace_finishes(db, settings, storages, presets, add_asset, start_executor):
    row = await long_job(settings, storages, presets, add_asset, trim_start=0.0, trim_end=4.0)
    ex = await start_executor()
    await encoding(row["id"])
    await ex.stop(grace=300)
    done = await lifecycle.load_job(row["id"])
    assert (done["status"], done["attempt"]) == ("succeeded", 1), done


async def test_after_the_grace_the_job_is_requeued_without_spending_an_attempt(db, settings, storages, presets,
                                                                               add_asset, start_executor):
    row = await long_job(settings, storages, presets, add_asset)
    ex = await start_executor()
    await encoding(row["id"])
    ffmpegs = ffmpeg_children()
    assert ffmpegs
    await ex.stop(grace=0.5)
    assert_requeued_unspent(await lifecycle.load_job(row["id"]), await lifecycle.history(row["id"]))
    assert not [p for p in ffmpegs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not list(settings.out_root.glob(".partial-*"))

    again = await start_executor()  # the next start runs the same attempt
    done = await wait_status(row["id"], timeout=240)
    await again.stop()
    assert (done["status"], done["attempt"]) == ("succeeded", 1), done


async def test_a_second_signal_cuts_the_grace_short(db, settings, storages, presets, add_asset, start_executor):
    row = await long_job(settings, storages, presets, add_asset)
    ex = await start_executor()
    await encoding(row["id"])
    shutdown.request_stop()  # first signal: no new claims
    stopping = asyncio.create_task(ex.stop(grace=3600))
    await asyncio.sleep(0)
    shutdown.hurry()  # second signal
    await stopping
    assert_requeued_unspent(await lifecycle.load_job(row["id"]), await lifecycle.history(row["id"]))


async def test_requeue_unspent_is_for_the_running_attempt_only(db, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    assert not await lifecycle.requeue_unspent(row["id"], 1)  # queued: nothing to return
    await claim_next("local", "w1")
    assert not await lifecycle.requeue_unspent(row["id"], 2)  # a stale attempt changes nothing
    assert await lifecycle.requeue_unspent(row["id"], 1)
    assert_requeued_unspent(await lifecycle.load_job(row["id"]), await lifecycle.history(row["id"]))
    claimed = await claim_next("local", "w2")
    assert (claimed["id"], claimed["attempt"]) == (row["id"], 1)


async def test_release_stopped_requeues_only_the_jobs_of_dead_server_processes(db, settings, storages, presets,
                                                                               add_asset):
    asset = await add_asset("small")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    ids = []
    for worker in (f"{host}:{dead.pid}:aaaa", f"{host}:{psutil.Process().pid}:bbbb"):
        row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
        await claim_next("local", worker)
        ids.append(row["id"])
    moved = await release_stopped({dead.pid, psutil.Process().pid})
    assert moved == [ids[0]]  # this test process is alive: its job stays running
    assert_requeued_unspent(await lifecycle.load_job(ids[0]), await lifecycle.history(ids[0]))
    assert (await TranscodeJob.select(TranscodeJob.status).where(TranscodeJob.id == ids[1]).first())["status"] == "running"
