"""Template jobs on the local executor: progress while the ladder encodes, cancel removes the
half-written package folder, retry makes it again from scratch."""
from __future__ import annotations

import asyncio
import json

from backend.catalog.tables import OutputTemplate, TranscodeJob
from backend.catalog.templates import seed_builtin_templates
from backend.jobs import service
from backend.jobs.events import BUS
from backend.jobs.executors.local import LocalExecutor
from jobwait import wait_status


async def test_cancel_removes_the_partial_package_and_retry_makes_it(db, settings, storages, add_asset):
    await seed_builtin_templates()
    # a veryslow copy of "Mobile ABR": the builtin (veryfast) can finish 30 s of 240p on a quiet
    # machine before the first progress event reaches the test, and then there is nothing to cancel
    base = await OutputTemplate.select().where(OutputTemplate.name == "Mobile ABR").first()
    outputs = [{**o, "preset": {**o["preset"], "speed_preset": "veryslow"}} if o.get("preset") else o
               for o in json.loads(base["outputs"])]
    template = OutputTemplate(name="Mobile ABR veryslow", outputs=outputs, segment_seconds=base["segment_seconds"],
                              packaging=base["packaging"])
    await template.save()
    template = template.to_dict()
    executor = LocalExecutor(settings, storages, poll_seconds=0.2)
    await executor.start()
    try:
        asset = await add_asset("long")  # 30 s of 640x360: "Mobile ABR" keeps 240p, skips 720p and 480p
        row = await service.create_job(settings, storages, source_id=asset["id"], template_id=template["id"])
        progress = []

        async def listen():
            async for ev in BUS.subscribe(row["id"]):
                assert ev.status in ("queued", "running"), f"the job ended before it could be cancelled: {ev}"
                if ev.status == "running" and ev.progress > 0:
                    progress.append(ev.progress)
                    return

        await asyncio.wait_for(listen(), 60)
        partials = list(settings.out_root.glob(".partial-*"))
        assert partials and partials[0].is_dir(), "the package is written into a partial folder"
        await service.cancel_job(row["id"])
        assert (await wait_status(row["id"]))["status"] == "cancelled"
        for _ in range(50):
            if not any(p.exists() for p in partials):
                break
            await asyncio.sleep(0.1)
        assert not any(p.exists() for p in partials)
        folder = settings.out_root / row["output_key"].split("/")[0]
        assert not folder.exists()

        await service.retry_job(row["id"])
        done = await wait_status(row["id"], timeout=180)
        assert done["status"] == "succeeded", done["error"]
        assert (folder / "master.m3u8").is_file() and (folder / "manifest.mpd").is_file()
        assert not list(settings.out_root.glob(".partial-*"))
        stored = await TranscodeJob.select(TranscodeJob.outputs, TranscodeJob.playback_key).where(
            TranscodeJob.id == row["id"]).first()
        assert stored["playback_key"] == row["output_key"]
        assert "skipped" in done["plan"]
    finally:
        await executor.stop()
