"""`mpr up` for fault tests: the topology `make run` runs (mpr up → Reflex/granian supervisor →
granian worker with the Litestar app and the executor → FFmpeg), on a free port with its own
database, media root and Reflex web/states folders (so it never rebuilds the checkout's .web).

A start builds the Reflex UI (about 15 s here, more on a busy machine): tests share one
installation across their steps and start it again only where a restart is the point.
"""
from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import psutil

from mpr_app import MprApp, new_database

UP_START_TIMEOUT = 360.0


class UpApp(MprApp):
    command = "up"

    def __init__(self, root: Path, database_url: str, **kwargs):
        env = {"MPR_DEMO": "0", "REFLEX_WEB_WORKDIR": str(root / "web"),
               "REFLEX_STATES_WORKDIR": str(root / "states"), **kwargs.pop("env", {})}
        super().__init__(root, database_url, **kwargs, **env)

    def start(self, timeout: float = UP_START_TIMEOUT) -> None:
        super().start(timeout)

    def tree(self) -> list[psutil.Process]:
        """`mpr up` and every process below it (supervisor, worker, FFmpeg)."""
        if not self.alive:
            return []
        top = psutil.Process(self.proc.pid)
        return [top, *top.children(recursive=True)]

    def server(self) -> psutil.Process:
        """The Reflex/granian supervisor: the process `mpr up` started."""
        kids = psutil.Process(self.proc.pid).children()
        assert len(kids) == 1, kids
        return kids[0]

    def worker(self) -> psutil.Process:
        """The granian worker that runs the Litestar app and the executor (FFmpeg's parent)."""
        kids = self.server().children()
        assert len(kids) == 1, kids
        return kids[0]


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running; a zombie (killed, not reaped yet) counts as gone."""
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.NoSuchProcess:
            pass
    return left


def listeners(port: int) -> list[int]:
    return [c.pid or -1 for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port]


def wait_all_gone(procs: list[psutil.Process], port: int, within: float) -> None:
    """Poll until no process of `procs` runs and nothing listens on `port`; fail after `within` s."""
    deadline = time.monotonic() + within
    while True:
        left, listening = alive(procs), listeners(port)
        if not left and not listening:
            return
        assert time.monotonic() < deadline, (
            f"still there {within} s later: {[(p.pid, p.name()) for p in left]}, listening on {port}: {listening}")
        time.sleep(0.1)


async def wait_encoding(app: MprApp, job_id: str, timeout: float = 90.0) -> dict:
    """The job once FFmpeg has made progress on it (a kill now interrupts a real encode)."""
    deadline = time.monotonic() + timeout
    while True:
        job = await app.job(job_id)
        if job["status"] == "RUNNING" and job["progress"] > 0:
            return job
        assert job["status"] in ("QUEUED", "RUNNING") and time.monotonic() < deadline, (job, app.log())
        await asyncio.sleep(0.1)


async def start_up(tmp: Path, kind: str, clips: dict[str, Path], **kwargs) -> UpApp:
    url = await new_database(kind, tmp)
    app = UpApp(tmp, url, **kwargs)
    for name, path in clips.items():
        shutil.copyfile(path, app.layout.in_root / name)
    app.start()
    return app
