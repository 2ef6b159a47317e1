"""Smart cut vs full re-encode vs keyframe copy, in one run, on one 1080p H.264 source.

The source (x264 with B-frames, a keyframe every 2 s, AAC; cached in bench/out) is cut from
1:00.47 to 8:00.20 of a 10-minute source by default; with `--minutes M` a shorter source is cut
at the same relative places (10 % + 0.47 s to 80 % + 0.20 s). Three ways:

- smart cut (`backend.pipeline.smartcut`): the cut itself, then its verification (decode of the
  whole output, packet hashes of the copied middle, SSIM of the edges), timed apart;
- full re-encode of the range (x264 veryfast, frame accurate, `backend.media.command`);
- keyframe copy (the copy preset: starts at the keyframe before the in point).

For each: wall time, frames against the frames between in and out (frame-exact or not), and SSIM
against the source frames from the in point over three 2-second windows (start, middle, end of
the cut). Goal: smart cut >= 20x faster than the re-encode, within 3 s of the keyframe copy,
frame-exact. Prints the machine's load (it shares 2 cores with other work) with the figures.

    .venv/bin/python bench/smartcut.py [--minutes 10]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.media.binaries import ffmpeg_path, ffprobe_path  # noqa: E402
from backend.media.command import Trim, build_command  # noqa: E402
from backend.media.presets import PresetSpec, builtin_preset  # noqa: E402
from backend.media.probe import keyframe_lead, probe  # noqa: E402
from backend.media.runner import run_ffmpeg  # noqa: E402
from backend.media.smartcut_verify import verify_smartcut  # noqa: E402
from backend.pipeline import JobSpec, Location, NullReporter  # noqa: E402
from backend.pipeline.smartcut import _cut, plan_for  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
WINDOW_S = 2.0
FPS = 30


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def make_source(minutes: float) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"smartcut-1080p-{minutes:g}min.mp4"
    if path.exists():
        return path
    seconds = minutes * 60
    tmp = path.with_suffix(".part.mp4")
    subprocess.run([ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                    "-c:v", "libx264", "-preset", "superfast", "-x264-params", "bframes=3:scenecut=0",
                    "-g", "60", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                    "-movflags", "+faststart", str(tmp)], check=True)
    tmp.rename(path)
    return path


def frames(path: Path) -> int:
    out = subprocess.run([ffprobe_path(), "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip().split(",")[0])


def ssim(out: Path, src: Path, out_at: float, src_at: float) -> float:
    """Mean SSIM of WINDOW_S seconds of `out` from `out_at` against `src` from `src_at` (frame times;
    both seeks a quarter frame early so rounding never skips the frame)."""
    early = 0.25 / FPS
    proc = subprocess.run([ffmpeg_path(), "-hide_banner", "-nostdin", "-v", "info",
                           "-ss", f"{max(0.0, out_at - early):.6f}", "-i", str(out),
                           "-ss", f"{max(0.0, src_at - early):.6f}", "-i", str(src),
                           "-lavfi", "[0:v:0]setpts=PTS-STARTPTS[a];[1:v:0]setpts=PTS-STARTPTS[b];[a][b]ssim",
                           "-t", f"{WINDOW_S}", "-f", "null", "-"], capture_output=True, text=True)
    found = re.findall(r"All:([0-9.]+)", proc.stderr)
    return float(found[-1]) if found else float("nan")


def video_start(path: Path) -> float:
    out = subprocess.run([ffprobe_path(), "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=start_time", "-of", "csv=p=0", str(path)], capture_output=True, text=True).stdout
    try:
        return float(out.strip().split(",")[0])
    except ValueError:
        return 0.0


def ssims(out: Path, src: Path, first_frame: int, count: int) -> list[float]:
    """SSIM at the start, middle and end of the cut: output frame k against source frame first + k
    (the output's frame k at its own first timestamp + k / fps)."""
    window = round(WINDOW_S * FPS)
    at = [0, max(0, count // 2 - window // 2), max(0, count - window)]
    origin = video_start(out)
    return [ssim(out, src, origin + k / FPS, (first_frame + k) / FPS) for k in at]


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="source length (default 10)")
    args = ap.parse_args()
    print(f"before: {load()}", flush=True)
    t0 = time.monotonic()
    src = make_source(args.minutes)
    info = probe(src)
    print(f"source: {src.name}, {info.duration:.1f} s 1080p30 H.264 (B-frames, 2 s GOP) "
          f"[{time.monotonic() - t0:.1f} s to make or find]", flush=True)
    duration = info.duration
    start, end = round(duration * 0.1 + 0.47, 2), round(duration * 0.8 + 0.20, 2)
    length = end - start
    want = round(length * FPS)
    first_frame = math.ceil(start * FPS - 1e-3 * FPS)  # the first frame at or after the in point
    print(f"cut: {start:.2f} s .. {end:.2f} s ({length:.2f} s, {want} frames)")
    work = Path(tempfile.mkdtemp(prefix="mpr-bench-smartcut-"))
    results = {}
    try:
        # smart cut: the cut, then its verification
        spec = JobSpec(source=Location(area="in", key="s"), output=Location(area="out", key="smart.mp4"),
                       preset=builtin_preset("Trim only (stream copy)").to_dict(), trim_start=start, trim_end=end,
                       trim_mode="smart")
        smart = work / "smart.mp4"
        t = time.monotonic()
        plan, stream = await plan_for(src, spec, info)
        await _cut(spec, src, smart, plan, stream, info, NullReporter(), work, None)
        cut_s = time.monotonic() - t
        t = time.monotonic()
        checks = await asyncio.to_thread(verify_smartcut, smart, src, plan, stream, audio_expected=True)
        verify_s = time.monotonic() - t
        print(f"smart cut plan: {plan.describe()}; checks: {json.dumps(checks)}", flush=True)
        results["smart cut"] = (cut_s, smart, f"+ {verify_s:.1f} s verification")

        copy = work / "copy.mp4"
        preset = builtin_preset("Trim only (stream copy)")
        t = time.monotonic()
        lead = keyframe_lead(str(src), start)
        await run_ffmpeg(build_command(src, copy, preset, Trim(start, end, False), info, keyframe_lead=lead),
                         duration=length, output=copy)
        results["keyframe copy"] = (time.monotonic() - t, copy, f"starts {lead or 0:.2f} s before the in point")

        full = work / "reencode.mp4"
        x264 = PresetSpec("re-encode", "video", "mp4", video_codec="libx264", speed_preset="veryfast", crf=18,
                          audio_codec="aac", audio_bitrate=128)
        print(f"re-encoding {length:.0f} s of 1080p with x264 veryfast (the slow one) ...", flush=True)
        t = time.monotonic()
        await run_ffmpeg(build_command(src, full, x264, Trim(start, end, True), info), duration=length, output=full)
        results["full re-encode"] = (time.monotonic() - t, full, "x264 veryfast crf 18")

        print(f"\n{'':16}{'wall s':>9}{'frames':>8}{'exact':>7}  SSIM start/middle/end   note")
        for name, (wall, path, note) in results.items():
            n = frames(path)
            values = ssims(path, src, first_frame, want)
            print(f"  {name:14}{wall:9.2f}{n:8d}{'yes' if n == want else 'NO':>7}  "
                  f"{' / '.join(f'{v:.4f}' for v in values)}   {note}", flush=True)
        smart_s, copy_s, full_s = results["smart cut"][0], results["keyframe copy"][0], results["full re-encode"][0]
        faster = full_s / smart_s
        print(f"\nsmart cut vs full re-encode: {faster:.1f}x faster  <- target >= 20x: "
              f"{'met' if faster >= 20 else 'NOT met'}")
        print(f"smart cut - keyframe copy: {smart_s - copy_s:+.2f} s  <- target within 3 s: "
              f"{'met' if smart_s - copy_s <= 3 else 'NOT met'}")
        print(f"smart cut frame-exact: {'yes' if frames(smart) == want else 'NO'}")
        print(f"after: {load()}")
        ok = faster >= 20 and smart_s - copy_s <= 3 and frames(smart) == want
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
