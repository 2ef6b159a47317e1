"""What every executor offers the runtime, and the start/stop of their background loops."""
from __future__ import annotations

import asyncio
import time
from typing import Coroutine, Protocol

from backend.jobs import shutdown


class Executor(Protocol):
    name: str

    async def start(self) -> None:
        """Begin taking queued jobs (background tasks)."""

    async def stop(self, grace: float = 0.0) -> None:
        """Stop taking jobs; running attempts get up to `grace` s to finish (cut short by
        `shutdown.hurry()`); interrupted ones are re-queued, never left `running`."""

    def notify(self) -> None:
        """A job may be waiting: look now instead of at the next poll."""

    @property
    def alive(self) -> bool:
        """Whether its loops are running (for /readyz and systemStatus)."""


class BackgroundLoops:
    """An executor's long-running loops (claim, events, watchdog…): started together, alive while
    all run, cancelled together. The loops themselves check `_stopping` between rounds."""

    name: str
    _tasks: list[asyncio.Task]
    _stopping: bool = False

    @property
    def alive(self) -> bool:
        return bool(getattr(self, "_tasks", None)) and all(not t.done() for t in self._tasks)

    def _start_loops(self, **loops: Coroutine) -> None:
        self._stopping = False
        self._tasks = [asyncio.create_task(coro, name=f"mpr-{self.name}-{label}") for label, coro in loops.items()]

    async def _let_finish(self, tasks: list[asyncio.Task], grace: float) -> None:
        """Wait up to `grace` s for `tasks` (running attempts) to end by themselves; return early
        when they are done or when a second stop signal asks to hurry."""
        deadline = time.monotonic() + max(0.0, grace)
        pending = {t for t in tasks if not t.done()}
        while pending and not shutdown.hurried():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            _, pending = await asyncio.wait(pending, timeout=min(left, 0.2))

    async def _stop_loops(self, *also: asyncio.Task) -> None:
        """Cancel the loops (the caller has cancelled `also`, e.g. running attempts) and wait for all."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*also, *self._tasks, return_exceptions=True)
        self._tasks = []
