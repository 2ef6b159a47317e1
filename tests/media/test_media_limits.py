"""backend/media/limits.py: what every FFmpeg child gets (address-space cap, no secrets, timeouts)
and the source bounds, checked on real child processes and real ffprobe runs."""
from __future__ import annotations

import asyncio
import json
import resource
import sys

import pytest

from backend.media import limits
from backend.media.probe import MediaInfo, ProbeError, VideoInfo, probe, probe_async
from backend.media.runner import FFmpegError, run_ffmpeg

REPORT = ("import json, os, resource; "
          "print(json.dumps({'as': resource.getrlimit(resource.RLIMIT_AS)[0], 'env': sorted(os.environ)}), "
          "file=open(os.environ['REPORT_TO'], 'w'))")


@pytest.fixture
def restore_limits():
    saved = limits.LIMITS
    yield
    limits.configure(**saved.__dict__)


async def test_run_ffmpeg_child_is_capped_and_gets_no_secrets(tmp_path, monkeypatch, restore_limits):
    report = tmp_path / "child.json"
    monkeypatch.setenv("REPORT_TO", str(report))
    for name in ("MPR_API_TOKEN", "MPR_CALLBACK_SECRET", "MPR_ADMIN_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                 "MPR_DATABASE_URL", "SOME_SERVICE_TOKEN"):
        monkeypatch.setenv(name, "s3cr3t")
    monkeypatch.setenv("MPR_LOG_LEVEL", "INFO")
    limits.configure(encode_memory_bytes=3 * 1024 * limits.MIB)
    await run_ffmpeg([sys.executable, "-c", REPORT], duration=0)  # the runner spawns any argv the same way
    seen = json.loads(report.read_text())
    assert seen["as"] == 3 * 1024 * limits.MIB
    assert "MPR_LOG_LEVEL" in seen["env"] and "PATH" in seen["env"]
    assert not {"MPR_API_TOKEN", "MPR_CALLBACK_SECRET", "MPR_ADMIN_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                "MPR_DATABASE_URL", "SOME_SERVICE_TOKEN"} & set(seen["env"])
    await run_ffmpeg([sys.executable, "-c", REPORT], duration=0, memory_bytes=700 * limits.MIB)
    assert json.loads(report.read_text())["as"] == 700 * limits.MIB


async def test_the_cap_is_enforced_on_ffprobe_and_ffmpeg(clip_av, restore_limits):
    src = clip_av
    probe(src)  # fine with the defaults
    limits.configure(probe_memory_bytes=24 * limits.MIB, encode_memory_bytes=24 * limits.MIB)
    with pytest.raises(ProbeError):
        await probe_async(src)
    with pytest.raises(FFmpegError):
        from backend.media.binaries import ffmpeg_path

        await run_ffmpeg([ffmpeg_path(), "-v", "error", "-i", str(src), "-f", "null", "-"], duration=1)


async def test_run_ffmpeg_has_a_timeout_by_default(restore_limits):
    limits.configure(encode_timeout_min=0.5, encode_timeout_per_second=0.0)
    with pytest.raises(FFmpegError, match="took longer than 0.5 s"):
        await run_ffmpeg([sys.executable, "-c", "import time; time.sleep(30)"], duration=1)


def test_source_bounds(restore_limits):
    def info(w, h, duration=10.0):
        return MediaInfo("x", duration, 1, video=VideoInfo("mjpeg", w, h, 25.0))

    assert limits.source_problem(info(7680, 4320)) is None  # 8K UHD fits the default
    problem = limits.source_problem(info(16000, 16000))
    assert problem.startswith("picture too large: 16000×16000 (256.0 MP)") and "MPR_MAX_PIXELS" in problem
    assert "too long" in limits.source_problem(info(640, 360, duration=25 * 3600))
    assert limits.source_problem(MediaInfo("mp3", 60.0, 1)) is None
    limits.configure(max_pixels=1000, max_duration=5.0)
    assert limits.source_problem(info(40, 40, 1.0)) and "MPR_MAX_DURATION" in limits.source_problem(info(10, 10, 6.0))


async def test_ingest_slots_bound_concurrency(restore_limits):
    limits.configure(ingest_concurrency=2)
    inside, peak, release = 0, 0, asyncio.Event()
    entered = asyncio.Queue()

    async def work():
        nonlocal inside, peak
        async with limits.ingest_slot():
            inside += 1
            peak = max(peak, inside)
            await entered.put(None)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(work()) for _ in range(5)]
    await entered.get()
    await entered.get()
    for _ in range(5):
        await asyncio.sleep(0)  # give the others every chance to get in
    assert inside == 2 and entered.empty()
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2


def test_secret_names():
    assert all(limits.is_secret(n) for n in ("MPR_API_TOKEN", "AWS_SESSION_TOKEN", "PGPASSWORD", "GITHUB_TOKEN",
                                              "MPR_DATABASE_URL", "X_PRIVATE_KEY"))
    assert not any(limits.is_secret(n) for n in ("PATH", "HOME", "MPR_WORKERS", "LANG", "AWS_DEFAULT_REGION"))
    assert resource.RLIMIT_AS  # Linux: the cap is real
