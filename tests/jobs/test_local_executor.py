"""The local executor on real FFmpeg: trims, transcodes, verification, progress, cancel, retry, stalls."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess

import pytest

from backend.catalog.ingest import ingest_key
from backend.catalog.outputs import wait_for_thumbnails
from backend.catalog.tables import MediaAsset, TranscodeJob
from backend.jobs import lifecycle, service
from backend.jobs.events import BUS
from backend.jobs.executors.local import LocalExecutor
from backend.media.binaries import ffprobe_path
from jobwait import wait_status


@pytest.fixture
async def executor(db, settings, storages):
    ex = LocalExecutor(settings, storages, poll_seconds=0.2)
    await ex.start()
    yield ex
    await ex.stop()
    await wait_for_thumbnails()


def count_frames(path) -> int:
    out = subprocess.run(
        [ffprobe_path(), "-v", "error", "-count_packets", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_packets,width,height", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return int(json.loads(out.stdout)["streams"][0]["nb_read_packets"])


async def run_job(settings, storages, asset, preset_id, **kwargs):
    row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=preset_id, **kwargs)
    done = await wait_status(row["id"])
    assert done["status"] == "succeeded", (done["error"], done["log_tail"][-500:])
    assert done["progress"] == 100.0
    out = await MediaAsset.select().where(MediaAsset.id == done["output_asset"]).first()
    return done, out, settings.out_root / done["output_key"]


async def test_frame_accurate_trim_exact_frames(executor, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    done, out, path = await run_job(settings, storages, asset, presets["H.264 480p"], trim_start=1.0, trim_end=2.6)
    assert count_frames(path) == 40  # 1.6 s at 25 fps
    assert out["duration"] == pytest.approx(1.6, abs=0.05)
    assert out["storage_area"] == "out" and out["status"] == "ready"
    hist = [(h["to_status"], h["reason"]) for h in await lifecycle.history(done["id"])]
    assert [h[0] for h in hist] == ["queued", "running", "succeeded"], hist


async def test_keyframe_copy_trim(executor, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    done, out, path = await run_job(settings, storages, asset, presets["Trim only (stream copy)"], trim_start=1.0, trim_end=3.0)
    assert out["video_codec"] == "h264"
    assert 1.9 <= out["duration"] <= 3.1
    for _ in range(50):  # the history row is written just after the status
        reasons = [h["reason"] for h in await lifecycle.history(done["id"])]
        if len(reasons) == 3:
            break
        await asyncio.sleep(0.05)
    assert "verified" in reasons[-1]


async def test_keyframe_copy_trim_of_a_transport_stream(executor, settings, storages, presets, add_asset):
    """Keyframes every 2 s, the container clock starting at 1.4 s: a copy from 3.5 s starts at the
    keyframe at 2.0 s (1.5 s early), and verification must know that lead."""
    asset = await add_asset("ts", "capture.ts")
    done, out, path = await run_job(settings, storages, asset, presets["Trim only (stream copy)"],
                                    trim_start=3.5, trim_end=6.0)
    assert 3.9 <= out["duration"] <= 4.1, out["duration"]  # 2.0 s .. 6.0 s, audio cut with the video
    assert count_frames(path) == 100
    reasons = [h["reason"] for h in await lifecycle.history(done["id"])]
    # the keyframe sits at 2.021 s of the container's clock (video starts 21 ms after the audio)
    assert re.search(r"keyframe copy starts 1\.(4[5-9]|50)\d s before the in point", reasons[-1]), reasons


async def test_keyframe_copy_takes_the_keyframe_from_the_analysis(executor, settings, storages, presets, add_asset,
                                                                  monkeypatch):
    """A video-only source's analysis stored its keyframes: the copy needs no ffprobe to find its
    keyframe and starts at the same one. Stored keyframes that are wrong (a file the analysis
    misread) cost a probe and a second pass once the output fails its check, never a wrong output.
    With audio, whose length hides a late video start from the file's duration, the check is the
    video track's own length (`verify.video_on_time`)."""
    from backend.media.clips import generate_clip
    from backend.pipeline import single

    probed: list[float] = []
    real = single.keyframe_lead
    monkeypatch.setattr(single, "keyframe_lead", lambda src, start: probed.append(start) or real(src, start))
    generate_clip(settings.in_root / "mute.ts", duration=8.0, fps=25, gop=50, audio=False)
    asset = (await ingest_key(storages, "mute.ts", "in")).to_dict()
    assert asset["analysis_version"] and asset["keyframes"], "ingest analyses the source"
    done, out, path = await run_job(settings, storages, asset, presets["Trim only (stream copy)"],
                                    trim_start=3.5, trim_end=6.0)
    assert probed == []
    assert count_frames(path) == 100
    reasons = [h["reason"] for h in await lifecycle.history(done["id"])]
    assert re.search(r"keyframe copy starts 1\.(4[5-9]|50)\d s before the in point", reasons[-1]), reasons

    await MediaAsset.update({MediaAsset.keyframes: [0.0, 3.4]}).where(MediaAsset.id == asset["id"])
    done, out, path = await run_job(settings, storages, asset, presets["Trim only (stream copy)"],
                                    trim_start=3.5, trim_end=6.0, output_name="again")
    assert probed == [3.5]
    assert count_frames(path) == 100 and 3.9 <= out["duration"] <= 4.1
    reasons = [h["reason"] for h in await lifecycle.history(done["id"])]
    assert re.search(r"keyframe copy starts 1\.(4[5-9]|50)\d s before the in point", reasons[-1]), reasons

    # with audio the file's length would hide a video that starts a GOP late: the stored keyframe is
    # trusted once the output's video track covers the length by itself
    with_audio = await add_asset("ts", "capture.ts")
    assert with_audio["keyframes"]
    done, out, path = await run_job(settings, storages, with_audio, presets["Trim only (stream copy)"],
                                    trim_start=3.5, trim_end=6.0, output_name="audio")
    assert probed == [3.5]
    assert count_frames(path) == 100 and 3.9 <= out["duration"] <= 4.1
    await MediaAsset.update({MediaAsset.keyframes: [0.0, 3.4]}).where(MediaAsset.id == with_audio["id"])
    done, out, path = await run_job(settings, storages, with_audio, presets["Trim only (stream copy)"],
                                    trim_start=3.5, trim_end=6.0, output_name="audio-again")
    assert probed == [3.5, 3.5]  # the audio filled the length, the video's own did not: probed, copied again
    assert count_frames(path) == 100 and 3.9 <= out["duration"] <= 4.1
    reasons = [h["reason"] for h in await lifecycle.history(done["id"])]
    assert re.search(r"keyframe copy starts 1\.(4[5-9]|50)\d s before the in point", reasons[-1]), reasons


async def test_720p_from_1080p_keeps_aspect(executor, settings, storages, presets, add_asset):
    asset = await add_asset("hd")
    done, out, path = await run_job(settings, storages, asset, presets["H.264 720p"])
    assert (out["width"], out["height"]) == (1280, 720)
    assert out["audio_codec"] == "aac"


async def test_audio_only_and_gif(executor, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    _, out, _ = await run_job(settings, storages, asset, presets["AAC audio"])
    assert out["video_codec"] == "" and out["audio_codec"] == "aac"
    _, gif, path = await run_job(settings, storages, asset, presets["GIF preview"], trim_start=0.0, trim_end=2.0)
    assert path.suffix == ".gif" and gif["video_codec"] == "gif"


async def test_progress_events_then_cancel_removes_partial(executor, settings, storages, presets, add_asset):
    asset = await add_asset("long")  # 30 s of 640x360: seconds of encoding on 2 cores
    progress = []
    row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 1080p"])

    async def listen():
        async for ev in BUS.subscribe(row["id"]):
            if ev.status == "running" and ev.progress > 0:
                progress.append(ev.progress)
                if len(progress) >= 2:
                    return

    await asyncio.wait_for(listen(), 60)
    assert progress == sorted(progress) and 0 < progress[-1] < 100
    partials = list(settings.out_root.glob(".partial-*"))
    assert partials, "FFmpeg should be writing a partial file"
    await service.cancel_job(row["id"])
    done = await wait_status(row["id"])
    assert done["status"] == "cancelled"
    for _ in range(50):
        if not any(p.exists() for p in partials):
            break
        await asyncio.sleep(0.1)
    assert not any(p.exists() for p in partials)
    assert not (settings.out_root / row["output_key"]).exists()
    assert not executor.running


async def test_failure_keeps_reason_and_log_then_retry_succeeds(executor, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    path = settings.in_root / asset["storage_key"]
    original = path.read_bytes()
    path.write_bytes(b"garbage" * 1000)  # the file went bad after ingest
    row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    failed = await wait_status(row["id"])
    assert failed["status"] == "failed"
    assert failed["error"] and "Traceback" not in failed["error"]
    assert failed["log_tail"]
    assert not list(settings.out_root.glob("*.mp4"))
    path.write_bytes(original)
    await service.retry_job(row["id"])
    done = await wait_status(row["id"], statuses={"succeeded", "failed"})
    assert done["status"] == "succeeded" and done["attempt"] == 2


async def test_priority_order(db, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    low = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["Trim only (stream copy)"], priority=0)
    high = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["Trim only (stream copy)"], priority=9)
    ex = LocalExecutor(settings.with_(workers=1), storages, poll_seconds=0.2)
    await ex.start()
    try:
        await ex.drain(60)
    finally:
        await ex.stop()
    rows = {r["id"]: r for r in await TranscodeJob.select()}
    assert rows[high["id"]]["started_at"] <= rows[low["id"]]["started_at"]
    assert rows[high["id"]]["status"] == rows[low["id"]]["status"] == "succeeded"


async def test_stall_detection_requeues_then_fails(db, settings, storages, presets, add_asset, monkeypatch):
    """An FFmpeg that makes no progress is killed; the attempt is re-queued while attempts remain, then failed."""
    import backend.pipeline.single as local_mod  # where the local executor's single pass builds its command

    asset = await add_asset("small")

    def frozen_command(src, dst, spec, trim, info, **_):
        # reads a pipe that never delivers: FFmpeg starts, prints nothing, never advances
        return ["sleep", "30"]

    monkeypatch.setattr(local_mod, "build_command", frozen_command)
    row = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await TranscodeJob.update({TranscodeJob.max_attempts: 2}).where(TranscodeJob.id == row["id"])
    ex = LocalExecutor(settings.with_(stall_seconds=2), storages, poll_seconds=0.2)
    await ex.start()
    try:
        done = await wait_status(row["id"], statuses={"failed"}, timeout=30)
    finally:
        await ex.stop()
    assert done["attempt"] == 2 and "stalled" in done["error"]
    hist = [(h["from_status"], h["to_status"]) for h in await lifecycle.history(row["id"])]
    assert ("running", "queued") in hist and hist[-1] == ("running", "failed")


async def test_chunked_on_request_matches_single_pass(executor, settings, storages, presets, add_asset):
    asset = await add_asset("long")  # keyframe every 2 s
    single, _, single_path = await run_job(settings, storages, asset, presets["H.264 480p"],
                                          trim_start=1.0, trim_end=29.0, chunked=False)
    chunked, out, path = await run_job(settings, storages, asset, presets["H.264 480p"],
                                       trim_start=1.0, trim_end=29.0, chunked=True)
    assert single["plan"]["mode"] == "single"
    assert chunked["plan"]["mode"] == "chunked" and chunked["plan"]["chunks"] >= 2, chunked["plan"]
    assert count_frames(path) == count_frames(single_path) == 700
    assert out["duration"] == pytest.approx(28.0, abs=0.05)
