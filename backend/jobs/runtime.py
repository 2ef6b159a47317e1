"""`JobRuntime`: opens the storages and runs the configured executor inside a process (`mpr up`, `mpr worker`).

Stopping it is the graceful stop of `backend.jobs.shutdown`: no new claims, running jobs get
MPR_SHUTDOWN_GRACE seconds, the rest go back to the queue without spending an attempt.
"""
from __future__ import annotations

import logging

from backend.config import Settings
from backend.jobs import shutdown
from backend.storage import Storages, open_storages

log = logging.getLogger("mpr.jobs.runtime")


def make_executor(settings: Settings, storages: Storages):
    if settings.executor == "local":
        from backend.jobs.executors.local import LocalExecutor

        return LocalExecutor(settings, storages)
    if settings.executor == "aws":
        from backend.jobs.executors.aws import AwsExecutor

        return AwsExecutor(settings, storages)
    raise ValueError(f"MPR_EXECUTOR must be local or aws, got {settings.executor!r}")


class JobRuntime:
    def __init__(self, settings: Settings, storages: Storages | None = None):
        self.settings = settings
        self.storages = storages or open_storages(settings)
        self.executor = make_executor(settings, self.storages)

    @property
    def alive(self) -> bool:
        return self.executor.alive

    async def start(self) -> None:
        shutdown.reset()
        await self.executor.start()

    async def stop(self, grace: float | None = None) -> None:
        """Stop the executor; running jobs get `grace` s (default MPR_SHUTDOWN_GRACE) to finish.

        The executor stops claiming by itself; the process-wide `shutdown` flags are the signal
        handlers' to set (a stopped runtime must not stop executors started later in the process).
        """
        await self.executor.stop(self.settings.shutdown_grace if grace is None else grace)
