"""Chunked encoding on real FFmpeg: the planner cuts on source keyframes, every chunk gets the same
encoder settings, and the joined output equals a single-pass encode (frame count, duration,
audio/video sync, SSIM within 0.002). Small clips (320x180, 12 s), so the module stays fast-ish.
"""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from backend.jobs.executors.chunked import local_decision, plan_local
from backend.jobs.executors.cost_model import MEASURED_SPEEDS, should_chunk
from backend.media.binaries import ffmpeg_path
from backend.media.chunking import (
    AV_SYNC_TOLERANCE,
    ChunkingError,
    ChunkPlan,
    concat_list,
    grid_index,
    plan_chunks,
    read_frame_index,
    stream_stats,
    verify_joined,
)
from backend.media.clips import generate_clip
from backend.media.command import Trim, build_command, expected_duration, frame_count
from backend.media.presets import PresetSpec, builtin_preset, validate_preset
from backend.media.probe import MediaInfo, VideoInfo, keyframe_times, probe
from backend.media.runner import run_ffmpeg
from backend.media.verify import VerificationError, verify_output
from backend.pipeline.chunked import encode_chunks
from procs import chunk_tasks, describe, ffmpeg_children, kill_all

KEYFRAMES = (0, 1.4, 2.6, 4.2, 5.0, 6.8, 8.0, 9.2, 10.4, 11.2)  # irregular GOPs on purpose
SPEC = validate_preset(PresetSpec(
    "chunk test", "video", "mp4", video_codec="libx264", crf=23, speed_preset="veryfast",
    audio_codec="aac", audio_bitrate=96, channels=2,
))
SCALED = replace(SPEC, name="chunk test scaled", max_width=256, max_height=144)


@pytest.fixture(scope="module")
def src(media_dir) -> Path:
    """12 s, 320x180, 25 fps, H.264 with B-frames and keyframes only at KEYFRAMES, + AAC."""
    return generate_clip(
        media_dir / "chunk-src.mp4", duration=12, width=320, height=180, fps=25,
        extra_args=("-force_key_frames", ",".join(map(str, KEYFRAMES)),
                    "-x264-params", "keyint=300:scenecut=0:bframes=2"),
    )


@pytest.fixture(scope="module")
def info(src) -> MediaInfo:
    return probe(src)


@pytest.fixture(scope="module")
def index(src):
    return read_frame_index(src)


def ssim(distorted: Path, src: Path, start: float, frames: int) -> float:
    """Mean SSIM of `distorted` against the source's frames from `start` (both start at t=0)."""
    argv = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(distorted), "-ss", f"{start:.6f}", "-i", str(src),
        "-lavfi", "[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]ssim",
        "-frames:v", str(frames), "-f", "null", "-",
    ]
    err = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
    return float(re.search(r"All:([0-9.]+)", err).group(1))


async def single_pass(src, dst, spec, trim, info) -> Path:
    await run_ffmpeg(build_command(src, dst, spec, trim, info), duration=expected_duration(trim, info), output=dst)
    return dst


# ------------------------------------------------------------------ planning

def test_frame_index_agrees_with_keyframe_times(src, index, info):
    assert index.aligned
    assert list(index.keyframes) == keyframe_times(src) == list(KEYFRAMES)
    assert len(index.times) == info.video.nb_frames == 300
    assert list(index.times) == sorted(index.times)


@pytest.mark.parametrize("trim", [Trim(1.01, 9.53), Trim(0.0, None), Trim(2.6, 11.0)], ids=str)
def test_plan_cuts_on_source_keyframes(info, index, trim):
    plan = plan_chunks(info, SPEC, trim, index=index, target_seconds=2.0)
    chunks = plan.chunks
    assert len(chunks) >= 3
    assert chunks[0].start == pytest.approx(trim.start)  # chunk 0 seeks exactly like the single pass
    frame = 1 / info.video.fps
    for before, after in zip(chunks, chunks[1:]):
        assert after.first in KEYFRAMES  # every later chunk starts on a source keyframe
        assert after.start == pytest.approx(after.first - frame / 2)  # seek half a frame early
        assert before.end == pytest.approx(after.start)  # contiguous windows, no gap, no overlap
        assert after.frames == pytest.approx(round((after.end - after.start) * info.video.fps), abs=1)
    assert all(c.frames > 0 for c in chunks)
    # the frames add up to exactly what a single pass writes
    single = frame_count(trim, SPEC, info) if trim.end else info.video.nb_frames
    assert sum(c.frames for c in chunks) == plan.total_frames == single
    assert plan.join.duration == pytest.approx(expected_duration(trim, info))


def test_plan_targets_the_chunk_length(info, index):
    for target, most in ((2.0, 7), (4.0, 4), (30.0, 1)):
        plan = plan_chunks(info, SPEC, None, index=index, target_seconds=target)
        assert 1 <= len(plan.chunks) <= most
        lengths = [c.frames / info.video.fps for c in plan.chunks]
        assert all(length >= min(target, 12.0) / 2 for length in lengths), lengths


def test_plan_travels_as_json(info, index):
    plan = plan_chunks(info, SCALED, Trim(1.01, 9.53), index=index, target_seconds=2.0, max_concurrency=6)
    text = plan.to_json()
    data = json.loads(text)
    assert [sorted(c) for c in data["chunks"]][0] == ["end", "first", "frames", "index", "start"]
    assert data["max_concurrency"] == 6 and data["audio"]["ext"] == ".m4a"
    assert ChunkPlan.from_json(text) == plan
    assert len(text) < 4000  # Step Functions input limit is 256 KB; this stays tiny
    summary = plan.summary()
    assert summary["mode"] == "chunked" and summary["chunks"] == len(plan.chunks)
    assert sum(summary["chunk_frames"]) == plan.total_frames


def test_grid_plan_needs_no_read_and_agrees(info, index):
    grid = grid_index(info)
    assert not grid.aligned and grid.times == index.times
    trim = Trim(1.01, 9.53)
    by_grid = plan_chunks(info, SPEC, trim, index=grid, target_seconds=2.0)
    by_scan = plan_chunks(info, SPEC, trim, index=index, target_seconds=2.0)
    assert not by_grid.aligned
    assert by_grid.total_frames == by_scan.total_frames
    assert all(c.frames >= 25 for c in by_grid.chunks)  # about 2 s each, cut anywhere


def test_grid_refuses_variable_frame_rate(info):
    vfr = replace(info, video=replace(info.video, nb_frames=240))
    with pytest.raises(ChunkingError, match="variable-frame-rate"):
        grid_index(vfr)


@pytest.mark.parametrize("name", ["Trim only (stream copy)", "AAC audio", "Poster JPEG", "GIF preview"])
def test_refuses_what_cannot_be_chunked(info, index, name):
    spec = builtin_preset(name)
    with pytest.raises(ChunkingError, match="not chunked"):
        plan_chunks(info, spec, None, index=index)
    decision = should_chunk(info, spec, 1.0, requested=True)
    assert not decision and "not chunked" in decision.reason


def test_refuses_frame_rate_conversion(info, index):
    with pytest.raises(ChunkingError, match="frame-rate conversion"):
        plan_chunks(info, replace(SPEC, fps=12), None, index=index)


# ------------------------------------------------------------------ commands

def _settings_only(argv: list[str]) -> list[str]:
    """argv without what legitimately differs per chunk: paths and the time/frame window."""
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in ("-ss", "-t", "-frames:v", "-i"):
            skip = True
            continue
        if i == len(argv) - 1 or arg.endswith(".mp4"):
            continue
        out.append(arg)
    return out


def test_chunk_commands_have_identical_settings(src, info, index, tmp_path):
    trim = Trim(1.01, 9.53)
    plan = plan_chunks(info, SCALED, trim, index=index, target_seconds=2.0)
    argvs = [plan.chunk_command(c.index, src, tmp_path / f"c{c.index}.mp4") for c in plan.chunks]
    settings = [_settings_only(a) for a in argvs]
    assert all(s == settings[0] for s in settings)
    a = argvs[1]
    opt = lambda name: a[a.index(name) + 1]  # noqa: E731
    assert opt("-vf") == "setpts=PTS-STARTPTS,scale=256:144:flags=lanczos"
    assert opt("-x264-params") == "stitchable=1"
    assert opt("-frames:v") == str(plan.chunks[1].frames)
    assert float(opt("-ss")) == pytest.approx(plan.chunks[1].start)
    assert "-an" in a and "-c:a" not in a
    # the encoder settings are the single pass's own (same builder)
    single = build_command(src, tmp_path / "single.mp4", SCALED, trim, info)
    for name in ("-c:v", "-crf", "-preset", "-g", "-flags", "-pix_fmt", "-movflags"):
        assert opt(name) == single[single.index(name) + 1], name
    assert argvs[0][argvs[0].index("-ss") + 1] == single[single.index("-ss") + 1]
    audio = plan.audio_command(src, tmp_path / "a.m4a")
    assert "-vn" in audio and audio[audio.index("-c:a") + 1] == "aac"
    assert audio[audio.index("-b:a") + 1] == "96k"


def test_concat_list_quotes_paths(tmp_path):
    text = concat_list([tmp_path / "it's.mp4", tmp_path / "b.mp4"])
    assert text.splitlines()[0] == "ffconcat version 1.0"
    assert "it'\\''s.mp4'" in text


# ------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def single_and_chunked(src, info, index, tmp_path_factory):
    """Both encodes of two ranges (trimmed, whole), made once for the tests below."""
    folder = tmp_path_factory.mktemp("chunked")
    out = {}

    async def make():
        for name, trim in (("trimmed", Trim(1.01, 9.53)), ("whole", Trim(0.0, None))):
            plan = plan_chunks(info, SPEC, trim, index=index, target_seconds=2.0, max_concurrency=2)
            single = await single_pass(src, folder / f"{name}-single.mp4", SPEC, trim, info)
            events = []
            result = await encode_chunks(plan, src, folder / f"{name}-chunked.mp4", events.append, 2)
            out[name] = (trim, plan, single, folder / f"{name}-chunked.mp4", result, events)

    asyncio.run(make())
    return out


@pytest.mark.parametrize("name", ["trimmed", "whole"])
def test_joined_output_passes_verification(single_and_chunked, info, name):
    trim, plan, single, chunked, result, _ = single_and_chunked[name]
    stats = verify_joined(chunked, plan, result.chunk_frames)
    verify_output(chunked, SPEC, trim, info)  # the same check every job's output gets
    assert not list(chunked.parent.glob(".mpr-chunks-*")), "work folder left behind"
    assert stats.video_duration == pytest.approx(expected_duration(trim, info), abs=1 / 25 + 1e-6)
    assert abs(stats.audio_duration - stats.video_duration) <= AV_SYNC_TOLERANCE
    # a keyframe at every join: each chunk opened with an IDR frame
    joins = [round(sum(result.chunk_frames[:i]) / 25, 6) for i in range(len(plan.chunks))]
    assert set(joins) <= set(stats.keyframes)
    record = result.record(plan)
    assert record["chunks"] == len(plan.chunks) and record["concurrency"] == 2
    assert record["frames_out"] == plan.total_frames


@pytest.mark.parametrize("name", ["trimmed", "whole"])
def test_joined_equals_single_pass(single_and_chunked, src, name):
    trim, plan, single, chunked, result, _ = single_and_chunked[name]
    one, many = stream_stats(single), stream_stats(chunked)
    assert many.video_frames == one.video_frames == sum(result.chunk_frames) == plan.total_frames
    assert many.video_duration == pytest.approx(one.video_duration, abs=1e-3)
    reference_ssim = ssim(single, src, trim.start, plan.total_frames)
    chunked_ssim = ssim(chunked, src, trim.start, plan.total_frames)
    assert reference_ssim > 0.95
    assert abs(chunked_ssim - reference_ssim) <= 0.002, (chunked_ssim, reference_ssim)


def test_progress_is_the_sum_of_chunks(single_and_chunked):
    *_, events = single_and_chunked["whole"]
    percents = [e.percent for e in events]
    assert percents and percents == sorted(percents)
    assert percents[-1] == 100.0
    assert 97.0 in percents  # every chunk done, before the join: 97 % is the chunks' whole share
    assert all(e.out_time <= 12.0 + 1e-6 for e in events)  # out_time follows the summed progress


def test_verification_refuses_a_join_with_a_chunk_missing(src, info, index, tmp_path):
    trim = Trim(0.0, 5.0)
    plan = plan_chunks(info, SPEC, trim, index=index, target_seconds=2.0)
    assert len(plan.chunks) >= 2
    paths = []
    for c in plan.chunks[:-1]:  # the last chunk never made it
        dst = tmp_path / f"c{c.index}.mp4"
        subprocess.run(plan.chunk_command(c.index, src, dst), check=True, capture_output=True)
        paths.append(dst)
    listing = tmp_path / "list.ffconcat"
    listing.write_text(concat_list(paths))
    subprocess.run(plan.join_command(listing, tmp_path / "joined.mp4"), check=True, capture_output=True)
    with pytest.raises(VerificationError, match="requested|frames"):
        verify_joined(tmp_path / "joined.mp4", plan)


@pytest.mark.parametrize("codec,container,audio", [("libx265", "mp4", "aac"), ("libvpx-vp9", "webm", "libopus")])
async def test_other_codecs_join_frame_exact(src, info, index, tmp_path, codec, container, audio):
    spec = validate_preset(PresetSpec(f"{codec} test", "video", container, video_codec=codec,
                                      speed_preset="ultrafast" if codec == "libx265" else "realtime",
                                      audio_codec=audio, channels=2))
    trim = Trim(0.5, 6.5)
    plan = plan_chunks(info, spec, trim, index=index, target_seconds=2.0)
    dst = tmp_path / f"joined.{container}"
    result = await encode_chunks(plan, src, dst, None, 2)
    assert result.stats.video_frames == frame_count(trim, spec, info) == 150
    decoded = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(dst), "-f", "null", "-"],
                             capture_output=True, text=True)
    assert decoded.returncode == 0 and decoded.stderr == ""


async def _cancel_mid_chunk(src, info, index, tmp_path, cancels: int) -> None:
    """Start a chunked encode (2 chunks at a time), cancel it `cancels` times once the chunks
    report progress, and check by process that nothing of it survives the awaited cancel."""
    plan = plan_chunks(info, replace(SPEC, speed_preset="medium"), None, index=index, target_seconds=2.0)
    assert len(plan.chunks) >= 4
    seen = asyncio.Event()
    dst = tmp_path / "out.mp4"
    task = asyncio.create_task(encode_chunks(plan, src, dst, lambda p: seen.set(), 2))
    try:
        await asyncio.wait_for(seen.wait(), 60)
        # two chunks encoding at once (and the audio): the first progress can come before the
        # second FFmpeg has started on a busy machine, so wait (bounded) until both run
        for _ in range(200):
            if len(ffmpeg_children(str(tmp_path))) >= 2 or task.done():
                break
            await asyncio.sleep(0.05)
        assert len(ffmpeg_children(str(tmp_path))) >= 2
        task.cancel()
        for _ in range(cancels - 1):  # the executor cancels again (progress write, watchdog, stop)
            await asyncio.sleep(0.05)  # while the first cancel is stopping the chunks
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the moment the cancel returns: no chunk task and no FFmpeg of this encode left
        assert [t.get_name() for t in chunk_tasks()] == []
        assert describe(ffmpeg_children(str(tmp_path))) == []
        assert not dst.exists()
        assert not list(tmp_path.glob(".mpr-chunks-*"))
    finally:  # a failed check must not leave encodes running into the next tests
        for leftover in chunk_tasks():
            leftover.cancel()
        await asyncio.gather(*chunk_tasks(), return_exceptions=True)
        kill_all(ffmpeg_children(str(tmp_path)))


async def test_cancel_stops_every_ffmpeg_and_cleans_up(src, info, index, tmp_path):
    await _cancel_mid_chunk(src, info, index, tmp_path, cancels=1)


async def test_a_second_cancel_does_not_leave_ffmpeg_running(src, info, index, tmp_path):
    """A cancel arriving while the first one waits for the chunks to stop used to return at once
    (asyncio.shield), leaving chunk FFmpegs running after the job was over."""
    await _cancel_mid_chunk(src, info, index, tmp_path, cancels=3)


async def test_plan_local_reads_keyframes(src, info):
    plan = await asyncio.to_thread(plan_local, src, info, SPEC, Trim(1.0, 11.0), concurrency=2)
    assert plan.aligned and plan.max_concurrency == 2
    assert all(c.first in KEYFRAMES for c in plan.chunks[1:])


# ------------------------------------------------------------------ choosing

def _hour_1080p() -> MediaInfo:
    return MediaInfo("mov,mp4", 3600.0, 4_000_000_000, 9_000_000,
                     VideoInfo("h264", 1920, 1080, 30.0, 0, "yuv420p", 108_000), None)


def test_should_chunk_from_the_speed_table():
    hour = _hour_1080p()
    spec = builtin_preset("H.264 1080p")
    decision = should_chunk(hour, spec, 600.0, MEASURED_SPEEDS)
    assert decision and "exceeds" in decision.reason
    # 3600 s x 30 fps x 2.07 MP / (37 MP/s/vCPU x 1.7 vCPU) ~ 3550 s
    assert decision.estimated_seconds == pytest.approx(3600 * 30 * 1920 * 1080 / 1e6 / (37 * 1.7), rel=0.01)
    short = replace(hour, duration=20.0)
    assert not should_chunk(short, spec, 600.0, MEASURED_SPEEDS)
    assert should_chunk(short, spec, 600.0, requested=True).reason == "chunked encoding requested"
    assert not should_chunk(hour, spec, 600.0, requested=False)
    assert should_chunk(hour, spec, 600.0, 1000.0).estimated_seconds < 200  # a plain speed works too
    record = decision.record()
    assert record["mode"] == "chunked" and record["estimated_single_seconds"] > 600
    unknown = replace(spec, speed_preset="placebo")
    assert should_chunk(hour, unknown, 600.0, MEASURED_SPEEDS).estimated_seconds > decision.estimated_seconds


def test_local_decision_keeps_small_machines_single_pass():
    hour = _hour_1080p()
    spec = builtin_preset("H.264 1080p")
    assert not local_decision(hour, spec, None, cores=2)
    assert local_decision(hour, spec, None, cores=64)
    assert local_decision(replace(hour, duration=30.0), spec, None, cores=2, requested=True)
