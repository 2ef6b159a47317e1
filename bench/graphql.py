"""GraphQL API benchmark: 1,000,000 jobs and 100,000 assets in a fresh PostgreSQL database (issue
20's scale), the app under uvicorn (one worker, run_jobs=False, asyncpg pool): p50/p99 latency of
`jobs(first: 50)` with source assets, of `assets(first: 50, search: …)` (served by the pg_trgm
indexes), and requests/s of a small query from a second process on loopback.

    .venv/bin/python bench/graphql.py [--jobs 1000000] [--assets 100000] [--latency-requests 400] [--seconds 10]

Targets: p50 <= 15 ms for the listing, <= 30 ms for the search, >= 1,500 req/s for `job(id)`. The
bench database is dropped at the end (unless --keep; `--database mpr_bench_…` measures a kept one
again without seeding, and keeps it — drop it yourself when done). Traffic goes to 127.0.0.1 only, bounded in
count and time.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# This file is named like the graphql-core package: keep its folder off sys.path (Python puts a
# script's folder first), and put the repository root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

PG_ADMIN_URL = os.environ.get("MPR_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TOKEN = "bench-token"

LISTING = """query Listing($after: String) { jobs(first: 50, after: $after) {
  pageInfo { hasNextPage endCursor }
  nodes { id status progress speed etaSeconds attempt outputFilename createdAt
    source { id filename duration posterUrl } } } }"""
SEARCH = """query Search($q: String) { assets(first: 50, search: $q) {
  nodes { id filename status duration tags posterUrl } } }"""
SEARCH_TERMS = ("harbour", "kitchen-3", "clip-0421", "wedding-2-clip-09")
SMALL = 'query Small($id: ID!) { job(id: $id) { id status progress } }'
TINY = "query Tiny { systemStatus { executor workers storage database } }"  # no database access


# ------------------------------------------------------------------ a tiny HTTP/1.1 keep-alive client
class Conn:
    """One keep-alive connection; POSTs a JSON body and returns (status, body). Low overhead on purpose."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, payload: bytes) -> tuple[int, bytes]:
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(payload)}\r\n\r\n").encode()
        self.writer.write(head + payload)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked (not expected from the GraphQL route)
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        return status, body

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def body(query: str, variables: dict) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


# ------------------------------------------------------------------ seeding
async def seed(url: str, jobs: int, assets: int) -> dict:
    import asyncpg

    from backend.catalog import db as catalog_db
    from backend.catalog.engine import engine_from_url, postgres_config
    from backend.catalog.presets import seed_builtin_presets
    from backend.catalog.tables import TranscodePreset

    engine = engine_from_url(url)
    await catalog_db.create_tables(engine)
    await seed_builtin_presets()
    preset_ids = [r["id"] for r in await TranscodePreset.select(TranscodePreset.id)]
    now = dt.datetime.now(dt.timezone.utc)
    conn = await asyncpg.connect(**postgres_config(url))
    try:
        t0 = time.perf_counter()
        # generated in the server (generate_series): a million rows in seconds, no Python tuples.
        # Filenames are words from a small vocabulary plus a number, so a search like "harbour"
        # matches one asset in 8, "kitchen-3" one in 40 and "clip-0421" a hundred: broad and narrow
        # searches are both measured.
        await conn.execute("""
            INSERT INTO media_asset (filename, storage_area, storage_key, size, mtime, etag, status,
                error_message, duration, container, video_codec, audio_codec, width, height, frame_rate,
                bitrate, audio_channels, audio_sample_rate, rotation, pix_fmt, poster_key, filmstrip_key,
                filmstrip_frames, tags, comments, created_at, updated_at)
            SELECT name, 'in', 'library/' || name, 10000000 + i, 0.0, '', 'ready', '', 30.0 + i % 90,
                   'mov,mp4,m4a,3gp,3g2,mj2', 'h264', 'aac', 1920, 1080, 25.0, 5000000, 2, 48000, 0, 'yuv420p',
                   (i + 1) || '/poster.jpg', (i + 1) || '/filmstrip.jpg', 12,
                   json_build_array('bench', 't' || (i % 7)), '', $1, $1
            FROM (SELECT i, (ARRAY['harbour', 'interview', 'drone', 'concert', 'kitchen', 'lecture', 'street',
                                   'wedding'])[1 + i % 8] || '-' || (i % 5) || '-clip-' || lpad(i::text, 6, '0')
                            || '.mp4' AS name
                  FROM generate_series(0, $2 - 1) AS i) AS g""", now, assets)
        asset_ids = [r["id"] for r in await conn.fetch("SELECT id FROM media_asset ORDER BY id")]
        statuses = ["succeeded", "succeeded", "succeeded", "failed", "cancelled", "queued", "running"]
        snapshot = json.dumps({"name": "H.264 720p", "kind": "video", "container": "mp4"})
        await conn.execute("""
            INSERT INTO transcode_job (source, preset, preset_snapshot, trim_start, trim_end, accurate_trim,
                output_filename, output_key, output_asset, status, progress, fps, speed, eta_seconds, attempt,
                max_attempts, priority, executor, execution_id, worker_id, error, log_tail, plan,
                created_at, started_at, finished_at, heartbeat_at, updated_at)
            SELECT ($1::int[])[1 + i % cardinality($1::int[])], ($2::int[])[1 + i % cardinality($2::int[])],
                   $3::json, 0.0, 10.0, true, 'out-' || i || '.mp4', 'out-' || i || '.mp4', NULL, st,
                   CASE WHEN st = 'succeeded' THEN 100.0 ELSE (i % 100)::float END, NULL, 1.5, NULL, 1, 3, 0,
                   'local', '', '', CASE WHEN st = 'failed' THEN 'ffmpeg failed' ELSE '' END, '', '{}'::json,
                   created, CASE WHEN st <> 'queued' THEN created END,
                   CASE WHEN st IN ('succeeded', 'failed', 'cancelled') THEN created END, NULL, created
            FROM (SELECT i, ($4::text[])[1 + i % 7] AS st, $5::timestamptz - make_interval(secs => $6 - i) AS created
                  FROM generate_series(0, $6 - 1) AS i) AS g""",
            asset_ids, preset_ids, snapshot, statuses, now, jobs)
        await conn.execute("""INSERT INTO job_transition (job, at, from_status, to_status, attempt, reason)
                              SELECT id, created_at, '', 'queued', 1, 'created' FROM transcode_job""")
        await conn.execute("ANALYZE")
        seconds = time.perf_counter() - t0
        some_job = await conn.fetchval("SELECT id FROM transcode_job ORDER BY id DESC OFFSET 1234 LIMIT 1")
        counts = await conn.fetchval("SELECT COUNT(*) FROM transcode_job")
    finally:
        await conn.close()
    return {"seed_seconds": round(seconds, 1), "jobs": counts, "assets": len(asset_ids), "some_job": some_job}


async def seeded_counts(url: str) -> dict:
    """The same figures `seed` returns, read from a database an earlier run kept (--database)."""
    import asyncpg

    from backend.catalog.engine import postgres_config

    conn = await asyncpg.connect(**postgres_config(url))
    try:
        some_job = await conn.fetchval("SELECT id FROM transcode_job ORDER BY id DESC OFFSET 1234 LIMIT 1")
        return {"seed_seconds": 0.0, "jobs": await conn.fetchval("SELECT COUNT(*) FROM transcode_job"),
                "assets": await conn.fetchval("SELECT COUNT(*) FROM media_asset"), "some_job": some_job}
    finally:
        await conn.close()


# ------------------------------------------------------------------ measuring
def cpu_seconds(pid: int | None) -> float:
    """User+system CPU seconds of the server process (0 when unknown)."""
    if not pid:
        return 0.0
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


async def latency(port: int, requests: int, warmup: int = 40, pid: int | None = None) -> dict:
    conn = Conn("127.0.0.1", port)
    await conn.open()
    samples = []
    after = None
    cpu0 = 0.0
    try:
        for i in range(warmup + requests):
            if i == warmup:
                cpu0 = cpu_seconds(pid)
            t0 = time.perf_counter()
            status, raw = await conn.post("/graphql", body(LISTING, {"after": after}))
            elapsed = time.perf_counter() - t0
            assert status == 200, raw[:300]
            data = json.loads(raw)
            assert "errors" not in data, data["errors"]
            page = data["data"]["jobs"]
            assert len(page["nodes"]) == 50 and page["nodes"][0]["source"]["filename"]
            # walk a few pages deep, then start again: first pages and deep cursors both count
            after = page["pageInfo"]["endCursor"] if i % 10 != 9 else None
            if i >= warmup:
                samples.append(elapsed * 1000)
    finally:
        conn.close()
    cpu = cpu_seconds(pid) - cpu0
    samples.sort()
    return {"requests": len(samples), "server_cpu_ms": round(cpu / len(samples) * 1000, 2),
            "p50_ms": round(statistics.median(samples), 2),
            "p90_ms": round(samples[int(len(samples) * 0.90) - 1], 2),
            "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 2), "max_ms": round(samples[-1], 2)}


async def search_latency(port: int, requests: int, warmup: int = 20) -> dict:
    """p50/p90/p99 of `assets(first: 50, search: …)`, cycling through broad and narrow terms."""
    conn = Conn("127.0.0.1", port)
    await conn.open()
    samples = []
    try:
        for i in range(warmup + requests):
            t0 = time.perf_counter()
            status, raw = await conn.post("/graphql", body(SEARCH, {"q": SEARCH_TERMS[i % len(SEARCH_TERMS)]}))
            elapsed = time.perf_counter() - t0
            assert status == 200, raw[:300]
            data = json.loads(raw)
            assert "errors" not in data and data["data"]["assets"]["nodes"], data
            if i >= warmup:
                samples.append(elapsed * 1000)
    finally:
        conn.close()
    samples.sort()
    return {"requests": len(samples), "terms": list(SEARCH_TERMS), "p50_ms": round(statistics.median(samples), 2),
            "p90_ms": round(samples[int(len(samples) * 0.90) - 1], 2),
            "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 2)}


async def load(port: int, seconds: float, concurrency: int, job_id: int, pid: int | None = None,
               query: str = "small") -> dict:
    payload = body(SMALL, {"id": str(job_id)}) if query == "small" else body(TINY, {})
    done = errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors
        conn = Conn("127.0.0.1", port)
        await conn.open()
        try:
            while time.perf_counter() < deadline:
                status, raw = await conn.post("/graphql", payload)
                if status != 200 or b'"errors"' in raw:
                    errors += 1
                done += 1
        finally:
            conn.close()

    # warm up, then measure
    warm_deadline, deadline = deadline, time.perf_counter() + 1.0
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    done = errors = 0
    deadline = time.perf_counter() + seconds
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    del warm_deadline
    return {"requests": done, "errors": errors, "seconds": round(elapsed, 2), "rps": round(done / elapsed, 1),
            "concurrency": concurrency, "server_cpu_ms": round(cpu / max(done, 1) * 1000, 3),
            "rps_per_server_core": round(done / cpu, 1) if cpu else None}


def reference_loop() -> float:
    """CPU seconds of a fixed pure-Python loop: how slow this machine is right now."""
    start = time.process_time()
    x = 0
    for i in range(5_000_000):
        x += i
    return time.process_time() - start


# ------------------------------------------------------------------ processes
def serve(port: int) -> None:
    import logging

    from backend.api.server import serve_api
    from backend.config import Settings

    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env().with_(port=port, host="127.0.0.1", log_level="warning")
    serve_api(settings, run_jobs=False, access_log=False)


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--latency-requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--database", help="measure an already seeded bench database (kept by --keep): no "
                                           "seeding, and it is kept afterwards")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=5, metavar=("PORT", "SECONDS", "JOB_ID", "PID", "QUERY"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        serve(args.serve)
        return 0
    if args.load:
        port, seconds, job_id, pid = int(args.load[0]), float(args.load[1]), int(args.load[2]), int(args.load[3])
        print(json.dumps(asyncio.run(load(port, seconds, args.concurrency, job_id, pid, args.load[4]))))
        return 0

    from backend.catalog import db as catalog_db

    db_name = args.database or f"mpr_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name
    keep = args.keep or bool(args.database)
    if not args.database:
        asyncio.run(catalog_db.create_postgres_database(PG_ADMIN_URL, db_name))
    proc = None
    try:
        if args.database:
            seeded = asyncio.run(seeded_counts(url))
            print(f"measuring the kept database {db_name}: {seeded['jobs']:,} jobs, {seeded['assets']:,} assets",
                  flush=True)
        else:
            print(f"seeding {args.jobs:,} jobs and {args.assets:,} assets into {db_name} …", flush=True)
            seeded = asyncio.run(seed(url, args.jobs, args.assets))
            print(f"  seeded in {seeded['seed_seconds']} s (COPY): {seeded['jobs']:,} jobs", flush=True)

        port = free_port()
        tmp = Path(tempfile.mkdtemp(prefix="mpr-bench-"))
        env = {**os.environ, "MPR_DATABASE_URL": url, "MPR_API_TOKEN": TOKEN, "MPR_ADMIN_PASSWORD": "bench-admin",
               "MPR_MEDIA_ROOT": str(tmp / "media"), "MPR_DATA_DIR": str(tmp / "data"), "MPR_LOG_LEVEL": "warning"}
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)
        wait_ready(port, proc)
        print(f"server (uvicorn, 1 worker, asyncpg pool) on 127.0.0.1:{port}", flush=True)

        lat = asyncio.run(latency(port, args.latency_requests, pid=proc.pid))
        print(f"jobs(first: 50) with source assets: p50 {lat['p50_ms']} ms, p90 {lat['p90_ms']} ms, "
              f"p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms over {lat['requests']} requests "
              f"(server CPU {lat['server_cpu_ms']} ms/request)", flush=True)

        found = asyncio.run(search_latency(port, max(args.latency_requests // 2, 100)))
        print(f"assets(first: 50, search: …) at {seeded['assets']:,} assets: p50 {found['p50_ms']} ms, "
              f"p90 {found['p90_ms']} ms, p99 {found['p99_ms']} ms over {found['requests']} requests "
              f"(terms {', '.join(found['terms'])})", flush=True)

        thr = {}
        for kind, text in (("small", "job(id) { id status progress } (one indexed row)"),
                           ("tiny", "systemStatus { executor workers storage database } (no database)")):
            out = subprocess.run([sys.executable, __file__, "--load", str(port), str(args.seconds),
                                  str(seeded["some_job"]), str(proc.pid), kind, "--concurrency", str(args.concurrency)],
                                 capture_output=True, text=True, timeout=args.seconds + 60, env=env)
            if out.returncode != 0:
                raise SystemExit(f"load generator failed: {out.stderr[-2000:]}")
            thr[kind] = r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{text}: {r['rps']} req/s ({r['requests']} requests in {r['seconds']} s, {r['concurrency']} "
                  f"connections, {r['errors']} errors) from a second process; server CPU {r['server_cpu_ms']} "
                  f"ms/request = {r['rps_per_server_core']} req/s per fully available core", flush=True)
        print(f"machine load average during the run: {os.getloadavg()} on {os.cpu_count()} cores; "
              f"reference loop: {reference_loop():.3f} s CPU (5M additions; ~0.25 s on an idle core)", flush=True)
        verdict = {"p50_ok": lat["p50_ms"] <= 15, "search_p50_ok": found["p50_ms"] <= 30,
                   "small_rps_ok": thr["small"]["rps"] >= 1500,
                   "tiny_rps_ok": thr["tiny"]["rps"] >= 800}
        print(json.dumps({"seed": seeded, "latency": lat, "search": found, "throughput": thr, "targets": verdict,
                          "loadavg": os.getloadavg()}), flush=True)
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not keep:
            asyncio.run(catalog_db.drop_postgres_database(PG_ADMIN_URL, db_name))
            print(f"dropped {db_name}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
