"""The local executor's `backend.pipeline.Reporter`: progress goes to the job row (at most what
the runner reports, capped at 99 % until the verified "succeeded"), and a progress write that
finds the attempt no longer running (cancelled, recovered elsewhere) makes `should_stop` answer.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from backend.jobs import lifecycle

log = logging.getLogger("mpr.jobs.local")
PROGRESS_CAP_BEFORE_VERIFY = 99.0
NOT_WANTED = "the attempt is no longer running (cancelled or recovered elsewhere)"


class CatalogReporter:
    def __init__(self, job_id: int, attempt: int, on_alive: Callable[[], None] | None = None):
        self.job_id = job_id
        self.attempt = attempt
        self.on_alive = on_alive  # the watchdog's "it advanced" (stall detection)
        self.stop_reason: str | None = None
        self._fraction = -1.0

    async def progress(self, fraction: float, fps: float | None = None, speed: float | None = None,
                       eta: float | None = None) -> None:
        if fraction > self._fraction + 1e-9:
            self._fraction = fraction
            self.heartbeat()
        try:
            wanted = await lifecycle.report_progress(
                self.job_id, self.attempt, progress=round(min(fraction * 100.0, PROGRESS_CAP_BEFORE_VERIFY), 2),
                fps=fps, speed=speed, eta_seconds=eta,
            )
        except Exception:  # noqa: BLE001 - the database is away: keep encoding, report later
            log.warning("job %s: progress not stored", self.job_id, exc_info=True, extra={"job_id": self.job_id})
            return
        if not wanted:
            self.stop_reason = NOT_WANTED

    def should_stop(self) -> str | None:
        return self.stop_reason

    def heartbeat(self) -> None:
        if self.on_alive is not None:
            self.on_alive()
