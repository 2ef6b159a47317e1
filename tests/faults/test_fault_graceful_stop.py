"""Graceful stop of `mpr api` and `mpr worker` (the single-process servers; `mpr up` is in
test_fault_up.py): SIGTERM or Ctrl-C with a job encoding exits 0, stops FFmpeg after the grace and
puts the job back in the queue as the same attempt ("server stopped"); a second Ctrl-C does not
wait for the grace. Every line `mpr api` logs while doing so is one JSON object.
"""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time

import psutil
import pytest

from backend.catalog.ingest import ingest_key
from backend.catalog.tables import JobTransition, TranscodePreset, TranscodeJob
from backend.config import REPO_ROOT, Settings
from backend.jobs import service
from backend.storage import open_storages

from mpr_app import MprApp, bind, finish_app, start_app

pytestmark = pytest.mark.slow


async def _requeued_unspent(job_id: int) -> None:
    row = await TranscodeJob.select(TranscodeJob.status, TranscodeJob.attempt).where(TranscodeJob.id == job_id).first()
    last = await JobTransition.select().where(JobTransition.job == job_id).order_by(JobTransition.id, ascending=False).first()
    assert (row["status"], row["attempt"]) == ("queued", 1), row
    assert (last["from_status"], last["to_status"], last["reason"]) == ("running", "queued", "server stopped"), last


async def _encoding(job_id: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        row = await TranscodeJob.select(TranscodeJob.status, TranscodeJob.progress).where(TranscodeJob.id == job_id).first()
        if row["status"] == "running" and row["progress"] > 0:
            return
        assert proc.poll() is None and time.monotonic() < deadline, row
        await asyncio.sleep(0.1)


def _ffmpegs(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True) if "ffmpeg" in p.name()]


def _gone(procs: list[psutil.Process]) -> bool:
    return not [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


async def test_mpr_api_sigterm_requeues_the_running_job_and_exits_0(tmp_path, fault_clips):
    # no grace: the encode is stopped at once, so it cannot finish first on a fast machine (the
    # grace itself is tested in tests/jobs/test_graceful_stop.py and test_fault_up.py)
    app = await start_app(tmp_path, "sqlite", {"medium.mp4": fault_clips["medium"]}, workers=1,
                          MPR_SHUTDOWN_GRACE="0")
    try:
        source = (await app.scan())["medium.mp4"]["id"]
        preset = (await app.preset_ids())["H.264 720p"]
        job = int((await app.create_job(source, preset, outputName="api-term"))["id"])
        bind(app.database_url)
        await _encoding(job, app.proc)
        ffmpegs = _ffmpegs(app.proc.pid)
        assert ffmpegs
        app.proc.send_signal(signal.SIGTERM)
        assert app.proc.wait(60) == 0, app.log()
        assert _gone(ffmpegs)
        await _requeued_unspent(job)
        lines = [line for line in app.log().splitlines() if line.strip()]
        assert lines and all(json.loads(line)["msg"] for line in lines), lines  # one format, JSON lines
        assert any("shutdown grace" in json.loads(line)["msg"] for line in lines), lines
    finally:
        await finish_app(app)


async def test_mpr_worker_second_ctrl_c_stops_at_once(tmp_path, fault_clips):
    """MPR_SHUTDOWN_GRACE=600 and a 20 s encode: only the second SIGINT can end it early."""
    from mpr_app import new_database

    app = MprApp(tmp_path, await new_database("postgres", tmp_path), workers=1)
    app.migrate()
    (app.layout.in_root / "medium.mp4").write_bytes(fault_clips["medium"].read_bytes())
    bind(app.database_url)
    settings = Settings.from_env().with_(media_root=app.media_root, data_dir=tmp_path / "data")
    storages = open_storages(settings)
    asset = await ingest_key(storages, "medium.mp4", "in")
    # the builtin 720p keeps the clip's 360p and ends in about 2 s on a quiet machine: a veryslow
    # copy of it is still encoding when the second Ctrl-C comes
    base = await TranscodePreset.select().where(TranscodePreset.name == "H.264 720p").first()
    slow = TranscodePreset(**{k: v for k, v in base.items() if k != "id"})
    slow.name, slow.builtin, slow.speed_preset = "H.264 720p veryslow", False, "veryslow"
    await slow.save()
    job = (await service.create_job(settings, storages, source_id=asset.id, preset_id=slow.id))["id"]
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], cwd=REPO_ROOT,
                                env={**app.env, "MPR_SHUTDOWN_GRACE": "600"}, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        await _encoding(job, proc)
        ffmpegs = _ffmpegs(proc.pid)
        proc.send_signal(signal.SIGINT)
        await asyncio.sleep(0.5)
        assert proc.poll() is None  # waiting for the job, as the first Ctrl-C asks
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log_path.read_text()
        assert _gone(ffmpegs)
        await _requeued_unspent(job)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await finish_app(app)
