"""What every executor offers the runtime."""
from __future__ import annotations

from typing import Protocol


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
