"""1,000 queued short jobs drained by two `mpr worker` processes sharing PostgreSQL: each job runs
exactly once (one claim, attempt 1), both workers take a share, every output exists.

The cheapest real job: "Trim only (stream copy)" of a 1 s 64x64 clip. MPR_FAULT_DRAIN_JOBS sets
the count (default 1000); the drain time and rate are printed.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob
from backend.config import REPO_ROOT, Settings
from backend.jobs import service
from backend.storage import open_storages

from mpr_app import MprApp, bind, drop_database, new_database

pytestmark = pytest.mark.slow
JOBS = int(os.environ.get("MPR_FAULT_DRAIN_JOBS", "1000"))


async def queue_jobs(app: MprApp, count: int) -> list[int]:
    """One job through service.create_job, then count-1 copies of its row with their own output keys."""
    settings = Settings.from_env().with_(media_root=app.media_root)
    storages = open_storages(settings)
    source = (await app.scan())["tiny.mp4"]
    preset = (await app.preset_ids())["Trim only (stream copy)"]
    first = await service.create_job(settings, storages, source_id=int(source["id"]), preset_id=int(preset),
                                     trim_start=0.0, trim_end=1.0, output_name="drain-0000")
    template = {k: v for k, v in first.items() if k not in ("id", "created_at", "updated_at")}
    rows = [TranscodeJob(**{**template, "output_filename": f"drain-{i:04d}.mp4", "output_key": f"drain-{i:04d}.mp4"})
            for i in range(1, count)]
    ids = [first["id"]]
    for start in range(0, len(rows), 250):
        ids += [r["id"] for r in await TranscodeJob.insert(*rows[start:start + 250]).returning(TranscodeJob.id)]
    await JobTransition.insert(*[JobTransition(job=i, from_status="", to_status="queued", reason="created")
                                 for i in ids[1:]])
    return ids


async def pg_sessions(url: str) -> int:
    row = await TranscodeJob.raw("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    return row[0]["sessions"]


def start_worker(app: MprApp, n: int) -> subprocess.Popen:
    log = open(app.root / f"worker-{n}.log", "wb")  # noqa: SIM115 - kept by the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "worker", "--once", "--timeout", "900"],
        cwd=REPO_ROOT, env={**app.env, "MPR_WORKERS": "2"}, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    log.close()
    return proc


async def test_two_workers_drain_the_queue_each_job_once(tmp_path, fault_clips):
    url = await new_database("postgres", tmp_path)
    app = MprApp(tmp_path, url, workers=0)  # the app only scans and lists presets; it takes no jobs
    workers: list[subprocess.Popen] = []
    try:
        app.migrate()
        (app.layout.in_root / "tiny.mp4").write_bytes(fault_clips["tiny"].read_bytes())
        app.start()
        bind(url)
        ids = await queue_jobs(app, JOBS)
        app.stop()
        sessions0 = await pg_sessions(url)
        t0 = time.monotonic()
        workers = [start_worker(app, n) for n in (1, 2)]
        for proc in workers:
            rc = await asyncio.to_thread(proc.wait, 900)
            assert rc == 0, (app.root / "worker-1.log").read_text()[-3000:]
        elapsed = time.monotonic() - t0
        print(f"\n{len(ids)} stream-copy jobs drained by 2 workers (2 slots each) in {elapsed:.1f} s "
              f"= {len(ids) / elapsed:.1f} jobs/s; {await pg_sessions(url) - sessions0} PostgreSQL sessions opened")

        rows = await TranscodeJob.select(TranscodeJob.id, TranscodeJob.status, TranscodeJob.attempt,
                                         TranscodeJob.worker_id, TranscodeJob.output_key, TranscodeJob.error)
        assert len(rows) == len(ids)
        bad = [r for r in rows if r["status"] != "succeeded" or r["attempt"] != 1]
        assert not bad, bad[:5]
        claims = Counter(t["job"] for t in await JobTransition.select(JobTransition.job).where(
            JobTransition.to_status == "running"))
        assert set(claims) == set(ids) and set(claims.values()) == {1}, claims.most_common(3)
        shares = Counter(r["worker_id"] for r in rows)
        assert len(shares) == 2 and min(shares.values()) >= len(ids) // 10, shares
        assert await MediaAsset.count().where(MediaAsset.storage_area == "out") == len(ids)
        assert all((app.layout.out_root / r["output_key"]).stat().st_size > 0 for r in rows)
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        app.stop()
        await drop_database(url)

