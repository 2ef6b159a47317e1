"""Benchmark the watched input folder (`backend.jobs.watch.InputWatcher`) with one automation rule.

1. **Latency**: `--latency-files` files are written one after another into the watched folder;
   for each, the time from its last byte to its asset being ready (the asset row's `updated_at`)
   and from there to the rule's job being queued (the job's `created_at`). The goal is ≤ 1 s plus
   the settle window (`--settle`, default 2 s as MPR_WATCH_SETTLE_SECONDS).
2. **Drain**: `--files` (default 1,000) files dropped into the folder at once (copied in as fast as
   the disk allows); the time until every one is ready with its job queued, and a check that no
   file was missed and none was probed or registered twice.

A fresh SQLite catalog (`--db postgres` for a throwaway PostgreSQL database on
MPR_BENCH_POSTGRES_URL / 127.0.0.1:5432); no executor runs, so the jobs stay queued. The clip is
the cheapest real source (1 s, 64x64), so the figures are MPR's overhead, not FFmpeg's. Prints
figures; asserts nothing about time.

    .venv/bin/python bench/ingest_watch.py [--files 1000] [--latency-files 10] [--settle 2]
                                           [--db sqlite|postgres]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.catalog import db as catalog_db  # noqa: E402
from backend.catalog import ingest  # noqa: E402
from backend.catalog.engine import engine_from_url  # noqa: E402
from backend.catalog.presets import seed_builtin_presets  # noqa: E402
from backend.catalog.tables import AutomationRule, MediaAsset, TranscodeJob, TranscodePreset  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.jobs.watch import InputWatcher  # noqa: E402
from backend.media.clips import generate_clip  # noqa: E402
from backend.storage import open_storages  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
PG_ADMIN_URL = os.environ.get("MPR_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DRAIN_LIMIT = 3600.0  # seconds the drain may take before the bench gives up and reports what is left


def clip() -> Path:
    path = OUT / "watch-tiny.mp4"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        generate_clip(path.with_suffix(".tmp.mp4"), duration=1.0, width=64, height=64, fps=25, gop=25)
        path.with_suffix(".tmp.mp4").rename(path)
    return path


def _epoch(value) -> float:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


async def wait_until(check, limit: float, poll: float = 0.05):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(poll)
    return None


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def latency(settings: Settings, source: Path, n: int) -> None:
    data = source.read_bytes()
    to_ready, to_job = [], []
    for i in range(n):
        key = f"lat-{i:03d}.mp4"
        with open(settings.in_root / key, "wb") as f:
            f.write(data)
        last_byte = time.time()

        async def job_of():
            row = await MediaAsset.select(MediaAsset.id, MediaAsset.status, MediaAsset.updated_at).where(
                MediaAsset.storage_key == key).first()
            if not row or row["status"] != "ready":
                return None
            job = await TranscodeJob.select(TranscodeJob.created_at).where(TranscodeJob.source == row["id"]).first()
            return (row, job) if job else None

        found = await wait_until(job_of, 120)
        if found is None:
            print(f"  {key}: no job within 120 s")
            continue
        row, job = found
        ready_at, queued_at = _epoch(row["updated_at"]), _epoch(job["created_at"])
        to_ready.append(ready_at - last_byte)
        to_job.append(queued_at - ready_at)
    settle = settings.watch_settle_seconds
    if to_ready:
        print(f"latency ({len(to_ready)} files, settle window {settle:g} s):")
        print(f"  last byte → asset ready : median {statistics.median(to_ready):.2f} s, max {max(to_ready):.2f} s "
              f"(minus the window: median {statistics.median(to_ready) - settle:.2f} s)")
        print(f"  asset ready → job queued: median {statistics.median(to_job) * 1000:.0f} ms, "
              f"p95 {pct(to_job, 95) * 1000:.0f} ms")


async def drain(settings: Settings, source: Path, n: int, probes: collections.Counter) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mpr-drop-", dir=settings.media_root))
    for i in range(n):  # staged beside the watched folder, then moved in as fast as rename goes
        shutil.copyfile(source, folder / f"drop-{i:04d}.mp4")
    before = await MediaAsset.count()
    probes.clear()
    t0 = time.monotonic()
    for i in range(n):
        os.rename(folder / f"drop-{i:04d}.mp4", settings.in_root / f"drop-{i:04d}.mp4")
    dropped = time.monotonic() - t0

    async def drained():
        ready = await MediaAsset.count().where(
            MediaAsset.storage_key.like("drop-%") & (MediaAsset.status == "ready"))
        jobs = await TranscodeJob.count().where(TranscodeJob.output_key.like("drop-%"))
        return ready >= n and jobs >= n

    done = await wait_until(drained, DRAIN_LIMIT, poll=0.5)
    took = time.monotonic() - t0
    rows = await MediaAsset.select(MediaAsset.storage_key, MediaAsset.status).where(
        MediaAsset.storage_key.like("drop-%"))
    keys = collections.Counter(r["storage_key"] for r in rows)
    expected = {f"drop-{i:04d}.mp4" for i in range(n)}
    missed = expected - set(keys)
    twice_registered = [k for k, c in keys.items() if c > 1]
    twice_probed = [k for k, c in probes.items() if c > 1]
    jobs = await TranscodeJob.select(TranscodeJob.source).where(TranscodeJob.output_key.like("drop-%"))
    per_source = collections.Counter(j["source"] for j in jobs)
    print(f"drain: {n} files moved in within {dropped:.2f} s; "
          f"{'all ready with their jobs queued' if done else 'NOT drained'} after {took:.1f} s "
          f"({n / took:.1f} files/s)")
    print(f"  assets {len(rows)} (before: {before}), missed {len(missed)}, registered twice {len(twice_registered)}, "
          f"probed twice {len(twice_probed)}, jobs {len(jobs)} ({sum(1 for c in per_source.values() if c > 1)} "
          f"assets with more than one)")
    shutil.rmtree(folder, ignore_errors=True)


async def run(db_url: str, args) -> None:
    root = Path(tempfile.mkdtemp(prefix="mpr-bench-watch-"))
    try:
        media = root / "media"
        for sub in ("in", "out", "thumbs"):
            (media / sub).mkdir(parents=True)
        settings = Settings.from_env().with_(database_url=db_url, media_root=media, data_dir=root / "data",
                                             watch_settle_seconds=args.settle, watch_reconcile_seconds=0)
        await catalog_db.create_tables(engine_from_url(db_url))
        await seed_builtin_presets()
        preset = await TranscodePreset.select(TranscodePreset.id).where(
            TranscodePreset.name == "Trim only (stream copy)").first()
        await AutomationRule(name="bench", preset_id=preset["id"]).save()

        probes: collections.Counter = collections.Counter()
        real = ingest.ingest_key

        async def counting(storages, key, area="in", **kwargs):
            probes[key] += 1
            return await real(storages, key, area, **kwargs)

        ingest.ingest_key = counting
        watcher = InputWatcher(settings, open_storages(settings))
        watcher.start()
        await asyncio.wait_for(watcher.ready.wait(), 30)
        await asyncio.sleep(0.5)
        try:
            source = clip()
            if args.latency_files:
                await latency(settings, source, args.latency_files)
            if args.files:
                await drain(settings, source, args.files, probes)
        finally:
            await watcher.stop()
            ingest.ingest_key = real
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--latency-files", type=int, default=10)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    print(f"ingest_watch: {args.db}, settle {args.settle:g} s, ingest slots "
          f"{Settings.from_env().ingest_concurrency}, {os.cpu_count()} cores")
    if args.db == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="mpr-bench-db-"))
        try:
            await run(f"sqlite:///{folder / 'bench.sqlite'}", args)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"mpr_bench_watch_{uuid.uuid4().hex[:6]}"
    await catalog_db.create_postgres_database(PG_ADMIN_URL, name)
    try:
        await run(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, args)
    finally:
        await catalog_db.drop_postgres_database(PG_ADMIN_URL, name)


if __name__ == "__main__":
    asyncio.run(main())
