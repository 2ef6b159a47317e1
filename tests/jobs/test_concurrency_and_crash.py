"""Two executors sharing PostgreSQL run every job exactly once; a worker killed with -9 loses no job."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from backend.catalog.tables import JobTransition, TranscodeJob
from backend.config import REPO_ROOT
from backend.jobs import service
from backend.jobs.executors.local import LocalExecutor

from jobwait import wait_status
from skips import engine_specific


async def test_two_executors_run_each_job_once(db, settings, storages, presets, add_asset):
    if not db.startswith("postgres"):
        engine_specific("SKIP LOCKED claiming across processes is a PostgreSQL property")
    asset = await add_asset("small")
    ids = [
        (await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["Trim only (stream copy)"],
                                  trim_start=0.0, trim_end=1.0))["id"]
        for _ in range(20)
    ]
    a = LocalExecutor(settings.with_(workers=2), storages, worker_id="host-a:1:a", poll_seconds=0.05)
    b = LocalExecutor(settings.with_(workers=2), storages, worker_id="host-b:2:b", poll_seconds=0.05)
    await a.start()
    await b.start()
    try:
        await a.drain(120)
        await b.drain(120)
    finally:
        await a.stop()
        await b.stop()
    rows = await TranscodeJob.select().where(TranscodeJob.id.is_in(ids))
    assert {r["status"] for r in rows} == {"succeeded"}
    claims = Counter(
        t["job"] for t in await JobTransition.select().where(
            (JobTransition.to_status == "running") & JobTransition.job.is_in(ids)
        )
    )
    dup = [i for i in ids if claims[i] != 1]
    assert not dup, [
        (t["job"], t["from_status"], t["to_status"], t["attempt"], t["reason"])
        for t in await JobTransition.select().where(JobTransition.job.is_in(dup)).order_by(JobTransition.id)
    ]
    assert {r["worker_id"] for r in rows} == {"host-a:1:a", "host-b:2:b"}  # both took a share


def _worker(url: str, settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "MPR_DATABASE_URL": url,
        "MPR_MEDIA_ROOT": str(settings.media_root),
        "MPR_DATA_DIR": str(settings.data_dir),
        "MPR_WORKERS": "1",
        "MPR_STALL_SECONDS": str(settings.stall_seconds),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "worker"], cwd=REPO_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


@pytest.mark.slow
async def test_kill_9_worker_then_restart_finishes_job(db, settings, storages, presets, add_asset):
    asset = await add_asset("long")
    row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 1080p"])
    first = _worker(db, settings)
    try:
        for _ in range(300):
            job = await TranscodeJob.select().where(TranscodeJob.id == row["id"]).first()
            if job["status"] == "running" and job["progress"] > 0:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"worker never started the job: {first.stderr.read1().decode()[-2000:] if first.poll() is not None else ''}")
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its FFmpeg die at once
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert (await TranscodeJob.select(TranscodeJob.status).where(TranscodeJob.id == row["id"]).first())["status"] == "running"
    second = _worker(db, settings)
    try:
        done = await wait_status(row["id"], timeout=settings.stall_seconds + 120)
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempt"] == 2
    reasons = [t["reason"] for t in await JobTransition.select().where(JobTransition.job == row["id"])]
    assert any("died" in r for r in reasons), reasons
    assert not list(settings.out_root.glob(".partial-*"))
