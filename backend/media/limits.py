"""Bounds on what one FFmpeg/ffprobe child may take, and on what a source may be: bounded ingest.

- `child_env()`: the environment a child gets — this process's, minus the server's secrets
  (API token, callback secret, admin password, database URL, cloud credentials…).
- `child_preexec(...)`: a preexec_fn that caps the child's address space (RLIMIT_AS) and, on
  Linux, kills it when this process dies. Probe/thumbnail children get `probe_memory_bytes`,
  encodes `encode_memory_bytes`; an FFmpeg that needs more fails with an allocation error
  instead of taking the machine's memory.
- `ingest_slot()`: at most `ingest_concurrency` probe + thumbnail runs at once per event loop.
- `source_problem(info)`: why a probed source is refused (too many pixels, too long), or None.
- `encode_timeout(duration)`: how long an encode of `duration` seconds may run at most.

The values are process-wide (`LIMITS`); the server sets them once from Settings with
`configure(...)` (MPR_MAX_PIXELS, MPR_MAX_DURATION, MPR_FFMPEG_MEMORY_MB, MPR_PROBE_MEMORY_MB,
MPR_PROBE_TIMEOUT, MPR_INGEST_CONCURRENCY); a Lambda or a script keeps the defaults.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import resource
import weakref
from dataclasses import dataclass, replace
from typing import Callable

from backend.lifeline import die_with

MIB = 1024 * 1024

# Names (upper case) never passed to a child: exact, or matched by _SECRET_PATTERN.
SECRET_NAMES = frozenset({
    "MPR_API_TOKEN", "MPR_CALLBACK_SECRET", "MPR_ADMIN_PASSWORD", "MPR_DATABASE_URL", "DATABASE_URL",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "PGPASSWORD", "REDIS_URL", "REFLEX_REDIS_URL",
})
_SECRET_PATTERN = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|API_KEY)")


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 35_000_000  # 8K UHD (7680×4320 = 33.2 MP) fits
    max_duration: float = 24 * 3600.0  # seconds
    probe_memory_bytes: int = 2048 * MIB  # address space of one ffprobe / thumbnail ffmpeg
    encode_memory_bytes: int = 8192 * MIB  # address space of one encode
    probe_timeout: float = 60.0  # seconds, each ffprobe and each thumbnail ffmpeg run
    ingest_concurrency: int = 2  # probe + thumbnail runs at once
    encode_timeout_min: float = 3600.0
    encode_timeout_per_second: float = 30.0  # × the expected output duration


LIMITS = Limits()


def configure(**changes) -> Limits:
    """Replace some of the process-wide limits (None values are ignored); returns the new ones."""
    global LIMITS
    LIMITS = replace(LIMITS, **{k: v for k, v in changes.items() if v is not None})
    _slots.clear()
    return LIMITS


def configure_from(settings) -> Limits:
    """The limits a Settings asks for (MPR_MAX_PIXELS, MPR_MAX_DURATION, MPR_*_MEMORY_MB, …)."""
    return configure(
        max_pixels=settings.max_pixels, max_duration=float(settings.max_duration),
        probe_memory_bytes=settings.probe_memory_mb * MIB, encode_memory_bytes=settings.ffmpeg_memory_mb * MIB,
        probe_timeout=float(settings.probe_timeout), ingest_concurrency=settings.ingest_concurrency,
    )


@functools.lru_cache(maxsize=4096)  # a pure function of the name: child_env runs for every child
def is_secret(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_NAMES or bool(_SECRET_PATTERN.search(upper))


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without the server's secrets."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not is_secret(k)}


def child_preexec(parent_pid: int | None, memory_bytes: int | None, *,
                  own_group: bool = False) -> Callable[[], None] | None:
    """A preexec_fn: cap the child's address space at `memory_bytes` (None: no cap) and, with a
    `parent_pid`, SIGKILL the child when that process dies (`lifeline.die_with`, which also puts
    it in a process group of its own when `own_group`)."""
    if parent_pid is not None:
        bind = die_with(parent_pid, own_group=own_group)
    else:
        bind = os.setpgrp if own_group else None
    if bind is None and not memory_bytes:
        return None

    def hook() -> None:
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        if bind is not None:
            bind()

    return hook


def probe_spawn_options() -> dict:
    """Keyword arguments for subprocess/asyncio spawns of ffprobe and thumbnail ffmpeg runs."""
    return {"env": child_env(), "preexec_fn": child_preexec(None, LIMITS.probe_memory_bytes)}


def thumbnail_run_options() -> dict:
    """Keyword arguments for `runner.run_ffmpeg` when it makes a picture (poster, filmstrip)."""
    return {"timeout": LIMITS.probe_timeout, "memory_bytes": LIMITS.probe_memory_bytes}


def encode_timeout(duration: float) -> float:
    return max(LIMITS.encode_timeout_min, LIMITS.encode_timeout_per_second * max(duration, 0.0))


def source_problem(info) -> str | None:
    """Why a probed MediaInfo is refused as a source (None when within the limits)."""
    video = getattr(info, "video", None)
    if video is not None and video.width * video.height > LIMITS.max_pixels:
        mp = video.width * video.height / 1e6
        return (f"picture too large: {video.width}×{video.height} ({mp:.1f} MP); the limit is "
                f"{LIMITS.max_pixels / 1e6:.1f} MP (MPR_MAX_PIXELS)")
    if info.duration and info.duration > LIMITS.max_duration:
        return (f"too long: {info.duration:.0f} s; the limit is {LIMITS.max_duration:.0f} s "
                "(MPR_MAX_DURATION)")
    return None


_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def ingest_slot():
    """Hold one of `ingest_concurrency` probe/thumbnail slots of the running event loop."""
    loop = asyncio.get_running_loop()
    sem = _slots.get(loop)
    if sem is None:
        sem = _slots[loop] = asyncio.Semaphore(max(1, LIMITS.ingest_concurrency))
    async with sem:
        yield
