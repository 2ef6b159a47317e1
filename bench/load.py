"""Load test: N concurrent GraphQL clients for S seconds against a running MPR app on loopback.

Each client holds one keep-alive connection and sends, in turn, what the UI asks most: the job
queue page (jobs with their source assets), the library page (assets), the presets and the
status counts. Reports requests/s, latency p50/p90/p99/max and every error (non-200 answer or
a GraphQL `errors` field). Without --url it starts `mpr api` itself on a fresh database (a
throwaway PostgreSQL database when one answers, else SQLite) seeded with 500 jobs.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 30] [--url http://127.0.0.1:8000 --token T]

The last line printed is the result as JSON (bench/run_all.py reads it).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("MPR_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TOKEN = "load-token"

QUERIES = (
    ("jobs page", """{ jobs(first: 20) { totalCount pageInfo { hasNextPage endCursor }
        nodes { id status progress attempt outputFilename createdAt source { id filename duration posterUrl } } } }"""),
    ("assets page", "{ assets(first: 20) { nodes { id filename status duration width height tags posterUrl } } }"),
    ("presets", "{ presets { id name kind summary builtin } }"),
    ("status counts", "{ systemStatus { executor workers jobCounts { status count } } }"),
)


class Client:
    """One HTTP/1.1 keep-alive connection posting JSON (small and cheap, so the server is what is measured)."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
             f"Authorization: Bearer {self.token}\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:] if ln)}
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return 0.0
    return round(sorted_ms[min(len(sorted_ms) - 1, max(0, int(round(p / 100 * len(sorted_ms))) - 1))], 2)


async def run_load(url: str, token: str, *, clients: int = 50, seconds: float = 30.0) -> dict:
    """`clients` connections hammering `url`/graphql for `seconds`; latency percentiles and errors."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    payloads = [(name, json.dumps({"query": q}).encode()) for name, q in QUERIES]
    samples: list[float] = []
    per_query: dict[str, list[float]] = {name: [] for name, _ in QUERIES}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        conn = Client(host, port, token)
        i = n
        try:
            while time.perf_counter() < deadline:
                name, payload = payloads[i % len(payloads)]
                i += 1
                t0 = time.perf_counter()
                try:
                    status, body = await conn.post("/graphql", payload)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    conn.close()
                    continue
                ms = (time.perf_counter() - t0) * 1000
                if status != 200 or b'"errors"' in body:
                    errors.append(f"{name}: HTTP {status} {body[:200]!r}")
                    continue
                samples.append(ms)
                per_query[name].append(ms)
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - t0
    samples.sort()
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(samples), "errors": len(errors),
        "first_errors": errors[:5], "rps": round(len(samples) / elapsed, 1),
        "p50_ms": percentile(samples, 50), "p90_ms": percentile(samples, 90), "p99_ms": percentile(samples, 99),
        "max_ms": round(samples[-1], 1) if samples else 0.0,
        "p50_by_query_ms": {k: round(statistics.median(v), 1) for k, v in per_query.items() if v},
    }


def summary(r: dict) -> str:
    return (f"{r['clients']} clients x {r['seconds']} s: {r['requests']} requests = {r['rps']} req/s, "
            f"{r['errors']} errors; latency p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, p99 {r['p99_ms']} ms, "
            f"max {r['max_ms']} ms")


# ------------------------------------------------------------------ a throwaway app to load
async def _database() -> tuple[str, str | None]:
    """(url, postgres database name or None)."""
    sys.path.insert(0, str(ROOT))
    from backend.catalog import db as catalog_db

    name = f"mpr_load_{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.wait_for(catalog_db.create_postgres_database(PG_ADMIN_URL, name), 5)
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL: SQLite is a fine target too
        print(f"PostgreSQL not reachable ({type(exc).__name__}); using SQLite", flush=True)
        return f"sqlite:///{tempfile.mkdtemp(prefix='mpr-load-')}/mpr.sqlite", None
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, name


async def _seed(url: str, jobs: int) -> None:
    """Registered presets, one asset and `jobs` finished jobs (nothing for the executor to run)."""
    from backend.catalog.db import bind_engine
    from backend.catalog.engine import engine_from_url
    from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob, TranscodePreset

    bind_engine(engine_from_url(url))
    preset = await TranscodePreset.select(TranscodePreset.id).first()
    asset = MediaAsset(filename="load.mp4", storage_key="load.mp4", status="ready", duration=10.0, width=1280,
                       height=720, video_codec="h264", audio_codec="aac", container="mov,mp4,m4a,3gp,3g2,mj2")
    await asset.save()
    statuses = ("succeeded", "failed", "cancelled")
    rows = [TranscodeJob(source=asset.id, preset=preset["id"], status=statuses[i % 3], output_key=f"load-{i}.mp4",
                         output_filename=f"load-{i}.mp4", executor="local", progress=100.0) for i in range(jobs)]
    ids = [r["id"] for r in await TranscodeJob.insert(*rows).returning(TranscodeJob.id)]
    await JobTransition.insert(*[JobTransition(job=i, to_status="queued", reason="created") for i in ids])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(url: str, port: int, root: Path) -> subprocess.Popen:
    import http.client

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MPR_")}, "MPR_DATABASE_URL": url,
           "MPR_MEDIA_ROOT": str(root / "media"), "MPR_DATA_DIR": str(root / "data"), "MPR_API_TOKEN": TOKEN,
           "MPR_ADMIN_PASSWORD": "load-admin", "MPR_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    asyncio.run(_seed(url, 500))
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "api", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(root / "app.log", "wb"))  # noqa: SIM115
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mpr api exited with {proc.returncode}: {(root / 'app.log').read_text()[-2000:]}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("mpr api did not answer within 60 s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--url", help="an app already running (then --token too)")
    ap.add_argument("--token", default=TOKEN)
    args = ap.parse_args()

    proc, pg_name = None, None
    try:
        url = args.url
        if url is None:
            db_url, pg_name = asyncio.run(_database())
            port = _free_port()
            proc = start_app(db_url, port, Path(tempfile.mkdtemp(prefix="mpr-load-")))
            url = f"http://127.0.0.1:{port}"
            print(f"mpr api (local executor, {'PostgreSQL' if pg_name else 'SQLite'}, 500 jobs) on {url}", flush=True)
        result = asyncio.run(run_load(url, args.token, clients=args.clients, seconds=args.seconds))
        result["server_alive"] = proc is None or proc.poll() is None
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if pg_name:
            from backend.catalog import db as catalog_db

            asyncio.run(catalog_db.drop_postgres_database(PG_ADMIN_URL, pg_name))
    print(summary(result))
    for error in result["first_errors"]:
        print(f"  error: {error}")
    print(json.dumps(result), flush=True)
    return 0 if result["errors"] == 0 and result["server_alive"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
