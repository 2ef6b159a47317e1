"""Which FFmpeg processes are alive, for tests that prove a cancel or a failure stopped them all.

`ffmpeg_children(marker)` lists this process's live descendants that run ffmpeg with `marker`
(a job's work folder, a temp folder, a file name) somewhere in their command line, so FFmpegs
of other tests (thumbnails, a neighbour's job) are never counted. Reaped or zombie processes
are not alive.
"""
from __future__ import annotations

import asyncio

import psutil


def ffmpeg_children(marker: str = "") -> list[psutil.Process]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            argv = proc.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if argv and "ffmpeg" in argv[0].rsplit("/", 1)[-1] and marker in " ".join(argv):
            found.append(proc)
    return found


def describe(procs: list[psutil.Process]) -> list[str]:
    out = []
    for proc in procs:
        try:
            out.append(f"{proc.pid}: {' '.join(proc.cmdline())[-160:]}")
        except psutil.NoSuchProcess:
            pass
    return out


def kill_all(procs: list[psutil.Process]) -> None:
    """Clean up after a failed assertion, so one broken test does not leave FFmpeg running."""
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=5)


def chunk_tasks() -> list[asyncio.Task]:
    """run_chunked's per-chunk tasks (named mpr-chunk-N / mpr-chunk-audio) still alive in this loop."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("mpr-chunk") and not t.done()]


async def wait_gone(marker: str, timeout: float = 30.0) -> list[psutil.Process]:
    """Wait until no FFmpeg with `marker` is alive (or `timeout` passes); what is still alive."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (alive := ffmpeg_children(marker)) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    return alive
