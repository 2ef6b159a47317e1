"""The local executor: an asyncio pool of `MPR_WORKERS` FFmpeg processes on this machine.

Loop: claim the next queued job (priority, then age), run `backend.media` on it, verify the
output, store it, register it as an asset, mark the job succeeded. Progress is written at most
twice a second; a progress write that finds the attempt no longer running (cancelled, recovered
elsewhere) stops FFmpeg. A watchdog kills attempts whose FFmpeg makes no progress for
`stall_seconds`; a recovery pass re-queues attempts whose worker died.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.catalog.ingest import media_info_from_asset
from backend.catalog.outputs import register_output
from backend.catalog.retry import with_retry
from backend.catalog.tables import MediaAsset
from backend.config import Settings
from backend.jobs import lifecycle
from backend.jobs.claim import claim_next, new_worker_id
from backend.jobs.events import BUS
from backend.jobs.executors.base import BackgroundLoops
from backend.jobs.executors.chunked import local_decision, plan_local, run_chunked
from backend.jobs.recovery import recover_attempt, recover_orphans
from backend.jobs.shutdown import stop_requested
from backend.media.chunking import ChunkingError, ChunkPlan
from backend.media.command import Trim, build_command, expected_duration
from backend.media.presets import PresetSpec, is_keyframe_copy
from backend.media.probe import keyframe_lead
from backend.media.runner import FFmpegError, Progress, run_ffmpeg
from backend.media.verify import VerificationError, verify_output
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.local")
PROGRESS_CAP_BEFORE_VERIFY = 99.0


@dataclass
class Attempt:
    job_id: int
    attempt: int
    task: asyncio.Task | None = None
    last_out_time: float = -1.0
    last_advance: float = field(default_factory=time.monotonic)
    stop_reason: str = ""  # why we cancelled it ourselves ("" = cancelled by someone else)


class LocalExecutor(BackgroundLoops):
    name = "local"

    def __init__(self, settings: Settings, storages: Storages, *, worker_id: str | None = None, poll_seconds: float = 1.0):
        self.settings = settings
        self.storages = storages
        self.worker_id = worker_id or new_worker_id()
        self.poll_seconds = poll_seconds
        self.running: dict[int, Attempt] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await recover_orphans(self.name, self.settings.stall_seconds)
        self._start_loops(claim=self._claim_loop(), events=self._watch_events(), watchdog=self._watchdog())
        log.info("local executor %s started with %d workers", self.worker_id, self.settings.workers)

    async def stop(self, grace: float = 0.0) -> None:
        """Claim nothing more; give running attempts up to `grace` s to finish, then stop their
        FFmpeg and put them back in the queue as "server stopped" without spending an attempt."""
        self._stopping = True  # before the attempts are cancelled: no new claim in between
        self._wake.set()
        await self._let_finish([a.task for a in self.running.values() if a.task], grace)
        left = [a for a in self.running.values() if a.task and not a.task.done()]
        if left:
            log.warning("stopping %d running job(s) after the %.0f s shutdown grace: %s", len(left), grace,
                        ", ".join(str(a.job_id) for a in left))
        for attempt in left:
            attempt.stop_reason = ""  # not a failure of the job: _release_leftovers re-queues it below
            attempt.task.cancel()
        await self._stop_loops(*(a.task for a in self.running.values() if a.task))
        await self._release_leftovers()

    async def _release_leftovers(self) -> None:
        """Jobs still marked running for this worker (stopped above, or claimed as we stopped) go back
        to the queue with the same attempt number: the server stopped, the job did not fail."""
        from backend.catalog.tables import TranscodeJob

        rows = await TranscodeJob.select(TranscodeJob.id, TranscodeJob.attempt).where(
            (TranscodeJob.status == lifecycle.RUNNING) & (TranscodeJob.worker_id == self.worker_id)
        )
        for row in rows:
            await lifecycle.requeue_unspent(row["id"], row["attempt"], lifecycle.SERVER_STOPPED)

    def notify(self) -> None:
        self._wake.set()

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait until nothing runs and nothing of ours is queued (tests, `mpr worker --once`)."""
        from backend.catalog.tables import TranscodeJob

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = await TranscodeJob.count().where(
                ((TranscodeJob.status == lifecycle.QUEUED) & (TranscodeJob.executor == self.name))
                | ((TranscodeJob.status == lifecycle.RUNNING) & (TranscodeJob.worker_id == self.worker_id))
            )
            if not busy and not self.running:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("jobs still queued or running")

    # -- loops -----------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            claimed = False
            if len(self.running) < self.settings.workers and not stop_requested():
                try:
                    row = await claim_next(self.name, self.worker_id)
                except Exception:  # noqa: BLE001 - database down: try again shortly
                    log.exception("claiming a job failed")
                    row = None
                if row is not None:
                    claimed = True
                    attempt = Attempt(row["id"], row["attempt"])
                    self.running[row["id"]] = attempt
                    attempt.task = asyncio.create_task(self._run(row, attempt), name=f"mpr-job-{row['id']}")
            if claimed and len(self.running) < self.settings.workers:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _watch_events(self) -> None:
        """Wake on new jobs; stop our FFmpeg at once when a job we run is cancelled."""
        async for event in BUS.subscribe():
            if event.status == lifecycle.QUEUED and event.executor in ("", self.name):
                self._wake.set()
            attempt = self.running.get(event.job_id)
            if attempt and event.status != lifecycle.RUNNING and attempt.task and not attempt.task.done():
                attempt.task.cancel()

    async def _watchdog(self) -> None:
        interval = max(0.5, min(5.0, self.settings.stall_seconds / 4))
        while not self._stopping:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for attempt in list(self.running.values()):
                if now - attempt.last_advance > self.settings.stall_seconds and attempt.task and not attempt.stop_reason:
                    attempt.stop_reason = f"stalled: FFmpeg made no progress for {self.settings.stall_seconds} s"
                    log.warning("job %s: %s", attempt.job_id, attempt.stop_reason, extra={"job_id": attempt.job_id})
                    attempt.task.cancel()
            try:
                await recover_orphans(self.name, self.settings.stall_seconds, set(self.running))
            except Exception:  # noqa: BLE001
                log.exception("recovery pass failed")

    # -- one attempt -----------------------------------------------------------------------
    async def _run(self, row: dict, attempt: Attempt) -> None:
        job_id = row["id"]
        workdir = Path(tempfile.mkdtemp(prefix=f"mpr-job-{job_id}-"))
        partial: Path | None = None
        try:
            source = await with_retry(lambda: MediaAsset.select().where(MediaAsset.id == row["source"]).first(),
                                      what=f"job {job_id} source")
            if source is None:
                raise VerificationError("the source asset was deleted")
            spec = PresetSpec.from_dict(row["preset_snapshot"])
            trim = Trim(start=row["trim_start"] or 0.0, end=row["trim_end"], accurate=row["accurate_trim"])
            info = media_info_from_asset(source)
            src = await self._source_path(source, workdir)
            final_local = self.storages.output.local_path(row["output_key"])
            if final_local is not None:
                final_local.parent.mkdir(parents=True, exist_ok=True)
                for stale in final_local.parent.glob(f".partial-{job_id}-*"):  # left by a killed attempt
                    stale.unlink(missing_ok=True)
                partial = final_local.parent / f".partial-{job_id}-{attempt.attempt}-{final_local.name}"
            else:
                partial = workdir / Path(row["output_key"]).name
            plan_record, chunk_plan = await self._choose_mode(row, src, info, spec, trim)
            lead = await asyncio.to_thread(keyframe_lead, str(src), trim.start) if is_keyframe_copy(spec) else None
            argv = build_command(src, partial, spec, trim, info, keyframe_lead=lead)
            duration = expected_duration(trim, info, spec)

            async def on_progress(p: Progress) -> None:
                if p.out_time > attempt.last_out_time + 1e-6:
                    attempt.last_out_time = p.out_time
                    attempt.last_advance = time.monotonic()
                if p.percent >= 100.0:
                    return  # FFmpeg finished: the verified transition writes 100 %, no write needed now
                try:
                    wanted = await lifecycle.report_progress(
                        job_id, attempt.attempt,
                        progress=min(p.percent, PROGRESS_CAP_BEFORE_VERIFY),
                        fps=p.fps, speed=p.speed, eta_seconds=p.eta,
                    )
                except Exception:  # noqa: BLE001 - the database is away: keep encoding, report later
                    log.warning("job %s: progress not stored", job_id, exc_info=True, extra={"job_id": job_id})
                    return
                if not wanted and attempt.task:
                    attempt.task.cancel()

            if chunk_plan is not None:
                result = await run_chunked(chunk_plan, src, partial, on_progress, chunk_plan.max_concurrency,
                                           workdir=workdir)
                tail = result.log_tail
                plan_record.update(result.record(chunk_plan))
            else:
                tail = await run_ffmpeg(argv, duration=duration, output=partial, on_progress=on_progress)
            out_info = await asyncio.to_thread(verify_output, partial, spec, trim, info, keyframe_lead=lead or 0.0)
            if final_local is not None:
                os.replace(partial, final_local)
            else:
                await self.storages.output.put_file(partial, row["output_key"])
            partial = None
            # retried like the status changes: a lost connection here must not fail a finished encode
            # (a retry after an insert that did land gets that row back from register_output)
            asset_id = await with_retry(lambda: register_output(self.storages, row["output_key"], out_info),
                                        what=f"job {job_id} output asset")
            note = f"output verified: {out_info.duration:.3f} s"
            if lead and lead > 0.001:
                note += f" (keyframe copy starts {lead:.3f} s before the in point)"
            moved = await lifecycle.transition(
                job_id, lifecycle.SUCCEEDED, note, expect_attempt=attempt.attempt,
                expect_from=(lifecycle.RUNNING,), output_asset=asset_id, log_tail=tail, plan=plan_record,
            )
            if not moved:  # cancelled while we verified: the output is not wanted
                await self._discard_output(row["output_key"], asset_id)
        except asyncio.CancelledError:
            await self._after_cancel(row, attempt)
        except FFmpegError as exc:
            await self._fail(row, attempt, exc.message, exc.stderr_tail)
        except VerificationError as exc:
            await self._fail(row, attempt, f"output check failed: {exc}", "")
        except Exception as exc:  # noqa: BLE001 - never leave a job running
            log.exception("job %s crashed", job_id, extra={"job_id": job_id})
            await self._fail(row, attempt, f"internal error: {type(exc).__name__}: {exc}", "")
        finally:
            if partial is not None:
                with contextlib.suppress(OSError):
                    partial.unlink()
            shutil.rmtree(workdir, ignore_errors=True)
            self.running.pop(job_id, None)
            self._wake.set()

    async def _choose_mode(self, row: dict, src: Path, info, spec, trim) -> tuple[dict, ChunkPlan | None]:
        """Single pass, or GOP-aligned chunks encoded in parallel (when asked, or when it pays off here)."""
        record = dict(row["plan"] or {})
        decision = local_decision(info, spec, trim, requested=record.get("chunked_requested"))
        record.update(decision.record())
        if not decision.chunked:
            return record, None
        try:
            plan = await asyncio.to_thread(plan_local, src, info, spec, trim)
        except ChunkingError as exc:
            record.update(mode="single", reason=f"chunking not possible ({exc}); single pass")
            return record, None
        return record, plan

    async def _source_path(self, source: dict, workdir: Path) -> Path:
        storage = self.storages.get(source["storage_area"])
        local = storage.local_path(source["storage_key"])
        if local is not None:
            return local
        dest = workdir / ("source" + Path(source["storage_key"]).suffix)
        return await storage.get_file(source["storage_key"], dest)

    async def _after_cancel(self, row: dict, attempt: Attempt) -> None:
        if attempt.stop_reason:
            await asyncio.shield(recover_attempt(row, attempt.stop_reason))
        # otherwise somebody else already moved the job (cancelled by user, recovered elsewhere)

    async def _fail(self, row: dict, attempt: Attempt, message: str, tail: str) -> None:
        await lifecycle.transition(
            row["id"], lifecycle.FAILED, message, expect_attempt=attempt.attempt,
            expect_from=(lifecycle.RUNNING,), error=message, log_tail=tail,
        )

    async def _discard_output(self, key: str, asset_id: int) -> None:
        with contextlib.suppress(Exception):
            await self.storages.output.delete(key)
        await MediaAsset.delete().where(MediaAsset.id == asset_id)
