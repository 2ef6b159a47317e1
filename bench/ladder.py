"""The "Web ABR" ladder (1080p/720p/480p/360p H.264 + AAC 128k, CMAF, HLS + DASH, storyboard) of a
1080p30 source, three ways, wall time in one run:

  1. MPR's job: createJob(templateId) → local executor → run_ladder (ONE FFmpeg: decode once, split
     into four scalers + encoders and the storyboard tiler) → package check → job succeeded;
  2. four separate bare FFmpeg encodes, one per rendition (each decodes the whole source again),
     same encoder settings, one MP4 each;
  3. one hand-written `split` command: the same four encoders into FFmpeg's DASH muxer, no storyboard.

Goals: MPR ≤ 0.75 of (2) and ≤ 1.05 of (3). Prints a table, the load average, and a JSON line.
Besides wall time it prints the CPU seconds of FFmpeg (and ffprobe) children, which a loaded
machine disturbs much less than wall time, and the bound of what decoding once can save: the CPU
of one bare decode of the source's video and of one audio encode are measured, and (2) minus three
of each, over (2), is the best CPU ratio a one-decode job can reach against (2) — the encoders'
work is the same both ways.
Usage: .venv/bin/python bench/ladder.py [--seconds 60] [--runs 1]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from job_overhead import bench_install, source_clip  # noqa: E402

from backend.catalog.ingest import ingest_key  # noqa: E402
from backend.catalog.tables import OutputTemplate  # noqa: E402
from backend.catalog.templates import seed_builtin_templates  # noqa: E402
from backend.jobs import lifecycle, service  # noqa: E402
from backend.jobs.events import BUS  # noqa: E402
from backend.jobs.executors.local import LocalExecutor  # noqa: E402
from backend.media.binaries import ffmpeg_path  # noqa: E402
from backend.media.templates import builtin_template  # noqa: E402

RUNGS = [(p.max_height, p.max_width, p.video_bitrate) for p in builtin_template("Web ABR").renditions]
SEG = 4


def x264(n: int, kbps: int) -> list[str]:
    return [f"-c:v:{n}", "libx264", f"-preset:v:{n}", "veryfast", f"-b:v:{n}", f"{kbps}k",
            f"-maxrate:v:{n}", f"{round(kbps * 1.1)}k", f"-bufsize:v:{n}", f"{kbps * 2}k", f"-g:v:{n}", str(30 * SEG),
            f"-keyint_min:v:{n}", str(30 * SEG), f"-force_key_frames:v:{n}", f"expr:gte(t,n_forced*{SEG})"]


def separate_commands(src: Path, out: Path) -> list[list[str]]:
    return [[ffmpeg_path(), "-v", "error", "-y", "-i", str(src), "-vf", f"scale=-2:{h}", *x264(0, kbps),
             "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
             str(out / f"{h}p.mp4")] for h, _, kbps in RUNGS]


def split_command(src: Path, out: Path) -> list[str]:
    labels = "".join(f"[s{i}]" for i in range(len(RUNGS)))
    graph = [f"[0:v]split={len(RUNGS)}{labels}"] + [f"[s{i}]scale=-2:{h}[v{i}]" for i, (h, _, _) in enumerate(RUNGS)]
    argv = [ffmpeg_path(), "-v", "error", "-y", "-i", str(src), "-filter_complex", ";".join(graph)]
    for i in range(len(RUNGS)):
        argv += ["-map", f"[v{i}]"]
    argv += ["-map", "0:a:0"]
    for i, (_, _, kbps) in enumerate(RUNGS):
        argv += x264(i, kbps)
    return argv + ["-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
                   "-f", "dash", "-seg_duration", str(SEG), "-hls_playlist", "1",
                   "-adaptation_sets", "id=0,streams=v id=1,streams=a", str(out / "manifest.mpd")]


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argvs: list[list[str]], out: Path) -> tuple[float, float]:
    """(wall s, children's CPU s) of running `argvs` one after the other."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0, c0 = time.perf_counter(), child_cpu()
    for argv in argvs:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    elapsed, cpu = time.perf_counter() - t0, child_cpu() - c0
    shutil.rmtree(out, ignore_errors=True)
    return elapsed, cpu


def shared_work(src: Path, out: Path) -> dict[str, float]:
    """CPU s of what four separate encodes repeat and one split command does once: a bare decode of
    the video, and the audio (decode + AAC 128k)."""
    decode = [ffmpeg_path(), "-v", "error", "-y", "-i", str(src), "-map", "0:v:0", "-f", "null", "-"]
    audio = [ffmpeg_path(), "-v", "error", "-y", "-i", str(src), "-map", "0:a:0", "-c:a", "aac", "-b:a", "128k",
             "-ac", "2", "-f", "null", "-"]
    return {"decode": timed([decode], out)[1], "audio": timed([audio], out)[1]}


def decode_bound(shared: dict[str, float], separate_cpu: float, copies: int) -> float:
    """The lowest CPU ratio vs the separate encodes that decoding (and encoding the audio) once
    can give: the other `copies - 1` decodes and audio encodes are all it saves."""
    saved = (copies - 1) * (shared["decode"] + shared["audio"])
    return max(0.0, separate_cpu - saved) / separate_cpu


async def through_mpr(settings, storages, asset_id: int, template_id: int) -> tuple[float, float, dict]:
    with BUS.listen() as events:
        t0, c0 = time.perf_counter(), child_cpu()
        row = await service.create_job(settings, storages, source_id=asset_id, template_id=template_id)
        while True:
            event = await events.get()
            if event.job_id == row["id"] and event.status in lifecycle.TERMINAL:
                break
        elapsed, cpu = time.perf_counter() - t0, child_cpu() - c0
    job = await lifecycle.load_job(row["id"])
    assert job["status"] == "succeeded", job["error"]
    shutil.rmtree(settings.out_root / job["output_key"].split("/")[0], ignore_errors=True)
    return elapsed, cpu, job


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    src = source_clip(args.seconds)
    work, settings = await bench_install(src, "mpr-bench-ladder-")
    await seed_builtin_templates()
    from backend.storage import open_storages

    storages = open_storages(settings)
    asset = await ingest_key(storages, "source.mp4")
    template = await OutputTemplate.select(OutputTemplate.id).where(OutputTemplate.name == "Web ABR").first()
    executor = LocalExecutor(settings, storages, poll_seconds=0.05)
    await executor.start()
    times: dict[str, list[float]] = {"mpr": [], "separate": [], "split": []}
    cpus: dict[str, list[float]] = {"mpr": [], "separate": [], "split": []}
    job = {}
    try:
        shared = shared_work(src, work / "shared")
        for _ in range(args.runs):
            for name, argvs in (("separate", separate_commands(src, work / "separate")),
                                ("split", [split_command(src, work / "split")])):
                wall, cpu = timed(argvs, work / name)
                times[name].append(wall)
                cpus[name].append(cpu)
            elapsed, cpu, job = await through_mpr(settings, storages, asset.id, template["id"])
            times["mpr"].append(elapsed)
            cpus["mpr"].append(cpu)
    finally:
        await executor.stop()
        shutil.rmtree(work, ignore_errors=True)
    m = {k: statistics.median(v) for k, v in times.items()}
    c = {k: statistics.median(v) for k, v in cpus.items()}
    load = os.getloadavg()
    print(f"\nladder: 'Web ABR' on a {args.seconds} s 1080p30 source ({args.runs} run(s), medians; "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})")
    print(f"{'way':<42}{'wall s':>9}{'MPR / it':>10}{'CPU s':>9}{'MPR / it':>10}")
    for key, label in (("mpr", "MPR job (one FFmpeg, split, + storyboard)"),
                       ("separate", "four separate bare FFmpeg encodes"),
                       ("split", "one hand-written split command (DASH)")):
        print(f"{label:<42}{m[key]:>9.1f}{m['mpr'] / m[key]:>10.3f}{c[key]:>9.1f}{c['mpr'] / c[key]:>10.3f}")
    bound = decode_bound(shared, c["separate"], len(RUNGS))
    print(f"shared work: one video decode {shared['decode']:.1f} CPU s, one audio encode {shared['audio']:.1f} CPU s; "
          f"decoding once can at best bring the CPU to {bound:.3f} of the separate encodes' (measured "
          f"{c['mpr'] / c['separate']:.3f})")
    renditions = [f"{o['name']} {(o.get('bitrate') or 0) / 1000:.0f}k" for o in job.get("outputs") or []
                  if isinstance(o, dict) and o.get("role") == "rendition"]
    print(f"renditions: {', '.join(renditions)}")
    goals = {"vs_separate": m["mpr"] / m["separate"] <= 0.75, "vs_split": m["mpr"] / m["split"] <= 1.05}
    print(f"goals: MPR ≤ 0.75 × separate: {'met' if goals['vs_separate'] else 'NOT met'}; "
          f"MPR ≤ 1.05 × split: {'met' if goals['vs_split'] else 'NOT met'}")
    print(json.dumps({"seconds": args.seconds, "runs": args.runs, "wall_s": {k: round(v, 2) for k, v in m.items()},
                      "cpu_s": {k: round(v, 2) for k, v in c.items()},
                      "ratios": {"vs_separate": round(m["mpr"] / m["separate"], 3),
                                 "vs_split": round(m["mpr"] / m["split"], 3)},
                      "shared_cpu_s": {k: round(v, 2) for k, v in shared.items()}, "cpu_bound": round(bound, 3),
                      "load": [round(x, 1) for x in load], "goals": goals}))
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
