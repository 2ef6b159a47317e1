"""Benchmark `backend.catalog.ingest.scan`: how many files per second a scan registers.

Generates N small clips once (cached under bench/out/clips, gitignored), copies them into a
fresh media folder, and scans it into a fresh SQLite catalog (and a throwaway PostgreSQL database
when one answers on MPR_BENCH_POSTGRES_URL / 127.0.0.1:5432). Prints files/s and ms per file,
plus, with --breakdown, where one file's time goes (probe, poster, filmstrip, catalog writes).

    .venv/bin/python bench/scan.py [--files 50] [--concurrency 4] [--no-postgres] [--breakdown]
                                   [--size 320x240] [--seconds 2]

The default clips are small (320x240, 2-3 s); `--size 1280x720 --seconds 10` measures sources
where the poster and filmstrip come from seeking instead of one decoding pass.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.catalog import db as catalog_db  # noqa: E402
from backend.catalog.engine import engine_from_url  # noqa: E402
from backend.catalog.ingest import scan  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.media.clips import PATTERNS, generate_clip  # noqa: E402
from backend.storage import open_storages  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
PG_ADMIN_URL = os.environ.get("MPR_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def make_clips(n: int, size: str = "320x240", seconds: float = 2.0) -> list[Path]:
    width, height = (int(v) for v in size.lower().split("x"))
    default = (width, height, seconds) == (320, 240, 2.0)
    folder = OUT / ("clips" if default else f"clips-{width}x{height}-{seconds:g}s")
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    t0 = time.perf_counter()
    made = 0
    for i in range(n):
        path = folder / f"clip {i:03d}.mp4"
        if not path.exists():
            generate_clip(path.with_suffix(".tmp.mp4"), duration=seconds + (i % 2), width=width, height=height,
                          pattern=PATTERNS[i % 2], frequency=220 + 20 * i)
            path.with_suffix(".tmp.mp4").rename(path)
            made += 1
        clips.append(path)
    if made:
        print(f"generated {made} clips in {time.perf_counter() - t0:.1f} s (cached in {folder})")
    return clips


async def postgres_url() -> str | None:
    try:
        import asyncpg

        conn = await asyncio.wait_for(asyncpg.connect(dsn=PG_ADMIN_URL.replace("postgres://", "postgresql://")), 3)
        await conn.close()
    except Exception as exc:  # noqa: BLE001 - unreachable is a normal outcome here
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); SQLite only")
        return None
    return PG_ADMIN_URL


async def run_once(label: str, db_url: str, clips: list[Path], concurrency: int) -> float:
    work = Path(tempfile.mkdtemp(prefix="mpr-bench-"))
    try:
        settings = Settings().with_(media_root=work / "media", data_dir=work / "data", database_url=db_url)
        storages = open_storages(settings)
        for clip in clips:
            if _same_fs(clip, work):
                os.link(clip, settings.in_root / clip.name)
            else:
                shutil.copy(clip, settings.in_root)
        await catalog_db.create_tables(engine_from_url(db_url))
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        result = await scan(storages, concurrency=concurrency)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        t1 = time.perf_counter()
        again = await scan(storages, concurrency=concurrency)
        rescan = time.perf_counter() - t1
        assert result.added == len(clips) and result.errors == 0, result
        assert again.unchanged == len(clips), again
        print(
            f"{label:<10} {len(clips)} files in {wall:6.2f} s = {len(clips) / wall:5.1f} files/s, "
            f"{1000 * wall / len(clips):5.0f} ms/file wall, concurrency {concurrency}; "
            f"rescan (nothing changed) {1000 * rescan:.0f} ms"
        )
        n_cpu = os.cpu_count() or 1
        print(
            f"{'':<10} CPU (this process + ffprobe/ffmpeg + SQLite) {1000 * cpu / len(clips):.0f} ms/file "
            f"-> at most {n_cpu * len(clips) / cpu:.0f} files/s on {n_cpu} idle cores"
        )
        return len(clips) / wall
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (ffprobe, ffmpeg)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _same_fs(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


async def breakdown(clips: list[Path], n: int = 8) -> None:
    """Serial wall times of the steps of one ingest, medians over n files. Ingest uses probe +
    the one-pass make_thumbnails; make_poster + make_filmstrip are what it replaced."""
    from backend.media.probe import probe_async
    from backend.media.thumbnails import make_filmstrip, make_poster, make_thumbnails

    steps: dict[str, list[float]] = {"probe": [], "poster": [], "filmstrip": [], "one-pass poster+filmstrip": []}
    tmp = Path(tempfile.mkdtemp(prefix="mpr-bench-bd-"))
    try:
        for clip in clips[:n]:
            t = time.perf_counter()
            info = await probe_async(str(clip))
            steps["probe"].append(time.perf_counter() - t)
            t = time.perf_counter()
            await make_poster(str(clip), tmp / "p.jpg", info)
            steps["poster"].append(time.perf_counter() - t)
            t = time.perf_counter()
            await make_filmstrip(str(clip), tmp / "f.jpg", info, frames=12, tile_width=160)
            steps["filmstrip"].append(time.perf_counter() - t)
            t = time.perf_counter()
            await make_thumbnails(str(clip), tmp / "p1.jpg", tmp / "f1.jpg", info, frames=12, tile_width=160)
            steps["one-pass poster+filmstrip"].append(time.perf_counter() - t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("serial step medians: " + ", ".join(f"{k} {1000 * statistics.median(v):.0f} ms" for k, v in steps.items()))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--size", default="320x240", help="clip size WxH")
    ap.add_argument("--seconds", type=float, default=2.0, help="clip length (every other clip is 1 s longer)")
    args = ap.parse_args()

    clips = make_clips(args.files, args.size, args.seconds)
    print(f"clips: {args.size}, {args.seconds:g}-{args.seconds + 1:g} s, H.264 + AAC in MP4")
    print(f"cpus: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.breakdown:
        await breakdown(clips)
    sqlite_dir = Path(tempfile.mkdtemp(prefix="mpr-bench-db-"))
    try:
        await run_once("sqlite", f"sqlite:///{sqlite_dir / 'bench.sqlite'}", clips, args.concurrency)
    finally:
        shutil.rmtree(sqlite_dir, ignore_errors=True)
    if not args.no_postgres and (admin := await postgres_url()):
        name = f"mpr_bench_{uuid.uuid4().hex[:8]}"
        await catalog_db.create_postgres_database(admin, name)
        try:
            engine_url = admin.rsplit("/", 1)[0] + "/" + name
            await run_once("postgres", engine_url, clips, args.concurrency)
        finally:
            await catalog_db.drop_postgres_database(admin, name)


if __name__ == "__main__":
    asyncio.run(main())
