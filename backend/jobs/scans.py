"""Folder scans as background work with live progress (the `startMediaScan` mutation and the
`mediaScan` query): a scan of hundreds of new files probes each one and takes minutes, so no
caller waits on it in one request.

`start` runs `backend.jobs.intake.scan_and_apply` in a task of this process and returns its
`ScanRun` at once; the run counts files as `backend.catalog.ingest.scan` reports them ("n of N
probed") and keeps each file's error. One scan runs at a time: starting another while one runs
returns the running one. Finished runs are kept (the last KEPT) for whoever polls them.

The record lives in the memory of the process that serves the API (MPR serves it from one
process: `mpr up` / `backend.serve`); a restart forgets it and the poller is told the scan is gone.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from backend.config import Settings
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.scans")

KEPT = 20  # finished runs remembered
FILE_ERRORS_KEPT = 500  # per run; `errors` still counts every one

LISTING, PROBING, APPLYING, DONE, FAILED = "listing", "probing", "applying", "done", "failed"


@dataclass
class FileError:
    key: str
    message: str
    asset_id: int | None = None


@dataclass
class ScanRun:
    id: str
    prefix: str
    started_by: int | None = None
    state: str = LISTING
    total: int = 0  # files to probe (new or changed); unchanged ones are counted apart
    probed: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    skipped: int = 0
    file_errors: list[FileError] = field(default_factory=list)
    error: str = ""  # why the whole scan failed (state FAILED)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    finished_at: dt.datetime | None = None

    @property
    def running(self) -> bool:
        return self.state not in (DONE, FAILED)

    def listed(self, total: int) -> None:
        self.total, self.state = total, (PROBING if total else APPLYING)

    def probed_one(self, key: str, asset_id: int | None, error: str) -> None:
        self.probed += 1
        if error:
            self.errors += 1
            if len(self.file_errors) < FILE_ERRORS_KEPT:
                self.file_errors.append(FileError(key, error, asset_id))
        if self.probed >= self.total:
            self.state = APPLYING  # every file probed; the automation rules run for the new ones


_runs: dict[str, ScanRun] = {}
_tasks: dict[str, asyncio.Task] = {}


def get(run_id: str) -> ScanRun | None:
    return _runs.get(run_id)


def running() -> ScanRun | None:
    """The scan running in this event loop, if any (a run whose loop has gone, as a test's, never ends)."""
    loop = asyncio.get_running_loop()
    for run in _runs.values():
        task = _tasks.get(run.id)
        if run.running and task is not None and not task.done() and task.get_loop() is loop:
            return run
    return None


async def _run(run: ScanRun, settings: Settings, storages: Storages) -> None:
    from backend.jobs.intake import scan_and_apply

    try:
        result = await scan_and_apply(settings, storages, run.prefix,
                                      on_listed=run.listed, on_probed=run.probed_one)
        run.added, run.updated, run.unchanged = result.added, result.updated, result.unchanged
        run.errors, run.skipped = max(run.errors, result.errors), len(result.skipped)
        run.state = DONE
    except Exception as exc:  # the listing itself failed (storage gone, database down)
        log.exception("scan %s failed", run.id)
        run.state, run.error = FAILED, f"{type(exc).__name__}: {exc}"[:500]
    finally:
        run.finished_at = dt.datetime.now(dt.timezone.utc)
        _tasks.pop(run.id, None)
        _forget_old()


def _forget_old() -> None:
    finished = sorted((r for r in _runs.values() if not r.running), key=lambda r: r.started_at)
    for r in finished[:-KEPT] if len(finished) > KEPT else []:
        _runs.pop(r.id, None)


def start(settings: Settings, storages: Storages, prefix: str = "", started_by: int | None = None) -> ScanRun:
    """Start a scan in the background and return its run (the running one if a scan runs already)."""
    current = running()
    if current is not None:
        return current
    run = ScanRun(id=uuid.uuid4().hex, prefix=prefix, started_by=started_by)
    _runs[run.id] = run
    _tasks[run.id] = asyncio.get_running_loop().create_task(_run(run, settings, storages), name=f"scan-{run.id}")
    return run
