"""The real app for the AWS end-to-end tests: create_app under uvicorn as a task of the test's
event loop (so the in-process event bus connects the test's commands with the executor), plus
small helpers to add assets and wait for jobs."""
from __future__ import annotations

import asyncio
import contextlib
import time

import uvicorn

from backend.api.app import create_app
from backend.catalog.ingest import ingest_key
from backend.catalog.outputs import wait_for_thumbnails
from backend.catalog.presets import seed_builtin_presets
from backend.catalog.tables import TranscodeJob, TranscodePreset
from backend.jobs import lifecycle
from backend.jobs.executors.aws import AwsExecutor
from backend.storage import open_storages

STALL = 2  # seconds without callbacks before the reconciler asks Step Functions


class App:
    def __init__(self, settings, storages, litestar_app):
        self.settings = settings
        self.storages = storages
        self.litestar = litestar_app

    @property
    def executor(self) -> AwsExecutor:
        return self.litestar.state.runtime.executor


@contextlib.asynccontextmanager
async def serving(s, moto_stack):
    """create_app(s) under uvicorn, as a task of this event loop, with the builtin presets."""
    storages = open_storages(s)
    web = create_app(s, run_jobs=True, db_pool=False, storages=storages)
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=s.port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done(), task.exception() if task.done() else None
        assert time.monotonic() < deadline, "app did not start"
        await asyncio.sleep(0.02)
    await seed_builtin_presets()
    moto_stack.aws.invocations.clear()  # job ids start again at 1 in each database
    try:
        yield App(s, storages, web)
    finally:
        await wait_for_thumbnails()
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def add_asset(app: App, clip, key: str) -> dict:
    await app.storages.input.put_file(clip, key)
    row = await ingest_key(app.storages, key, "in")
    assert row.status == "ready", row.error_message
    return row.to_dict()


async def preset_id(name: str = "H.264 480p") -> int:
    return (await TranscodePreset.select(TranscodePreset.id).where(TranscodePreset.name == name).first())["id"]


async def job(job_id: int) -> dict:
    return await TranscodeJob.select().where(TranscodeJob.id == job_id).first()


async def wait_job(job_id: int, statuses=lifecycle.TERMINAL, timeout: float = 60.0, also=lambda row: True) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        row = await job(job_id)
        if row["status"] in statuses and also(row):
            return row
        assert time.monotonic() < deadline, f"job {job_id} still {row['status']}: {row['error']}"
        await asyncio.sleep(0.1)


async def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
