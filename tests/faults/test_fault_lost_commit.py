"""A status change whose COMMIT reached the database but whose answer was lost (the connection died
right after): the retry must recognise its own change instead of reporting "somebody else moved
the job" — for the local executor that would mean deleting the output of a job it just marked
succeeded. Fault injected in-process on both engines (the `db` fixture).
"""
from __future__ import annotations

import asyncio
import contextlib
import shutil

import asyncpg
import pytest

from backend.catalog.ingest import ingest_key
from backend.catalog.outputs import wait_for_thumbnails
from backend.catalog.presets import seed_builtin_presets
from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob, TranscodePreset
from backend.jobs import lifecycle, service
from backend.jobs.executors.local import LocalExecutor
from backend.storage import open_storages

pytestmark = pytest.mark.slow


async def test_succeeded_commit_with_lost_answer_keeps_the_output(db, settings, fault_clips, monkeypatch):
    storages = open_storages(settings)
    await seed_builtin_presets()
    shutil.copyfile(fault_clips["small"], settings.in_root / "small.mp4")
    asset = await ingest_key(storages, "small.mp4")
    preset = await TranscodePreset.select(TranscodePreset.id).where(TranscodePreset.name == "H.264 480p").first()

    # the SUCCEEDED transition commits, then its connection "dies" before the answer arrives
    engine_class = type(TranscodeJob._meta.db)
    real_transaction, real_record = engine_class.transaction, lifecycle.record
    pending: list[int] = []
    lost: list[int] = []

    async def record(job_id, src, dst, attempt, reason):
        await real_record(job_id, src, dst, attempt, reason)
        if dst == lifecycle.SUCCEEDED and not lost:
            pending.append(job_id)

    @contextlib.asynccontextmanager
    async def transaction(self, *args, **kwargs):
        async with real_transaction(self, *args, **kwargs) as tx:
            yield tx
        if pending:  # committed
            lost.append(pending.pop())
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr(lifecycle, "record", record)
    monkeypatch.setattr(engine_class, "transaction", transaction)
    executor = LocalExecutor(settings, storages, poll_seconds=0.1)
    await executor.start()
    try:
        row = await service.create_job(settings, storages, source_id=asset.id, preset_id=preset["id"])
        for _ in range(600):
            job = await lifecycle.load_job(row["id"])
            if job["status"] in lifecycle.TERMINAL and not executor.running:
                break
            await asyncio.sleep(0.1)
    finally:
        await executor.stop()
        await wait_for_thumbnails()

    assert lost == [row["id"]]  # the fault did strike
    job = await lifecycle.load_job(row["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["output_asset"], "the output asset of a succeeded job was discarded"
    assert await MediaAsset.exists().where(MediaAsset.id == job["output_asset"])
    assert (settings.out_root / job["output_key"]).stat().st_size > 0
    to_statuses = [t["to_status"] for t in await JobTransition.select().where(JobTransition.job == row["id"])
                   .order_by(JobTransition.id)]
    assert to_statuses == ["queued", "running", "succeeded"]
