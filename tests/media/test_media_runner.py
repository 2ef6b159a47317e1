"""run_ffmpeg: progress events, readable errors, clean cancellation."""
from __future__ import annotations

import asyncio
import signal
import sys
import time

import pytest

from backend.media import runner
from backend.media.binaries import ffmpeg_path
from backend.media.command import Trim, build_command, expected_duration
from backend.media.presets import builtin_preset
from backend.media.probe import probe
from backend.media.runner import FFmpegError, Progress, pick_message, progress_from_block, run_ffmpeg


def throttled(argv: list[str], readrate: float) -> list[str]:
    """Read the input at `readrate` × realtime and report every 0.1 s, so a short clip yields many events."""
    i = argv.index("-i")
    return argv[:i] + ["-readrate", str(readrate)] + argv[i:] + ["-stats_period", "0.1"]


async def test_progress_increases_to_100(clip_av, out_dir):
    info = probe(clip_av)
    spec = builtin_preset("H.264 480p")
    trim = Trim(0.0, 3.0)
    dst = out_dir / "p.mp4"
    argv = throttled(build_command(clip_av, dst, spec, trim, info), 4)
    events: list[Progress] = []
    stamps: list[float] = []

    async def on_progress(p: Progress) -> None:  # async callbacks are awaited
        events.append(p)
        stamps.append(time.monotonic())

    tail = await run_ffmpeg(argv, duration=expected_duration(trim, info, spec), output=dst,
                            on_progress=on_progress, progress_interval=0.15)
    assert isinstance(tail, str)
    percents = [e.percent for e in events]
    assert len(events) >= 3, percents
    assert percents == sorted(percents)
    assert any(0 < x < 100 for x in percents) and percents[-1] == 100.0
    assert percents[-2] < 100.0  # 100 only once, at the end
    assert events[-1].eta == 0.0
    assert any(e.speed for e in events) and any(e.eta for e in events[:-1])
    assert any(e.frame for e in events)
    gaps = [b - a for a, b in zip(stamps[:-2], stamps[1:-1])]
    assert all(g >= 0.14 for g in gaps), gaps  # throttled to progress_interval


async def test_sync_callback_and_duration_zero(clip_av, out_dir):
    argv = build_command(clip_av, out_dir / "p.jpg", builtin_preset("Poster JPEG"), Trim(1.0), probe(clip_av))
    seen = []
    await run_ffmpeg(argv, duration=0, output=out_dir / "p.jpg", on_progress=seen.append)
    assert seen[-1].percent == 100.0 and (out_dir / "p.jpg").stat().st_size > 0


def _record_processes(monkeypatch) -> list[asyncio.subprocess.Process]:
    """Keep every process run_ffmpeg starts, so a test can read how it ended (exit code or signal)."""
    started: list[asyncio.subprocess.Process] = []
    real = asyncio.create_subprocess_exec

    async def recording(*args, **kwargs):
        proc = await real(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(runner.asyncio, "create_subprocess_exec", recording)
    return started


async def test_cancel_terminates_and_removes_partial_output(clip_av, out_dir, monkeypatch):
    """A cancel ends ffmpeg by SIGTERM (it flushes and exits 255), not by the SIGKILL fallback."""
    procs = _record_processes(monkeypatch)
    info = probe(clip_av)
    dst = out_dir / "cancel.mp4"
    argv = throttled(build_command(clip_av, dst, builtin_preset("H.264 480p"), None, info), 0.5)
    started = asyncio.Event()
    task = asyncio.create_task(
        run_ffmpeg(argv, duration=info.duration, output=dst, on_progress=lambda p: started.set(),
                   progress_interval=0)
    )
    await asyncio.wait_for(started.wait(), 10)
    assert dst.exists()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [proc] = procs
    assert proc.returncode == 255, f"ffmpeg ended with {proc.returncode} (-9 is the SIGKILL fallback)"
    assert not dst.exists()


async def test_cancel_falls_back_to_sigkill_when_sigterm_is_ignored(out_dir, monkeypatch):
    """A process that ignores SIGTERM is SIGKILLed after the grace period, and its output removed."""
    procs = _record_processes(monkeypatch)
    monkeypatch.setattr(runner, "TERM_GRACE_SECONDS", 0.3)
    dst = out_dir / "stubborn.mp4"
    dst.write_bytes(b"partial")
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('out_time_us=1000000', flush=True)\n"
        "print('progress=continue', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = asyncio.Event()
    task = asyncio.create_task(
        run_ffmpeg([sys.executable, "-c", script], duration=10, output=dst,
                   on_progress=lambda p: started.set(), progress_interval=0)
    )
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [proc] = procs
    assert proc.returncode == -signal.SIGKILL
    assert not dst.exists()


async def test_missing_input_gives_the_line_a_person_needs(out_dir):
    dst = out_dir / "o.mp4"
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(out_dir / "no such.mp4"), str(dst)]
    with pytest.raises(FFmpegError) as err:
        await run_ffmpeg(argv, duration=1, output=dst)
    assert "No such file or directory" in err.value.message
    assert err.value.returncode not in (0, None)
    assert "Traceback" not in err.value.message and err.value.stderr_tail
    assert str(err.value) == err.value.message


async def test_failing_encode_removes_output(clip_av, out_dir):
    dst = out_dir / "bad.mp4"
    dst.write_bytes(b"old partial")
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-i", str(clip_av), "-c:v", "libnothing", str(dst)]
    with pytest.raises(FFmpegError) as err:
        await run_ffmpeg(argv, duration=3, output=dst)
    assert "libnothing" in err.value.message
    assert not dst.exists()


async def test_invalid_argument_message(clip_av, out_dir):
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-i", str(clip_av), "-vf", "scale=abc:def",
            str(out_dir / "x.mp4")]
    with pytest.raises(FFmpegError) as err:
        await run_ffmpeg(argv, duration=3)
    assert not err.value.message.startswith("Conversion failed")
    assert any(w in err.value.message for w in ("Invalid", "Error", "error", "Undefined", "expression"))


def test_pick_message_prefers_specific_errors():
    lines = [
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':",
        "[libx264 @ 0x55d0c1c3a2c0] width not divisible by 2 (321x241)",
        "[vost#0:0/libx264 @ 0x55d0c1b8] Error while opening encoder - maybe incorrect parameters",
        "Error while filtering: Generic error in an external library",
        "Conversion failed!",
    ]
    assert pick_message(lines) == "width not divisible by 2 (321x241)"
    assert pick_message(["x.mp4: does not contain any stream"]) == "x.mp4: does not contain any stream"
    assert pick_message([], returncode=-9) == "ffmpeg was killed by signal SIGKILL"
    assert pick_message(["Traceback (most recent call last):", "  File \"x.py\", line 1"], 1) == "ffmpeg exited with code 1"
    assert pick_message(["[vost#0:0 @ 0x1] Unknown encoder 'libnothing'", "[vost#0:0 @ 0x1] Error selecting an encoder",
                         "Error opening output file /o.mp4.", "Error opening output files: Encoder not found"]) == \
        "Unknown encoder 'libnothing'"


def test_progress_block_parsing():
    p = progress_from_block({"out_time_us": "1500000", "fps": "50.0", "speed": "2.5x", "frame": "37"}, 3.0)
    assert (p.out_time, p.percent, p.fps, p.speed, p.frame) == (1.5, 50.0, 50.0, 2.5, 37)
    assert p.eta == pytest.approx(0.6)
    na = progress_from_block({"out_time_us": "N/A", "speed": "N/A", "fps": "0.00"}, 3.0)
    assert (na.out_time, na.percent, na.speed, na.eta) == (0.0, 0.0, None, None)
    assert progress_from_block({"out_time": "00:00:05.000000"}, 3.0).percent == 100.0  # capped
    assert progress_from_block({"out_time_us": "-23000"}, 3.0).out_time == 0.0
