"""A real MPR app process for fault and hostile-input tests: `python -m backend.cli api` on a free
loopback port with its own database and media root, plus a small GraphQL client for it.

The app runs the local executor in-process (as `mpr api` does), so jobs created over GraphQL run
FFmpeg as its children. Tests can kill it with -9, restart it on the same database, and look at
the database from the test process (`bind(url)`).
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil

from backend.catalog import db as catalog_db
from backend.catalog.engine import engine_from_url, postgres_config

from app_process import AppProcess

TOKEN = "fault-token"
SECRET = "fault-callback-secret"
PG_ADMIN_URL = os.environ.get("MPR_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


async def new_database(kind: str, folder: Path) -> str:
    """A fresh, empty database URL: a SQLite file in `folder`, or a new PostgreSQL database."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'mpr.sqlite'}"
    name = f"mpr_fault_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await catalog_db.create_postgres_database(PG_ADMIN_URL, name)
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_database(url: str) -> None:
    if url.startswith("postgres"):
        await catalog_db.drop_postgres_database(PG_ADMIN_URL, url.rsplit("/", 1)[1])


async def terminate_backends(dbname: str) -> int:
    """pg_terminate_backend every connection to `dbname` (from an admin connection); how many went."""
    cfg = postgres_config(PG_ADMIN_URL)
    conn = await asyncpg.connect(**cfg)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            dbname,
        )
        return sum(1 for r in rows if r["ok"])
    finally:
        await conn.close()


def bind(url: str) -> None:
    """Point this (test) process's tables at `url`, to look at what the app wrote."""
    catalog_db.bind_engine(engine_from_url(url))


class MprApp(AppProcess):
    """One MPR installation (database + media root); `start()` may be called again after a kill."""

    def __init__(self, root: Path, database_url: str, *, workers: int = 2, stall_seconds: int = 20, **env: str):
        super().__init__(root, database_url, token=TOKEN, callback_secret=SECRET,
                         admin_password="fault-admin-password", workers=workers,
                         MPR_STALL_SECONDS=str(stall_seconds), **env)

    def ffmpeg_children(self) -> list[psutil.Process]:
        if not self.alive:
            return []
        kids = psutil.Process(self.proc.pid).children(recursive=True)
        return [k for k in kids if "ffmpeg" in k.name()]

    def kill9(self) -> None:
        """SIGKILL the app process only (its FFmpeg children are not signalled)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    # ------------------------------------------------------------------ GraphQL
    async def gql_raw(self, query: str, variables: dict | None = None, *, timeout: float = 30.0) -> httpx.Response:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await client.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                                     headers={"Authorization": f"Bearer {TOKEN}"})

    async def gql(self, query: str, variables: dict | None = None) -> dict:
        resp = await self.gql_raw(query, variables)
        assert resp.status_code == 200, resp.text[:2000]
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def gql_error(self, query: str, variables: dict | None = None) -> dict:
        resp = await self.gql_raw(query, variables)
        assert resp.status_code in (200, 400), resp.text[:2000]
        body = resp.json()
        assert body.get("errors"), body
        assert "Traceback" not in resp.text
        return body["errors"][0]

    async def preset_ids(self) -> dict[str, str]:
        return {p["name"]: p["id"] for p in (await self.gql("{ presets { id name } }"))["presets"]}

    async def scan(self) -> dict[str, dict]:
        data = await self.gql("mutation { scanMediaFolder { assets { id storageKey status errorMessage } } }")
        return {a["storageKey"]: a for a in data["scanMediaFolder"]["assets"]}

    async def create_job(self, source_id: str, preset_id: str, **extra) -> dict:
        q = "mutation($input: CreateJobInput!) { createJob(input: $input) { id status attempt } }"
        return (await self.gql(q, {"input": {"sourceId": source_id, "presetId": preset_id, **extra}}))["createJob"]

    async def job(self, job_id: str) -> dict:
        q = """query($id: ID!) { job(id: $id) { id status progress attempt error logTail
               history { fromStatus toStatus attempt reason at }
               outputAsset { id width height duration videoCodec audioCodec pixFmt rotation storageKey } } }"""
        return (await self.gql(q, {"id": job_id}))["job"]

    async def wait_job(self, job_id: str, statuses=("SUCCEEDED", "FAILED", "CANCELLED"), timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        job = None
        while time.monotonic() < deadline:
            job = await self.job(job_id)
            if job["status"] in statuses:
                return job
            await asyncio.sleep(0.2)
        raise AssertionError(f"job {job_id} still {job and job['status']} after {timeout} s:\n{self.log()}")


async def start_app(tmp: Path, kind: str, clips: dict[str, Path] | None = None, **kwargs) -> MprApp:
    url = await new_database(kind, tmp)
    app = MprApp(tmp, url, **kwargs)
    app.migrate()
    for name, path in (clips or {}).items():
        shutil.copyfile(path, app.layout.in_root / name)
    app.start()
    return app


async def finish_app(app: MprApp) -> None:
    app.stop()
    await drop_database(app.database_url)


def running_periods(history: list[dict]) -> list[tuple]:
    """(start, end) times of each 'running' stretch in a job's history rows (end None = still running)."""
    periods, start = [], None
    for t in history:
        if t["to_status"] == "running":
            assert start is None, f"entered running twice without leaving: {history}"
            start = t["at"]
        elif start is not None:
            periods.append((start, t["at"]))
            start = None
    if start is not None:
        periods.append((start, None))
    return periods
