"""kill -9 of the app while two jobs encode, then a restart on the same database.

Proves: the FFmpeg children die with the app (no orphan keeps encoding), the restarted app
recovers both jobs within the stall window and finishes them, nothing stays `running`, and no
job was ever in two `running` stretches at once.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time

import psutil
import pytest

from backend.catalog.tables import JobTransition, TranscodeJob

from mpr_app import bind, finish_app, running_periods, start_app

pytestmark = pytest.mark.slow
STALL = 20


def _utc(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_kill_9_app_with_two_running_jobs(kind, tmp_path, fault_clips):
    app = await start_app(tmp_path, kind, {"medium.mp4": fault_clips["medium"]}, workers=2, stall_seconds=STALL)
    orphans: list[psutil.Process] = []
    try:
        source = (await app.scan())["medium.mp4"]
        preset = (await app.preset_ids())["H.264 720p"]
        ids = [(await app.create_job(source["id"], preset, outputName=f"kill-{i}"))["id"] for i in range(2)]

        deadline = time.monotonic() + 60
        while True:
            jobs = [await app.job(i) for i in ids]
            if all(j["status"] == "RUNNING" and j["progress"] > 0 for j in jobs):
                break
            assert time.monotonic() < deadline, (jobs, app.log())
            await asyncio.sleep(0.1)
        ffmpegs = app.ffmpeg_children()
        assert len(ffmpegs) == 2, ffmpegs

        app.kill9()
        gone, orphans = psutil.wait_procs(ffmpegs, timeout=5)
        assert not orphans, f"FFmpeg kept encoding after the app died: {[p.pid for p in orphans]}"

        bind(app.database_url)
        rows = await TranscodeJob.select(TranscodeJob.status).where(TranscodeJob.id.is_in([int(i) for i in ids]))
        assert [r["status"] for r in rows] == ["running", "running"]  # nobody was left to say otherwise

        restarted = dt.datetime.now(dt.timezone.utc)
        app.start()
        finals = [await app.wait_job(i, timeout=STALL + 150) for i in ids]
        for job in finals:
            assert job["status"] in ("SUCCEEDED", "FAILED"), job
            if job["status"] == "FAILED":
                assert job["error"] and "Traceback" not in job["error"]
            else:
                out = job["outputAsset"]
                assert out and (out["width"], out["height"]) == (640, 360) and out["duration"] > 19
            assert job["attempt"] == 2, job["history"]

            history = await JobTransition.select().where(JobTransition.job == int(job["id"])).order_by(JobTransition.id)
            periods = running_periods(history)
            assert len(periods) == 2 and all(end for _, end in periods), history
            first_end, second_start = _utc(periods[0][1]), _utc(periods[1][0])
            assert first_end <= second_start, periods
            recovered = next(t for t in history if t["from_status"] == "running" and t["to_status"] == "queued")
            assert "died" in recovered["reason"], recovered
            assert (_utc(recovered["at"]) - restarted).total_seconds() < STALL, (recovered, restarted)

        assert await TranscodeJob.count().where(TranscodeJob.status == "running") == 0
        assert not list(app.layout.out_root.glob(".partial-*"))
    finally:
        for proc in orphans:
            proc.kill()
        await finish_app(app)
