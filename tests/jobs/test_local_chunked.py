"""Chunked jobs through the local executor, checked by process and in the database: a cancel
mid-chunk leaves no FFmpeg of the job and no partial file and the job `cancelled`; a chunk whose
FFmpeg dies mid-encode, or a chunk with the wrong frame count, fails the job with that chunk's
reason (the other chunks stopped). Real FFmpeg on a 30 s clip, both engines (`db`).
"""
from __future__ import annotations

import asyncio
import re
import tempfile
from dataclasses import replace

import pytest

import backend.media.chunking.joins as chunked_mod  # check_chunk_frames looks stream_stats up here
from backend.catalog.tables import MediaAsset
from backend.jobs import lifecycle, service
from backend.jobs.events import BUS
from backend.jobs.executors.local import LocalExecutor
from jobwait import wait_status
from procs import describe, ffmpeg_children, kill_all

pytestmark = pytest.mark.slow  # a 30 s clip encoded in chunks, three times per engine

CHUNK = re.compile(r"chunk-(\d{5})\.")


@pytest.fixture
async def executor(db, settings, storages, tmp_path, monkeypatch):
    """A local executor whose job work folders (chunks) are created under this test's tmp_path."""
    work_root = tmp_path / "work"
    work_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work_root))
    ex = LocalExecutor(settings, storages, poll_seconds=0.2)
    await ex.start()
    try:
        yield ex
    finally:
        await ex.stop()
        kill_all(ffmpeg_children(str(tmp_path)))  # only if a check failed: never leak encodes


async def start_chunked_job(settings, storages, presets, add_asset) -> dict:
    asset = await add_asset("long")  # 30 s of 640x360, a keyframe every 2 s
    return await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"],
                                    trim_start=1.0, trim_end=29.0, chunked=True)


async def chunks_encoding(job_id: int, marker: str, at_least: int = 2, timeout: float = 60.0) -> list:
    """Wait until the job reports progress and `at_least` chunk FFmpegs of it run; those processes."""
    async def progressed():
        async for ev in BUS.subscribe(job_id):
            if ev.status == lifecycle.RUNNING and ev.progress > 0:
                return
            assert ev.status == lifecycle.RUNNING, (ev.status, ev.error)

    await asyncio.wait_for(progressed(), timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(procs := [p for p in ffmpeg_children(marker) if CHUNK.search(" ".join(p.cmdline()))]) < at_least:
        assert loop.time() < deadline, f"chunk FFmpegs: {describe(ffmpeg_children(marker))}"
        await asyncio.sleep(0.05)
    return procs


async def attempt_over(executor: LocalExecutor, job_id: int, timeout: float = 60.0) -> None:
    """Wait until the executor has finished the job's attempt (its task is done)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while job_id in executor.running:
        assert loop.time() < deadline, "the attempt did not end"
        await asyncio.sleep(0.02)


def leftovers(settings, tmp_path) -> list:
    return [*settings.out_root.glob(".partial-*"), *(tmp_path / "work").glob("mpr-job-*")]


async def test_cancel_mid_chunk_stops_every_ffmpeg(executor, settings, storages, presets, add_asset, tmp_path):
    row = await start_chunked_job(settings, storages, presets, add_asset)
    running = await chunks_encoding(row["id"], str(tmp_path))
    assert all(p.is_running() for p in running)
    await service.cancel_job(row["id"])
    await attempt_over(executor, row["id"])
    # the attempt is over: nothing of it runs or remains
    assert describe(ffmpeg_children(str(tmp_path))) == []
    assert not any(p.is_running() for p in running)
    assert leftovers(settings, tmp_path) == []
    assert not (settings.out_root / row["output_key"]).exists()
    done = await lifecycle.load_job(row["id"])
    assert done["status"] == "cancelled" and done["output_asset"] is None
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "cancelled"]


async def test_a_chunk_killed_mid_encode_fails_the_job_with_its_reason(
        executor, settings, storages, presets, add_asset, tmp_path):
    row = await start_chunked_job(settings, storages, presets, add_asset)
    running = await chunks_encoding(row["id"], str(tmp_path))
    victim = running[0]
    index = int(CHUNK.search(" ".join(victim.cmdline())).group(1))
    victim.kill()  # FFmpeg dies mid-chunk (OOM killer, a crash)
    done = await wait_status(row["id"])
    await attempt_over(executor, row["id"])
    assert done["status"] == "failed", done
    assert re.fullmatch(rf"chunk {index} \([0-9.]+ s, \d+ frames\): ffmpeg was killed by signal SIGKILL", done["error"]), done
    assert describe(ffmpeg_children(str(tmp_path))) == []  # the other chunks were stopped
    assert leftovers(settings, tmp_path) == []
    assert done["output_asset"] is None and not await MediaAsset.count().where(MediaAsset.storage_area == "out")
    hist = await lifecycle.history(row["id"])
    assert [h["to_status"] for h in hist] == ["queued", "running", "failed"]
    assert hist[-1]["reason"] == done["error"]


async def test_a_chunk_with_the_wrong_frame_count_fails_the_job(
        executor, settings, storages, presets, add_asset, tmp_path, monkeypatch):
    real = chunked_mod.stream_stats

    def one_frame_short(path):
        stats = real(path)
        if path.name.startswith("chunk-00001"):  # chunk 1 came out a frame short
            return replace(stats, video_frames=stats.video_frames - 1)
        return stats

    monkeypatch.setattr(chunked_mod, "stream_stats", one_frame_short)
    row = await start_chunked_job(settings, storages, presets, add_asset)
    done = await wait_status(row["id"])
    await attempt_over(executor, row["id"])
    assert done["status"] == "failed", done
    assert re.fullmatch(r"output check failed: chunk 1 has (\d+) frames, the plan says (\d+)", done["error"]), done
    got, planned = map(int, re.findall(r"\d+", done["error"].split("chunk 1", 1)[1]))
    assert got == planned - 1
    assert describe(ffmpeg_children(str(tmp_path))) == []
    assert leftovers(settings, tmp_path) == []
    assert not (settings.out_root / row["output_key"]).exists()
