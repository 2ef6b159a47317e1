"""MPR's "H.264 720p" preset vs HandBrakeCLI's "Very Fast 720p30" on the same 1080p30 source.

Both encode the clip bench/job_overhead.py uses (cached in bench/out), alternating, one after
the other; for each: wall time (median of --runs), output size, and SSIM against the source
(FFmpeg's ssim filter, the source scaled to the output's size with bicubic), plus SSIM per MiB.
MPR's side runs the exact argv the local executor would (backend.media.command.build_command +
run_ffmpeg). HandBrakeCLI comes from Debian's `handbrake-cli`: installed with apt-get when it is
missing and this runs as root; otherwise the comparison is skipped (said so, exit 0).

    .venv/bin/python bench/handbrake.py [--seconds 20] [--runs 1]

The last line printed is the result as JSON (bench/run_all.py reads it).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from backend.media.binaries import ffmpeg_path  # noqa: E402
from backend.media.command import Trim, build_command, expected_duration  # noqa: E402
from backend.media.presets import BUILTIN_PRESETS  # noqa: E402
from backend.media.probe import probe  # noqa: E402
from backend.media.runner import run_ffmpeg  # noqa: E402
from job_overhead import source_clip  # noqa: E402  (the same cached source as the overhead bench)

HANDBRAKE_PRESET = "Very Fast 720p30"
MPR_PRESET = "H.264 720p"


def handbrake() -> tuple[str | None, str]:
    """(path to HandBrakeCLI or None, how it was found / why not)."""
    found = shutil.which("HandBrakeCLI")
    if found:
        return found, "installed"
    if os.geteuid() != 0:
        return None, "HandBrakeCLI is missing and this is not root: `sudo apt-get install handbrake-cli`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("installing handbrake-cli with apt-get …", flush=True)
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "handbrake-cli"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"apt-get install handbrake-cli failed: {done.stderr.strip()[-300:]}"
    found = shutil.which("HandBrakeCLI")
    return (found, "installed now with apt-get") if found else (None, "apt-get ran but HandBrakeCLI is missing")


def ssim(output: Path, source: Path) -> float:
    """Mean SSIM (All) of `output` against `source` scaled to the output's size."""
    v = probe(output).video
    graph = f"[1:v]scale={v.width}:{v.height}:flags=bicubic,format=yuv420p[ref];[0:v]format=yuv420p[out];[out][ref]ssim"
    done = subprocess.run([ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(output), "-i", str(source),
                           "-lavfi", graph, "-f", "null", "-"], capture_output=True, text=True, check=True)
    match = re.search(r"SSIM .* All:([0-9.]+)", done.stderr)
    if not match:
        raise RuntimeError(f"no SSIM in ffmpeg's output: {done.stderr[-500:]}")
    return float(match.group(1))


async def encode_mpr(source: Path, out: Path) -> float:
    spec = next(p for p in BUILTIN_PRESETS if p.name == MPR_PRESET)
    info = probe(source)
    trim = Trim(0.0, None, True)
    argv = build_command(source, out, spec, trim, info)
    t0 = time.perf_counter()
    await run_ffmpeg(argv, duration=expected_duration(trim, info), output=out)
    return time.perf_counter() - t0


def encode_handbrake(binary: str, source: Path, out: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([binary, "-i", str(source), "-o", str(out), "--preset", HANDBRAKE_PRESET],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"HandBrakeCLI failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def describe(path: Path, times: list[float], source: Path) -> dict:
    info = probe(path)
    value = ssim(path, source)
    size = path.stat().st_size
    return {"wall_s": round(statistics.median(times), 2), "size_bytes": size, "ssim": round(value, 5),
            "ssim_per_mib": round(value / (size / 2**20), 5), "width": info.video.width,
            "height": info.video.height, "fps": info.video.fps, "video_codec": info.video.codec,
            "audio_codec": info.audio.codec if info.audio else None,
            "kbit_s": round(size * 8 / 1000 / info.duration)}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=20, help="length of the 1080p30 source (cached in bench/out)")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()

    binary, how = handbrake()
    if binary is None:
        print(f"skipped: {how}")
        print(json.dumps({"skipped": how}))
        return 0
    source = source_clip(args.seconds)
    work = Path(tempfile.mkdtemp(prefix="mpr-bench-hb-"))
    try:
        mpr_out, hb_out = work / "mpr.mp4", work / "handbrake.mp4"
        mpr_times, hb_times = [], []
        for _ in range(args.runs):
            mpr_times.append(await encode_mpr(source, mpr_out))
            hb_times.append(encode_handbrake(binary, source, hb_out))
        mpr, hb = describe(mpr_out, mpr_times, source), describe(hb_out, hb_times, source)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{args.seconds} s 1080p30 source ({source.name}); HandBrakeCLI {how}; median of {args.runs} run(s)")
    print(f"{'':26}{'wall s':>9}{'size MiB':>10}{'kbit/s':>8}{'SSIM':>9}{'SSIM/MiB':>10}  output")
    for name, r in ((f"MPR '{MPR_PRESET}'", mpr), (f"HandBrake '{HANDBRAKE_PRESET}'", hb)):
        print(f"{name:26}{r['wall_s']:9.2f}{r['size_bytes'] / 2**20:10.2f}{r['kbit_s']:8d}{r['ssim']:9.4f}"
              f"{r['ssim_per_mib']:10.4f}  {r['width']}x{r['height']} {r['fps']:g} fps {r['video_codec']}"
              f"+{r['audio_codec']}")
    ratios = {k: round(mpr[k] / hb[k], 3) for k in ("wall_s", "size_bytes", "ssim", "ssim_per_mib")}
    print("MPR / HandBrake: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    print(json.dumps({"seconds": args.seconds, "runs": args.runs, "handbrake": how, "mpr": mpr, "hb": hb,
                      "ratios": ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
