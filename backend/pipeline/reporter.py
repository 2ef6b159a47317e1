"""The `Reporter` protocol: how a runner says how far it got and learns that it should stop.

- `progress(fraction, fps, speed, eta)`: 0..1 of the job done (the runner never reports 1.0:
  the adapter's verified "succeeded" says that), encoder fps and speed (x realtime) when known.
  May return an awaitable (the local one writes to the database); runners await it.
- `should_stop()`: None to go on, else why this attempt is no longer wanted (cancelled,
  superseded). Cheap: polled every 0.2 s while FFmpeg runs (`guard.run_guarded`).
- `heartbeat()`: "still alive" during phases without progress (downloads, verification).

Implementations: `backend.jobs.reporting.CatalogReporter` (this machine: writes the job row) and
`lambda/handler.py`'s `Reporter` (posts signed callbacks).
"""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from backend.media.runner import Progress


@runtime_checkable
class Reporter(Protocol):
    def progress(self, fraction: float, fps: float | None = None, speed: float | None = None,
                 eta: float | None = None) -> "Awaitable[None] | None": ...

    def should_stop(self) -> str | None: ...

    def heartbeat(self) -> "Awaitable[None] | None": ...


class NullReporter:
    """Reports nowhere and never stops (benchmarks, tools)."""

    def progress(self, fraction: float, fps: float | None = None, speed: float | None = None,
                 eta: float | None = None) -> None:
        return None

    def should_stop(self) -> str | None:
        return None

    def heartbeat(self) -> None:
        return None


async def call(result) -> None:
    """Await a reporter method's result when it is awaitable."""
    if inspect.isawaitable(result):
        await result


def progress_sink(reporter: Reporter, *, start: float = 0.0, share: float = 1.0) -> Callable[[Progress], Awaitable[None]]:
    """An FFmpeg on_progress callback feeding `reporter`: a run's 0..100 % maps onto
    [start, start + share] of the job. The final 100 % event is not passed on (what follows,
    verification, is still part of the job)."""

    async def sink(p: Progress) -> None:
        if p.percent >= 100.0:
            return
        fraction = start + share * max(0.0, p.percent) / 100.0
        await call(reporter.progress(fraction, p.fps, p.speed, p.eta))

    return sink


class Share:
    """A Reporter for one stage of a job that maps its 0..1 onto [start, start + share] of the job
    (a ladder's file outputs; a sequence rendered before its template runs)."""

    def __init__(self, parent: Reporter, start: float, share: float):
        self.parent, self.start, self.share = parent, start, share

    def progress(self, fraction, fps=None, speed=None, eta=None):
        return self.parent.progress(self.start + self.share * fraction, fps, speed, None)

    def should_stop(self):
        return self.parent.should_stop()

    def heartbeat(self):
        return self.parent.heartbeat()
