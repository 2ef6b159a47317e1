"""GET /readyz: readiness — may this process take traffic? (/healthz stays the liveness probe.)

Four checks run concurrently, each under a short timeout so a hung dependency answers 503
quickly instead of hanging the probe:
  database  a trivial query (`SELECT 1`) through the app's engine/pool
  storage   write and delete a small probe object in every storage area (hidden key, never scanned)
  ffmpeg    `ffmpeg -version` runs (a success is cached for FFMPEG_CACHE_SECONDS)
  executor  the job runtime's loops are alive (ok when this process runs no executor)
All pass: 200 {"status": "ready", "checks": {...}}. Any fails: 503 {"status": "not ready",
"reasons": ["database: ...", ...], "checks": {...}}. Nothing is restarted or retried here.
"""
from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable

from litestar import Request, Response, get

from backend.catalog.tables import TranscodeJob
from backend.media.binaries import ffmpeg_path
from backend.media import limits

DB_TIMEOUT = 2.0
STORAGE_TIMEOUT = 5.0
FFMPEG_TIMEOUT = 10.0
FFMPEG_CACHE_SECONDS = 300.0
PROBE_PREFIX = ".mpr-ready"  # a hidden folder: scans skip it (backend.catalog.ingest.skip_reason)

_ffmpeg_cache: dict[str, tuple[float, str]] = {}  # binary path -> (valid until, version line)


@dataclass
class CheckResult:
    ok: bool
    detail: str
    ms: float

    def to_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def run_check(func: Callable[[], Awaitable[str]], timeout: float) -> CheckResult:
    """Run one check under `timeout`; any exception (or the timeout) is a failure with its reason."""
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(func(), timeout)
        return CheckResult(True, detail, (time.perf_counter() - start) * 1000)
    except Exception as exc:  # a failing dependency is the answer, not an error of the probe
        return CheckResult(False, _reason(exc), (time.perf_counter() - start) * 1000)


async def check_database() -> str:
    await TranscodeJob.raw("SELECT 1")
    return "SELECT 1 answered"


def _probe_key() -> str:
    return f"{PROBE_PREFIX}/{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


async def _one_chunk(data: bytes):
    yield data


async def check_storage(storages) -> str:
    """Write then delete a probe object in each distinct storage area."""
    areas = []
    for storage in (storages.input, storages.output, storages.thumbs):
        if storage is None or any(storage is seen for seen in areas):
            continue
        areas.append(storage)

    async def probe(storage) -> None:
        key = _probe_key()
        try:
            await storage.write_stream(key, _one_chunk(b"mpr readiness probe\n"), 1024)
        finally:
            await storage.delete(key)

    await asyncio.gather(*(probe(s) for s in areas))
    return "write+delete ok in " + ", ".join(s.area for s in areas)


async def check_ffmpeg() -> str:
    path = ffmpeg_path()
    cached = _ffmpeg_cache.get(path)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    proc = await asyncio.create_subprocess_exec(
        path, "-hide_banner", "-version", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, **limits.probe_spawn_options(),
    )
    try:
        out, _ = await proc.communicate()
    except asyncio.CancelledError:  # our timeout: do not leave the process behind
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg -version exited with {proc.returncode}")
    lines = out.decode(errors="replace").splitlines()
    version = lines[0].strip() if lines else "ffmpeg ran"
    _ffmpeg_cache[path] = (time.monotonic() + FFMPEG_CACHE_SECONDS, version)
    return version


async def check_executor(runtime) -> str:
    if runtime is None:
        return "no executor in this process"
    if not runtime.alive:
        raise RuntimeError(f"{runtime.settings.executor} executor loops are not running")
    return f"{runtime.settings.executor} executor running"


async def readiness(state) -> tuple[bool, dict]:
    """(ready, body) for an app's state (settings, storages, runtime)."""
    names = ("database", "storage", "ffmpeg", "executor")
    results = await asyncio.gather(
        run_check(check_database, DB_TIMEOUT),
        run_check(lambda: check_storage(state.storages), STORAGE_TIMEOUT),
        run_check(check_ffmpeg, FFMPEG_TIMEOUT),
        run_check(lambda: check_executor(state.runtime), 1.0),
    )
    checks = dict(zip(names, results))
    reasons = [f"{name}: {r.detail}" for name, r in checks.items() if not r.ok]
    body: dict = {"status": "not ready" if reasons else "ready",
                  "checks": {name: r.to_dict() for name, r in checks.items()}}
    if reasons:
        body["reasons"] = reasons
    return not reasons, body


@get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    ready, body = await readiness(request.app.state)
    return Response(body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})
