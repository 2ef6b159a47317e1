"""In-process publish/subscribe of job changes (progress and transitions).

The GraphQL subscription and the executors listen here; subscribers in another process poll the
database instead. Publishing never blocks: a slow subscriber loses its oldest events, not the job.
"""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import AsyncIterator


@dataclass(frozen=True)
class JobEvent:
    job_id: int
    status: str
    progress: float = 0.0
    fps: float | None = None
    speed: float | None = None
    eta_seconds: float | None = None
    attempt: int = 1
    error: str = ""
    executor: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class JobEventBus:
    def __init__(self, queue_size: int = 256):
        self._queue_size = queue_size
        self._subscribers: set[tuple[int | None, asyncio.Queue]] = set()

    def publish(self, event: JobEvent) -> None:
        for job_id, queue in list(self._subscribers):
            if job_id is not None and job_id != event.job_id:
                continue
            if queue.full():
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            queue.put_nowait(event)

    async def subscribe(self, job_id: int | None = None) -> AsyncIterator[JobEvent]:
        queue: asyncio.Queue = asyncio.Queue(self._queue_size)
        entry = (job_id, queue)
        self._subscribers.add(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(entry)

    def listen(self, job_id: int | None = None) -> "Listener":
        """A context-managed queue, for consumers that also wait on other things."""
        return Listener(self, job_id)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


class Listener:
    def __init__(self, bus: JobEventBus, job_id: int | None):
        self._bus = bus
        self.queue: asyncio.Queue = asyncio.Queue(bus._queue_size)
        self._entry = (job_id, self.queue)

    def __enter__(self) -> asyncio.Queue:
        self._bus._subscribers.add(self._entry)
        return self.queue

    def __exit__(self, *exc) -> None:
        self._bus._subscribers.discard(self._entry)


BUS = JobEventBus()
