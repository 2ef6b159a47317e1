"""What MPR adds to FFmpeg's own time for one job.

Runs the same job through MPR (create → local executor → verified, registered output) and as the
bare FFmpeg command MPR itself built for it, alternating, and prints medians:
  - H.264 720p of a 60 s 1080p30 clip: wall-time ratio MPR / bare (target ≤ 1.03)
  - stream-copy trim of 30 s: absolute overhead in ms (target ≤ 150 ms)
Usage: .venv/bin/python bench/job_overhead.py [--runs N] [--seconds S]
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.catalog.db import create_tables  # noqa: E402
from backend.catalog.engine import engine_from_url  # noqa: E402
from backend.catalog.ingest import ingest_key, media_info_from_asset  # noqa: E402
from backend.catalog.outputs import wait_for_thumbnails  # noqa: E402
from backend.catalog.presets import preset_spec_from_row, seed_builtin_presets  # noqa: E402
from backend.catalog.tables import TranscodePreset  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.jobs import lifecycle, service  # noqa: E402
from backend.jobs.events import BUS  # noqa: E402
from backend.jobs.executors.local import LocalExecutor  # noqa: E402
from backend.media.clips import generate_clip  # noqa: E402
from backend.media.command import Trim, build_command  # noqa: E402
from backend.storage import open_storages  # noqa: E402

CACHE = Path(__file__).resolve().parent / "out"


def source_clip(seconds: int) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"source-1080p30-{seconds}s.mp4"
    if not path.exists():
        print(f"generating {seconds} s 1080p30 source clip…", flush=True)
        generate_clip(path, duration=seconds, width=1920, height=1080, fps=30, gop=60, pattern="mandelbrot",
                      timeout=1200)
    return path


async def through_mpr(settings, storages, asset_id, preset_id, trim) -> float:
    # wait for the executor's own event, not by polling: a 5 ms poll loop took ~15 % of the CPU
    # FFmpeg needs on 2 cores and was counted as MPR's overhead
    with BUS.listen() as events:
        t0 = time.perf_counter()
        row = await service.create_job(settings, storages, source_id=asset_id, preset_id=preset_id,
                                       trim_start=trim[0], trim_end=trim[1])
        while True:
            event = await events.get()
            if event.job_id == row["id"] and event.status in lifecycle.TERMINAL:
                break
        elapsed = time.perf_counter() - t0
    job = await lifecycle.load_job(row["id"])
    assert job["status"] == "succeeded", job["error"]
    await wait_for_thumbnails()  # outside the timing: the output's thumbnails must not race the unlink or the next run
    (settings.out_root / job["output_key"]).unlink()
    return elapsed


def bare(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


async def bench_install(src: Path, prefix: str) -> tuple[Path, Settings]:
    """A throwaway installation for one bench: (its folder, its Settings) with in/out/thumbs, `src`
    copied in as in/source.mp4, and a SQLite catalog holding the builtin presets."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    settings = Settings.from_env().with_(media_root=work / "media", data_dir=work / "data", workers=1)
    for sub in ("in", "out", "thumbs"):
        (settings.media_root / sub).mkdir(parents=True)
    shutil.copyfile(src, settings.in_root / "source.mp4")
    await create_tables(engine_from_url(f"sqlite:///{work / 'bench.sqlite'}"))
    await seed_builtin_presets()
    return work, settings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    src = source_clip(args.seconds)
    work, settings = await bench_install(src, "mpr-bench-")
    storages = open_storages(settings)
    asset = await ingest_key(storages, "source.mp4")
    info = media_info_from_asset(asset.to_dict())
    executor = LocalExecutor(settings, storages, poll_seconds=0.05)
    await executor.start()
    results = []
    try:
        for name, trim in (("H.264 720p", (None, None)), ("Trim only (stream copy)", (args.seconds / 6, args.seconds / 6 + args.seconds / 2))):
            preset = await TranscodePreset.select().where(TranscodePreset.name == name).first()
            spec = preset_spec_from_row(preset)
            start, end = trim[0] or 0.0, trim[1] or info.duration
            argv = build_command(settings.in_root / "source.mp4", work / f"bare{Path(name).suffix}.out{'.mp4'}",
                                 spec, Trim(start, end, spec.kind != "copy"), info)
            mpr_times, bare_times = [], []
            for _ in range(args.runs):
                bare_times.append(bare(argv))
                mpr_times.append(await through_mpr(settings, storages, asset.id, preset["id"], trim))
            results.append((name, statistics.median(bare_times), statistics.median(mpr_times)))
    finally:
        await executor.stop()
        await wait_for_thumbnails()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\njob overhead ({args.seconds} s 1080p30 source, {args.runs} runs each, medians)")
    print(f"{'job':<28}{'bare ffmpeg':>14}{'through MPR':>14}{'ratio':>9}{'overhead':>12}")
    for name, b, m in results:
        print(f"{name:<28}{b:>13.3f}s{m:>13.3f}s{m / b:>9.3f}{(m - b) * 1000:>10.0f}ms")
    enc, copy = results
    print(f"\n720p ratio {enc[2] / enc[1]:.3f} (target ≤ 1.03); "
          f"stream-copy overhead {(copy[2] - copy[1]) * 1000:.0f} ms (target ≤ 150 ms)")


if __name__ == "__main__":
    asyncio.run(main())
