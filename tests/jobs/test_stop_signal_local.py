"""A cancel stops a local job through the structured signal, whatever the words: every human
message of the callback replies is reworded, the cancel reaches the executor only through the
job row (no event on the bus, as when another process cancels it), and the attempt's reporter
(`CatalogReporter.should_stop`) stops FFmpeg — for a single pass and for every chunk of a
chunked job, whose FFmpeg processes and chunk tasks are all gone afterwards.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from backend.catalog.outputs import wait_for_thumbnails
from backend.jobs import callbacks, lifecycle, service
from backend.jobs.events import BUS
from backend.jobs.executors.local import LocalExecutor
from jobwait import wait_status


def ffmpeg_children() -> list[int]:
    """Processes started by this one whose program is ffmpeg."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and comm.startswith("ffmpeg"):
            found.append(int(entry.name))
    return found


@pytest.fixture
def reworded(monkeypatch):
    for i, name in enumerate(callbacks.MESSAGES):
        monkeypatch.setitem(callbacks.MESSAGES, name, f"Nachricht {i}: etwas ist anders")


@pytest.mark.parametrize("chunked", [False, True], ids=["single", "chunked"])
async def test_cancel_stops_a_local_job_by_the_row_alone(db, settings, storages, presets, add_asset, reworded,
                                                       monkeypatch, chunked):
    asset = await add_asset("long")
    ex = LocalExecutor(settings, storages, poll_seconds=0.2)
    stopped = []  # attempts that ended by being stopped (not by running to their end)
    after_cancel = ex._after_cancel

    async def spy(row, attempt):
        stopped.append(row["id"])
        await after_cancel(row, attempt)

    monkeypatch.setattr(ex, "_after_cancel", spy)
    await ex.start()
    try:
        row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 1080p"],
                                       chunked=chunked)

        async def started() -> None:
            async for ev in BUS.subscribe(row["id"]):
                if ev.status == "running" and ev.progress > 0:
                    return

        await asyncio.wait_for(started(), 90)
        assert ffmpeg_children(), "FFmpeg should be running"
        publish = BUS.publish
        monkeypatch.setattr(BUS, "publish", lambda event: None if event.job_id == row["id"] else publish(event))
        assert await lifecycle.transition(row["id"], lifecycle.CANCELLED, "cancelled elsewhere")
        monkeypatch.setattr(BUS, "publish", publish)
        for _ in range(300):  # the next progress write finds the attempt gone; the runner stops
            if not ex.running:
                break
            await asyncio.sleep(0.1)
        assert not ex.running, "the attempt kept running after its job was cancelled"
        assert stopped == [row["id"]], "the attempt ran to its end instead of being stopped"
        assert ffmpeg_children() == []
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("mpr-chunk") and not t.done()]
        done = await wait_status(row["id"])
        assert done["status"] == "cancelled"
        assert not list(settings.out_root.glob(".partial-*")) and not (settings.out_root / row["output_key"]).exists()
    finally:
        await ex.stop()
        await wait_for_thumbnails()
