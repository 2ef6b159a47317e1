"""MPR's "H.264 720p" preset vs HandBrakeCLI's "Very Fast 720p30" at EQUAL quality (SSIM).

For each of two 1080p30 sources (cached in bench/out):
  - synthetic: the mandelbrot clip bench/job_overhead.py uses (smooth zoom, clean picture);
  - camera: a detailed still (a deep mandelbrot crop) panned and gently rotated like a hand-held
    camera, a `life` layer blended over it (moving detail), lens blur and temporal film grain;
HandBrake encodes once with its preset; then MPR's CRF is bisected (fractional CRF, the preset's
exact argv from backend.media.command.build_command with only the CRF replaced) until MPR's SSIM
is within --tolerance of HandBrake's. At that point it reports MPR's size and wall time as ratios
to HandBrake's (goals: size ≤ 0.85×, speed ≥ 1.6× i.e. wall ≤ 0.625×), plus XPSNR (luma) of both.
The wall times at the matched CRF are re-taken back to back with HandBrake's (--runs pairs,
alternating, the faster of each side's runs kept), so both see the same machine load; the CPU
seconds of each encode (FFmpeg's or HandBrakeCLI's, all threads) are printed beside them: on a
busy machine they are the steadier measure of how much work each side does.
SSIM/XPSNR are FFmpeg's filters at the source's size (each output scaled up with bicubic, the
same for both; see quality()).
HandBrakeCLI comes from Debian's `handbrake-cli`: installed with apt-get when it is missing and
this runs as root; otherwise the comparison is skipped (said so, exit 0).

    .venv/bin/python bench/handbrake.py [--seconds 10] [--runs 1] [--tolerance 0.0005]

The last line printed is the result as JSON (bench/run_all.py reads it).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import resource
import shutil
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
from job_overhead import CACHE, source_clip  # noqa: E402  (the same cached source as the overhead bench)

HANDBRAKE_PRESET = "Very Fast 720p30"
MPR_PRESET = "H.264 720p"
SIZE_GOAL, SPEED_GOAL = 0.85, 1.6
CRF_LIMITS = (12.0, 40.0)


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


# ------------------------------------------------------------------ sources
def camera_clip(seconds: int) -> Path:
    """A 1080p30 clip with camera-like motion, grain and detail (cached in bench/out)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"camera-1080p30-{seconds}s.mp4"
    if path.exists():
        return path
    print(f"generating {seconds} s 1080p30 camera-like source clip…", flush=True)
    still = ("mandelbrot=s=2880x1620:rate=30:maxiter=250:start_x=-0.743643887037151:start_y=0.131825904205330"
             ":start_scale=0.004:end_scale=0.004,trim=end_frame=1,loop=loop=-1:size=1,setpts=N/30/TB")
    pan = ("crop=2000:1160:x='440+400*sin(2*PI*t/9)':y='230+200*sin(2*PI*t/7)',"
           "rotate=a='0.015*sin(2*PI*t*0.7)',crop=1920:1080,format=gbrp")
    life = ("life=s=480x270:rate=30:mold=10:ratio=0.2:life_color=#e0b070:death_color=#000000,"
            "scale=1920:1080:flags=bicubic,format=gbrp")
    grade = ("blend=all_mode=screen:all_opacity=0.35,gblur=sigma=0.6,format=yuv420p,"
             "noise=c0s=10:c0f=t+u:c1s=4:c1f=t+u:c2s=4:c2f=t+u")
    graph = f"{still},{pan}[bg];{life}[fg];[bg][fg]{grade}[v]"
    tmp = path.with_suffix(".tmp.mp4")
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-filter_complex", graph,
            "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000", "-map", "[v]", "-map", "0:a",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "superfast", "-crf", "14", "-g", "60",
            "-keyint_min", "60", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", str(tmp)]
    subprocess.run(argv, check=True, timeout=1800)
    tmp.rename(path)
    return path


SOURCES = {"synthetic": source_clip, "camera": camera_clip}


# ------------------------------------------------------------------ measuring
# Both sides labelled alike (a relabel, no conversion): HandBrake tags its output BT.709 while the
# source and MPR's output are untagged, and FFmpeg's filter graph would otherwise convert one side's
# colours to the other's before comparing (HandBrake's SSIM read 0.960 instead of 0.966, XPSNR 17.8
# dB instead of 31.0 on the synthetic clip).
SAME_TAGS = "setparams=range=tv:colorspace=bt709:color_primaries=bt709:color_trc=bt709"


def quality(output: Path, source: Path) -> dict:
    """SSIM (All) and XPSNR (luma) of `output` against `source`, at the source's size: the output is
    scaled up with bicubic (as VMAF's practice is). Comparing at the output's size against a
    bicubic-scaled source would favour MPR, whose encode scales with bicubic too (HandBrake uses
    Lanczos): the reference would share MPR's scaler."""
    s = probe(source).video
    graph = (f"[0:v]{SAME_TAGS},scale={s.width}:{s.height}:flags=bicubic,format=yuv420p,split[o0][o1];"
             f"[1:v]{SAME_TAGS},format=yuv420p,split[r0][r1];[o0][r0]ssim[s];[o1][r1]xpsnr[x]")
    done = subprocess.run([ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(output), "-i", str(source),
                           "-lavfi", graph, "-map", "[s]", "-f", "null", "-", "-map", "[x]", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    ssim = re.search(r"SSIM .* All:([0-9.]+)", done.stderr)
    xpsnr = re.search(r"XPSNR\s+y:\s*([0-9.]+|inf)", done.stderr)
    if not ssim:
        raise RuntimeError(f"no SSIM in ffmpeg's output: {done.stderr[-500:]}")
    return {"ssim": round(float(ssim.group(1)), 5), "xpsnr_y": round(float(xpsnr.group(1)), 3) if xpsnr else None}


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (FFmpeg, HandBrakeCLI)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def encode_mpr(source: Path, out: Path, crf: float | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of the preset's exact argv (only the CRF replaced when given)."""
    spec = next(p for p in BUILTIN_PRESETS if p.name == MPR_PRESET)
    if crf is not None:
        spec = dataclasses.replace(spec, crf=int(crf) if float(crf).is_integer() else crf)
    info = probe(source)
    trim = Trim(0.0, None, True)
    argv = build_command(source, out, spec, trim, info)
    c0, t0 = children_cpu(), time.perf_counter()
    await run_ffmpeg(argv, duration=expected_duration(trim, info), output=out)
    return time.perf_counter() - t0, children_cpu() - c0


HB_SETTINGS = re.compile(r"^(?:\[[\d:]+\])?[ \t]*\+ (encoder|preset|profile|quality|source):[ \t]*(.*)$", re.M)


def encode_handbrake(binary: str, source: Path, out: Path) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, the settings HandBrake's log says it used: encoder, x264 preset, profile, RF,
    crop and scale)."""
    c0, t0 = children_cpu(), time.perf_counter()
    done = subprocess.run([binary, "-i", str(source), "-o", str(out), "--preset", HANDBRAKE_PRESET],
                          capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - t0, children_cpu() - c0
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"HandBrakeCLI failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    settings: dict[str, str] = {}
    for key, value in HB_SETTINGS.findall(done.stderr):
        settings.setdefault(key.lower(), value.strip()[:80])
    return elapsed, cpu, settings


def point(path: Path, times: tuple[float, float], source: Path, **extra) -> dict:
    info = probe(path)
    size = path.stat().st_size
    return {**extra, "wall_s": round(times[0], 2), "cpu_s": round(times[1], 2), "size_bytes": size, **quality(path, source),
            "kbit_s": round(size * 8 / 1000 / info.duration), "width": info.video.width,
            "height": info.video.height, "video_codec": info.video.codec}


SLOPE_GUESS = 0.0025  # SSIM lost per CRF step near CRF 23 (measured on both sources), for the first step


def next_crf(tried: list[dict], target: float) -> float | None:
    """The next CRF to try, on a 0.25 grid: interpolated between the points that bracket
    HandBrake's SSIM, else extrapolated from the two nearest points (a guessed slope with one),
    at most 6 steps away."""
    above = [p for p in tried if p["ssim"] >= target]  # at least HandBrake's quality: lower CRF side
    below = [p for p in tried if p["ssim"] < target]
    lo = max(above, key=lambda p: p["crf"]) if above else None
    hi = min(below, key=lambda p: p["crf"]) if below else None
    if lo is not None and hi is not None:
        if hi["crf"] - lo["crf"] <= 0.25:
            return None
        frac = (lo["ssim"] - target) / (lo["ssim"] - hi["ssim"])
        crf = lo["crf"] + frac * (hi["crf"] - lo["crf"])
        crf = min(max(round(crf * 4) / 4, lo["crf"] + 0.25), hi["crf"] - 0.25)
    else:
        near = sorted(tried, key=lambda p: abs(p["ssim"] - target))[:2]
        slope = SLOPE_GUESS
        if len(near) == 2 and near[0]["crf"] != near[1]["crf"]:
            slope = max((near[1]["ssim"] - near[0]["ssim"]) / (near[0]["crf"] - near[1]["crf"]), 1e-4)
        step = min(max((near[0]["ssim"] - target) / slope, -6.0), 6.0)
        crf = near[0]["crf"] + (step if abs(step) >= 0.25 else (0.25 if step > 0 else -0.25))
        crf = round(crf * 4) / 4
    crf = min(max(crf, CRF_LIMITS[0]), CRF_LIMITS[1])
    return None if any(p["crf"] == crf for p in tried) else crf


async def compare(binary: str, name: str, source: Path, work: Path, tolerance: float, runs: int,
                  max_encodes: int) -> dict:
    hb_out = work / f"{name}-handbrake.mp4"
    hb_wall, hb_cpu, hb_settings = encode_handbrake(binary, source, hb_out)
    hb = point(hb_out, (hb_wall, hb_cpu), source, settings=hb_settings)
    default_crf = next(p for p in BUILTIN_PRESETS if p.name == MPR_PRESET).crf
    tried: list[dict] = []
    crf: float | None = float(default_crf)
    while crf is not None and len(tried) < max_encodes:
        out = work / f"{name}-mpr-{crf:g}.mp4"
        tried.append(point(out, await encode_mpr(source, out, crf), source, crf=crf))
        p = tried[-1]
        print(f"  {name}: CRF {crf:5.2f} -> SSIM {p['ssim']:.5f} (HandBrake {hb['ssim']:.5f}), "
              f"{p['size_bytes'] / 2**20:.2f} MiB, {p['wall_s']:.1f} s", flush=True)
        if abs(p["ssim"] - hb["ssim"]) <= tolerance:
            break
        crf = next_crf(tried, hb["ssim"])
    # the match: the closest SSIM, preferring one not below HandBrake's by more than the tolerance
    match = min(tried, key=lambda p: (p["ssim"] < hb["ssim"] - tolerance, abs(p["ssim"] - hb["ssim"])))
    shipped = next(p for p in tried if p["crf"] == default_crf)
    # re-time the matched CRF and HandBrake back to back, alternating: both under the same load
    mpr_times, hb_times = [(match["wall_s"], match["cpu_s"])], [(hb["wall_s"], hb["cpu_s"])]
    for _ in range(runs):
        mpr_times.append(await encode_mpr(source, work / f"{name}-retime.mp4", match["crf"]))
        hb_times.append(encode_handbrake(binary, source, work / f"{name}-hb-retime.mp4")[:2])
    match = {**match, "wall_s": round(min(w for w, _ in mpr_times), 2), "cpu_s": round(min(c for _, c in mpr_times), 2),
             "walls": [round(w, 2) for w, _ in mpr_times]}
    hb = {**hb, "wall_s": round(min(w for w, _ in hb_times), 2), "cpu_s": round(min(c for _, c in hb_times), 2),
          "walls": [round(w, 2) for w, _ in hb_times]}
    for f in work.glob(f"{name}-*.mp4"):
        f.unlink()
    size_ratio = match["size_bytes"] / hb["size_bytes"]
    speed = hb["wall_s"] / match["wall_s"]
    return {"source": source.name, "hb": hb, "mpr": match, "shipped": shipped, "tried": tried,
            "matched": abs(match["ssim"] - hb["ssim"]) <= tolerance,
            "ratios": {"size": round(size_ratio, 3), "wall": round(match["wall_s"] / hb["wall_s"], 3),
                       "speed": round(speed, 3), "cpu": round(match["cpu_s"] / hb["cpu_s"], 3),
                       "shipped_size": round(shipped["size_bytes"] / hb["size_bytes"], 3)},
            "met": {"size": size_ratio <= SIZE_GOAL, "speed": speed >= SPEED_GOAL}}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10, help="length of the 1080p30 sources (cached in bench/out)")
    ap.add_argument("--runs", type=int, default=1, help="extra back-to-back timing pairs at the matched CRF")
    ap.add_argument("--tolerance", type=float, default=0.0005, help="SSIM difference that counts as equal")
    ap.add_argument("--max-encodes", type=int, default=6, help="MPR encodes per source for the bisection")
    ap.add_argument("--sources", nargs="*", choices=sorted(SOURCES), default=list(SOURCES))
    args = ap.parse_args()

    binary, how = handbrake()
    if binary is None:
        print(f"skipped: {how}")
        print(json.dumps({"skipped": how}))
        return 0
    clips = {name: SOURCES[name](args.seconds) for name in args.sources}
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"{os.cpu_count()} cores, load average before: {' '.join(map(str, load_before))}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="mpr-bench-hb-"))
    results = {}
    try:
        for name, source in clips.items():
            results[name] = await compare(binary, name, source, work, args.tolerance, args.runs, args.max_encodes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = [round(x, 2) for x in os.getloadavg()]

    print(f"\n{args.seconds} s 1080p30 sources; HandBrakeCLI {how}; MPR '{MPR_PRESET}' CRF bisected to "
          f"HandBrake '{HANDBRAKE_PRESET}' SSIM ± {args.tolerance}; load average after: "
          f"{' '.join(map(str, load_after))}")
    print(f"{'':30}{'CRF':>6}{'wall s':>8}{'CPU s':>8}{'MiB':>8}{'kbit/s':>8}{'SSIM':>9}{'XPSNR-Y':>9}")
    for name, r in results.items():
        for label, p in ((f"{name}: HandBrake", r["hb"]), (f"{name}: MPR at equal SSIM", r["mpr"]),
                         (f"{name}: MPR as shipped", r["shipped"])):
            crf = f"{p['crf']:g}" if "crf" in p else "RF"
            xp = f"{p['xpsnr_y']:9.2f}" if p.get("xpsnr_y") is not None else f"{'—':>9}"
            print(f"{label:30}{crf:>6}{p['wall_s']:8.2f}{p['cpu_s']:8.2f}{p['size_bytes'] / 2**20:8.2f}{p['kbit_s']:8d}"
                  f"{p['ssim']:9.5f}{xp}")
        q = r["ratios"]
        print(f"{name}: at equal SSIM MPR is {q['size']:.3f}x HandBrake's size (goal ≤ {SIZE_GOAL}: "
              f"{'met' if r['met']['size'] else 'NOT met'}) and {q['speed']:.2f}x its speed (goal ≥ {SPEED_GOAL}: "
              f"{'met' if r['met']['speed'] else 'NOT met'}; CPU time {q['cpu']:.3f}x){'' if r['matched'] else ' [SSIM not matched within tolerance]'}")
        print(f"{name}: HandBrake's log: {r['hb'].get('settings')}")
    print(json.dumps({"seconds": args.seconds, "runs": args.runs, "handbrake": how, "tolerance": args.tolerance,
                      "goals": {"size": SIZE_GOAL, "speed": SPEED_GOAL}, "load": [load_before, load_after],
                      "cores": os.cpu_count(), "sources": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
