"""What every executor offers the runtime, and the start/stop of their background loops."""
from __future__ import annotations

import asyncio
from typing import Coroutine, Protocol


class Executor(Protocol):
    name: str

    async def start(self) -> None:
        """Begin taking queued jobs (background tasks)."""

    async def stop(self) -> None:
        """Stop taking jobs; interrupted attempts are re-queued, never left `running`."""

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

    async def _stop_loops(self, *also: asyncio.Task) -> None:
        """Cancel the loops (the caller has cancelled `also`, e.g. running attempts) and wait for all."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*also, *self._tasks, return_exceptions=True)
        self._tasks = []
