"""One FFmpeg run within a time budget, stopped as soon as a `should_stop()` poll says so.

Written once for every runner: `run_guarded` raises `BudgetExceeded` when the budget ran out
(FFmpeg is stopped and the partial output removed), `StopRequested` when `should_stop()` gave a
reason, and FFmpegError from `backend.media.runner` when FFmpeg failed. `cancel_and_wait`
cancels tasks and waits until every one has finished, even when cancelled again meanwhile, so
no FFmpeg or chunk task outlives its caller.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from backend.media.runner import ProgressCallback, run_ffmpeg

STOP_POLL_SECONDS = 0.2


class BudgetExceeded(Exception):
    """FFmpeg did not finish within the seconds it was given."""

    def __init__(self, budget: float):
        super().__init__(f"FFmpeg did not finish within {budget:.0f} s")
        self.budget = budget


class StopRequested(Exception):
    """The reporter said this attempt is no longer wanted; str(e) is why."""


async def cancel_and_wait(tasks: Iterable[asyncio.Future]) -> None:
    """Cancel `tasks` and wait for all of them to end. A cancel of the caller while waiting is
    passed on to the tasks and re-raised only once every task is done."""
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    for task in pending:
        task.cancel()
    interrupted = False
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            interrupted = True
            for task in pending:
                task.cancel()
    for task in tasks:  # their failures are the caller's to report, not the event loop's to log
        if not task.cancelled():
            task.exception()
    if interrupted:
        raise asyncio.CancelledError()


async def run_guarded(
    argv: Sequence[str],
    *,
    duration: float,
    output: Path | str | None,
    on_progress: ProgressCallback | None = None,
    budget: float | None = None,
    should_stop: Callable[[], str | None] | None = None,
) -> str:
    """`run_ffmpeg` bounded by `budget` seconds (None: no bound), stopped when `should_stop()`
    returns a reason. Returns FFmpeg's stderr tail."""
    task = asyncio.ensure_future(run_ffmpeg(argv, duration=duration, output=output, on_progress=on_progress))
    reason: list[str] = []

    async def watch() -> None:
        while not task.done():
            why = should_stop() if should_stop is not None else None
            if why:
                reason.append(why)
                task.cancel()
                return
            await asyncio.sleep(STOP_POLL_SECONDS)

    watcher = asyncio.ensure_future(watch())
    try:
        done, _ = await asyncio.wait({task}, timeout=budget)
    except asyncio.CancelledError:
        await cancel_and_wait([task, watcher])
        raise
    await cancel_and_wait([watcher])
    if not done:
        await cancel_and_wait([task])
        raise BudgetExceeded(budget or 0.0)
    if task.cancelled():
        if reason:
            raise StopRequested(reason[0])
        raise asyncio.CancelledError()
    return task.result()
