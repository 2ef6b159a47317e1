"""Faults on the topology `make run` runs: `mpr up` → Reflex/granian supervisor → worker → FFmpeg.

One installation per database, started three times:
1. SIGKILL to `mpr up` while a job encodes: within 5 s no process of that server is left (no
   listener on the port, no FFmpeg). A second `mpr up` on the same port is refused with one line
   naming the holder while the first runs; after the kill, a restart on the same port and
   database starts at once and finishes the job as attempt 2.
2. SIGKILL to one process of the server alone (the supervisor on SQLite, the worker that runs
   the executor on PostgreSQL) while a job encodes: `mpr up` exits non-zero, nothing is left,
   and the next start finishes that job as attempt 2.
3. SIGTERM while a job encodes: exit code 0 and nothing left; the job (longer than the 1 s grace)
   is back in the queue as the same attempt, with the reason "server stopped".
A second installation: a double Ctrl-C stops at once and still re-queues the job unspent.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from backend.catalog.tables import JobTransition, TranscodeJob
from backend.config import REPO_ROOT

from mpr_app import bind, finish_app
from mpr_up import alive, listeners, start_up, wait_all_gone, wait_encoding

pytestmark = pytest.mark.slow
STALL = 60  # recovery must come from the dead worker's pid, not from a stalled heartbeat
GRACE = 1


async def _job(app, source_id: str, preset_id: str, name: str) -> str:
    return (await app.create_job(source_id, preset_id, outputName=name))["id"]


async def _finished_as_attempt_2(app, job_id: str, died: str) -> None:
    done = await app.wait_job(job_id, timeout=240)
    assert done["status"] == "SUCCEEDED" and done["attempt"] == 2, done
    recovered = [h for h in done["history"] if h["fromStatus"] == "running" and h["toStatus"] == "queued"]
    assert len(recovered) == 1 and died in recovered[0]["reason"], done["history"]


def _second_up_refused(app) -> None:
    env = {**app.env, "MPR_DATA_DIR": str(app.root / "other-data"), "MPR_MEDIA_ROOT": str(app.root / "other-media")}
    done = subprocess.run([sys.executable, "-m", "backend.cli", "up", "--port", str(app.port)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode != 0 and len(lines) == 1, (done.returncode, lines)
    assert f"port {app.port} on 127.0.0.1 is in use by pid" in lines[0], lines
    assert "an MPR server of this checkout" in lines[0] and f"`mpr up` pid {app.proc.pid}" in lines[0], lines
    assert not (app.root / "other-data").exists()  # refused before anything was prepared or built


@pytest.mark.parametrize("kind,victim", [("sqlite", "server"), ("postgres", "worker")])
async def test_mpr_up_leaves_nothing_behind(kind, victim, tmp_path, fault_clips):
    app = await start_up(tmp_path, kind, {"medium.mp4": fault_clips["medium"]}, workers=1,
                         stall_seconds=STALL, MPR_SHUTDOWN_GRACE=str(GRACE))
    try:
        source = (await app.scan())["medium.mp4"]["id"]
        preset = (await app.preset_ids())["H.264 720p"]
        _second_up_refused(app)

        # 1. kill -9 of `mpr up` itself
        first = await _job(app, source, preset, "up-kill")
        await wait_encoding(app, first)
        tree = app.tree()
        assert any("ffmpeg" in p.name() for p in tree), [p.name() for p in tree]
        os.kill(app.proc.pid, signal.SIGKILL)
        app.proc.wait(10)
        wait_all_gone(tree, app.port, within=5)
        bind(app.database_url)
        row = await TranscodeJob.select(TranscodeJob.status).where(TranscodeJob.id == int(first)).first()
        assert row["status"] == "running"  # nobody was left to say otherwise
        app.start()  # same port, same database: nothing holds either
        await _finished_as_attempt_2(app, first, "died")

        # 2. kill -9 of one server process: `mpr up` notices and exits non-zero
        second = await _job(app, source, preset, "server-kill")
        await wait_encoding(app, second)
        tree = app.tree()
        (app.server() if victim == "server" else app.worker()).kill()
        code = app.proc.wait(30)
        assert code != 0, app.log()
        wait_all_gone(tree, app.port, within=5)
        assert "exited by itself" in app.log(), app.log()
        app.start()
        await _finished_as_attempt_2(app, second, "died")

        # 3. SIGTERM while a job encodes: graceful stop, exit 0
        third = await _job(app, source, preset, "up-term")
        await wait_encoding(app, third)
        tree = app.tree()
        app.proc.send_signal(signal.SIGTERM)
        assert app.proc.wait(GRACE + 60) == 0, app.log()
        assert not alive(tree) and not listeners(app.port)
        row = await TranscodeJob.select(TranscodeJob.status, TranscodeJob.attempt).where(
            TranscodeJob.id == int(third)).first()
        history = await JobTransition.select().where(JobTransition.job == int(third)).order_by(JobTransition.id)
        if row["status"] == "succeeded":  # it finished within the grace
            assert row["attempt"] == 1
        else:
            assert (row["status"], row["attempt"]) == ("queued", 1), row
            assert (history[-1]["from_status"], history[-1]["to_status"], history[-1]["reason"]) == (
                "running", "queued", "server stopped"), history
        assert not list(app.layout.out_root.glob(".partial-*"))
        assert await TranscodeJob.count().where(TranscodeJob.status == "running") == 0
    finally:
        await finish_app(app)


async def _veryslow_preset(app) -> str:
    """A preset whose encode of the 20 s clip lasts well past the test's two signals on any machine
    (the builtin H.264 720p keeps the clip's 360p and finishes in about 2 s on a quiet one)."""
    data = await app.gql('mutation { createPreset(input: {name: "H.264 veryslow", kind: "video", container: "mp4", '
                         'videoCodec: "libx264", crf: 23, speedPreset: "veryslow"}) { id } }')
    return data["createPreset"]["id"]


async def test_mpr_up_second_ctrl_c_stops_at_once(tmp_path, fault_clips):
    """MPR_SHUTDOWN_GRACE=600 and a 20 s encode: the second SIGINT ends it now; `mpr up` kills its
    server and itself puts the job back in the queue as the same attempt, then exits 0."""
    app = await start_up(tmp_path, "sqlite", {"medium.mp4": fault_clips["medium"]}, workers=1,
                         stall_seconds=STALL, MPR_SHUTDOWN_GRACE="600")
    try:
        source = (await app.scan())["medium.mp4"]["id"]
        preset = await _veryslow_preset(app)
        job = await _job(app, source, preset, "up-ctrl-c")
        await wait_encoding(app, job)
        tree = app.tree()
        app.proc.send_signal(signal.SIGINT)
        await asyncio.sleep(1)
        assert app.proc.poll() is None  # the first Ctrl-C waits for the job
        app.proc.send_signal(signal.SIGINT)
        assert app.proc.wait(60) == 0, app.log()
        wait_all_gone(tree, app.port, within=5)
        bind(app.database_url)
        row = await TranscodeJob.select(TranscodeJob.status, TranscodeJob.attempt).where(
            TranscodeJob.id == int(job)).first()
        last = await JobTransition.select().where(JobTransition.job == int(job)).order_by(
            JobTransition.id, ascending=False).first()
        assert (row["status"], row["attempt"]) == ("queued", 1), (row, app.log())
        assert (last["from_status"], last["to_status"], last["reason"]) == ("running", "queued", "server stopped")
    finally:
        await finish_app(app)
