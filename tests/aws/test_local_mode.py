"""`mpr aws local` as a user runs it: a separate process serving moto with the real handler, whose
printed settings make an MPR server (here: the app in this process) run jobs on it end to end."""
from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest
import uvicorn

from backend.api.app import create_app
from backend.awsdeploy.local import free_port
from backend.catalog.ingest import ingest_key
from backend.catalog.outputs import wait_for_thumbnails
from backend.catalog.presets import seed_builtin_presets
from backend.catalog.tables import TranscodeJob, TranscodePreset
from backend.config import REPO_ROOT, Settings
from backend.jobs import lifecycle, service
from backend.storage import open_storages

pytestmark = [pytest.mark.slow, pytest.mark.aws]


@pytest.fixture
def local_mode(tmp_path):
    """Start `mpr aws local` and return the settings it printed."""
    app_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MPR_"))}
    env.update(MPR_CALLBACK_SECRET="local-mode-secret", MPR_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "aws", "local", "--port", str(free_port()),
         "--callback-url", f"http://127.0.0.1:{app_port}"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    exported: dict[str, str] = {}
    lines = []
    deadline = time.monotonic() + 120
    try:
        for line in proc.stdout:
            lines.append(line)
            if m := re.match(r"export (\w+)=(.*)$", line.strip()):
                exported[m.group(1)] = shlex.split(m.group(2))[0]
            if "make run" in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert proc.poll() is None, "".join(lines)
        yield exported, app_port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_printed_settings_run_a_job_end_to_end(local_mode, db, tmp_path, monkeypatch, aws_clips):
    exported, port = local_mode
    assert {"MPR_EXECUTOR", "MPR_STORAGE", "MPR_S3_IN_BUCKET", "MPR_S3_OUT_BUCKET", "MPR_STATE_MACHINE_ARN",
            "MPR_CHUNKED_STATE_MACHINE_ARN", "MPR_CALLBACK_SECRET", "MPR_CALLBACK_URL", "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID"} <= set(exported)
    assert exported["MPR_CHUNKED_STATE_MACHINE_ARN"].endswith(":stateMachine:mpr-transcode-chunked")
    assert exported["MPR_LADDER_STATE_MACHINE_ARN"].endswith(":stateMachine:mpr-transcode-ladder")
    assert exported["MPR_SEQUENCE_STATE_MACHINE_ARN"].endswith(":stateMachine:mpr-transcode-sequence")
    assert exported["MPR_CALLBACK_SECRET"] == "local-mode-secret"
    for name, value in exported.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MPR_DATABASE_URL", db)
    monkeypatch.setenv("MPR_PORT", str(port))
    monkeypatch.setenv("MPR_MEDIA_ROOT", str(tmp_path / "media"))
    monkeypatch.setenv("MPR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MPR_API_TOKEN", "t")
    settings = Settings.from_env()
    assert (settings.executor, settings.storage) == ("aws", "s3")

    storages = open_storages(settings)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db_pool=False, storages=storages),
                                           host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done()
            await asyncio.sleep(0.02)
        await seed_builtin_presets()
        await storages.input.put_file(aws_clips["tiny"], "local-mode.mp4")
        asset = await ingest_key(storages, "local-mode.mp4", "in")
        preset = await TranscodePreset.select(TranscodePreset.id).where(TranscodePreset.name == "AAC audio").first()
        job = await service.create_job(settings, storages, source_id=asset.id, preset_id=preset["id"])
        deadline = time.monotonic() + 60
        while (row := await TranscodeJob.select().where(TranscodeJob.id == job["id"]).first())["status"] not in lifecycle.TERMINAL:
            assert time.monotonic() < deadline, row
            await asyncio.sleep(0.1)
        assert row["status"] == "succeeded", row["error"]
        info = await storages.output.stat(row["output_key"])
        assert row["output_key"].endswith(".m4a") and info.size > 0

        # the chunked state machine is deployed too, and the printed settings name it
        assert settings.chunked_state_machine_arn == exported["MPR_CHUNKED_STATE_MACHINE_ARN"]
        video = await TranscodePreset.select(TranscodePreset.id).where(TranscodePreset.name == "H.264 480p").first()
        job = await service.create_job(settings, storages, source_id=asset.id, preset_id=video["id"], chunked=True)
        while (row := await lifecycle.load_job(job["id"]))["status"] not in lifecycle.TERMINAL:
            assert time.monotonic() < deadline + 60, row
            await asyncio.sleep(0.1)
        assert row["status"] == "succeeded", row["error"]
        assert row["plan"]["mode"] == "chunked" and ":execution:mpr-transcode-chunked:" in row["execution_id"]
    finally:
        await wait_for_thumbnails()
        server.should_exit = True
        await asyncio.wait_for(task, 30)
