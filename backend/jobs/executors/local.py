"""The local executor: an asyncio pool of `MPR_WORKERS` FFmpeg processes on this machine.

Loop: claim the next queued job (priority, then age), build its `JobSpec` (`jobs.jobspec`, kept
on the row), run it with the pipeline (`run_single`, or `run_chunked` when chunks pay off here),
store the verified output, register it as an asset, mark the job succeeded (the output's
thumbnails start after that, `register_output(start_after=…)`). A sequence render
runs `run_sequence` (its clips' FFmpegs share `MPR_WORKERS`) on the same path. A job made from an
output template runs `run_ladder` instead and stores its whole folder (`_run_template`); a sequence
rendered with a template renders an intermediate first (`_run_sequence_template`), then the same. Progress goes to the
row through `jobs.reporting.CatalogReporter` at most twice a second; a progress write that finds
the attempt no longer running (cancelled, recovered elsewhere) stops FFmpeg. A watchdog kills attempts whose FFmpeg makes no progress for
`stall_seconds`; a recovery pass re-queues attempts whose worker died.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
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
from backend.jobs.executors.chunked import local_decision, plan_local
from backend.jobs.jobspec import build_spec, store_spec
from backend.jobs.recovery import recover_attempt, recover_orphans
from backend.jobs.reporting import CatalogReporter
from backend.jobs.shutdown import stop_requested
from backend.media.analysis import MAX_KEYFRAMES
from backend.media.chunking import ChunkingError, ChunkPlan
from backend.media.runner import FFmpegError
from backend.media.verify import VerificationError
from backend.pipeline import JobSpec, Location, SpecError
from backend.pipeline.chunked import run_chunked
from backend.pipeline.guard import StopRequested
from backend.pipeline.ladder import run_ladder
from backend.pipeline.sequence import run_sequence
from backend.pipeline.sequence_ladder import Intermediate, render_intermediate
from backend.pipeline.single import KnownKeyframes, run_single
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.local")


def stored_keyframes(source: dict) -> KnownKeyframes | None:
    """The keyframe times the source's analysis stored (a stream copy then needs no ffprobe to find
    its keyframe), or None when it was not analysed, its analysis failed, or it has no video.

    The analysis reads the decoder's key flags, not the demuxer's the copy obeys: `run_single`
    trusts them only once the output passed its check and its video covers the length by itself
    (`verify.video_on_time`: with audio the file's length alone would hide a video that starts a
    GOP late), and otherwise probes the keyframe and, if it differs, copies again."""
    if not source.get("analysis_version") or source.get("analysis_error") or not source.get("video_codec"):
        return None
    times = source.get("keyframes")
    if isinstance(times, str):
        try:
            times = json.loads(times or "[]")
        except ValueError:
            return None
    if not times or not isinstance(times, list):
        return None
    return KnownKeyframes(tuple(float(t) for t in times), complete=len(times) < MAX_KEYFRAMES)


@dataclass
class Attempt:
    job_id: int
    attempt: int
    task: asyncio.Task | None = None
    last_out_time: float = -1.0
    last_advance: float = field(default_factory=time.monotonic)
    stop_reason: str = ""  # why we cancelled it ourselves ("" = cancelled by someone else)

    def alive(self) -> None:
        """The attempt advanced (its reporter saw more progress): the stall watchdog resets."""
        self.last_advance = time.monotonic()


class LocalExecutor(BackgroundLoops):
    name = "local"

    def __init__(self, settings: Settings, storages: Storages, *, worker_id: str | None = None, poll_seconds: float = 1.0):
        self.settings = settings
        self.storages = storages
        self.worker_id = worker_id or new_worker_id()
        self.poll_seconds = poll_seconds
        self.running: dict[int, Attempt] = {}
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()  # set when an attempt ends (drain waits on it)
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
            if self.running:
                # busy here: no need to ask the database; an attempt that ends sets _wake (a 0.1 s
                # count poll was ~8 queries per job of a 1,000-job `--once` drain, issue 20)
                self._drained.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._drained.wait(), min(1.0, max(deadline - time.monotonic(), 0.0)))
                continue
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
            spec = build_spec(row, Location(area=source["storage_area"], key=source["storage_key"]),
                              Location(area="out", key=row["output_key"]))
            info = media_info_from_asset(source)
            src = await self._source_path(source, workdir)
            if spec.sequence_template:  # a sequence rendered, then a template's outputs from it
                await self._run_sequence_template(row, attempt, spec, workdir)
                return
            if spec.ladder is not None:
                await self._run_template(row, attempt, spec, src, info, workdir)
                return
            final_local = self.storages.output.local_path(row["output_key"])
            if final_local is not None:
                final_local.parent.mkdir(parents=True, exist_ok=True)
                for stale in final_local.parent.glob(f".partial-{job_id}-*"):  # left by a killed attempt
                    stale.unlink(missing_ok=True)
                partial = final_local.parent / f".partial-{job_id}-{attempt.attempt}-{final_local.name}"
            else:
                partial = workdir / Path(row["output_key"]).name
            if spec.sequence is not None:
                plan_record, chunk_plan = dict(row["plan"] or {}), None
            else:
                plan_record, chunk_plan = await self._choose_mode(row, src, info, spec)
                spec = spec.with_plan(chunk_plan)
            await store_spec(job_id, attempt.attempt, spec)
            reporter = CatalogReporter(job_id, attempt.attempt, on_alive=attempt.alive)
            if spec.sequence is not None:  # clips of several sources, one output
                sources = await self._clip_sources(spec, workdir)
                result = await run_sequence(spec, sources, partial, reporter, concurrency=self.settings.workers,
                                            workdir=workdir)
                plan_record.update(result.record())
            elif spec.chunked:
                result = await run_chunked(spec, src, partial, reporter, workdir=workdir)
                plan_record.update(result.record(chunk_plan))
            else:
                result = await run_single(spec, src, partial, reporter, info=info, workdir=workdir,  # smart cuts too
                                          keyframes=stored_keyframes(source))
                if spec.smart:
                    plan_record.update(result.record())
            out_info, tail, note = result.info, result.log_tail, result.note()
            if final_local is not None:
                os.replace(partial, final_local)
            else:
                await self.storages.output.put_file(partial, row["output_key"])
            partial = None
            # retried like the status changes: a lost connection here must not fail a finished encode
            # (a retry after an insert that did land gets that row back from register_output); the
            # output's thumbnails start once the success is stored (`stored`), not alongside it
            stored = asyncio.get_running_loop().create_future()
            try:
                asset_id = await with_retry(lambda: register_output(self.storages, row["output_key"], out_info,
                                                                    start_after=stored),
                                            what=f"job {job_id} output asset")
                moved = await lifecycle.transition(
                    job_id, lifecycle.SUCCEEDED, note, expect_attempt=attempt.attempt,
                    expect_from=(lifecycle.RUNNING,), output_asset=asset_id, log_tail=tail, plan=plan_record,
                )
                stored.set_result(moved)
            finally:
                if not stored.done():
                    stored.set_result(False)
            if not moved:  # cancelled while we verified: the output is not wanted
                await self._discard_output(row["output_key"], asset_id)
        except (asyncio.CancelledError, StopRequested):
            await self._after_cancel(row, attempt)
        except SpecError as exc:  # e.g. a preset snapshot edited in the admin: refused before FFmpeg
            log.warning("job %s refused: %s", job_id, exc, extra={"job_id": job_id})
            await self._fail(row, attempt, str(exc), "")
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
            self._drained.set()

    async def _run_sequence_template(self, row: dict, attempt: Attempt, spec: JobSpec, workdir: Path) -> None:
        """`renderSequence` with a template: the sequence rendered and checked into an intermediate
        in the work folder (`pipeline.sequence_ladder`), then `_run_template` on it, one progress line."""
        await store_spec(row["id"], attempt.attempt, spec)
        reporter = CatalogReporter(row["id"], attempt.attempt, on_alive=attempt.alive)
        sources = await self._clip_sources(spec, workdir)
        first = await render_intermediate(spec, sources, workdir, reporter, concurrency=self.settings.workers)
        await self._run_template(row, attempt, first.spec, first.path, first.info, workdir,
                                 reporter=first.rest(reporter), first=first)

    async def _run_template(self, row: dict, attempt: Attempt, spec: JobSpec, src: Path, info, workdir: Path, *,
                            reporter=None, first: Intermediate | None = None) -> None:
        """Every output of the job's template into its folder `spec.output.key` ("<stem>/"): written
        next to the final folder and renamed into place on local storage, uploaded file by file otherwise.
        `first`: a stage that ran before (a sequence rendered into `src`), whose record and note are
        kept with the template's; its caller then stored the spec and passes the `reporter`."""
        job_id, prefix = row["id"], spec.output.key
        if reporter is None:
            await store_spec(job_id, attempt.attempt, spec)
            reporter = CatalogReporter(job_id, attempt.attempt, on_alive=attempt.alive)
        final_dir = self.storages.output.local_path(prefix.rstrip("/"))
        if final_dir is not None:
            final_dir.parent.mkdir(parents=True, exist_ok=True)
            outdir = final_dir.parent / f".partial-{job_id}-{attempt.attempt}-{final_dir.name}"
            shutil.rmtree(outdir, ignore_errors=True)
        else:
            outdir = workdir / "outputs"
        result = await run_ladder(spec, src, outdir, reporter, info=info)
        try:
            if final_dir is not None:
                shutil.rmtree(final_dir, ignore_errors=True)  # left by an attempt that stopped after its rename
                os.replace(outdir, final_dir)
            else:
                for name in result.files:
                    await self.storages.output.put_file(outdir / name, prefix + name)
        finally:
            shutil.rmtree(outdir, ignore_errors=True)
        asset_id = None
        if result.primary is not None:
            name, out_info = result.primary
            asset_id = await with_retry(lambda: register_output(self.storages, prefix + name, out_info),
                                        what=f"job {job_id} output asset")
        outputs = [{**o, "key": prefix + o["key"]} if o.get("key") else o for o in result.outputs]
        note = result.note() if first is None else f"{first.note()}; {result.note()}"
        plan = {**dict(row["plan"] or {}), **result.record(), **(first.record() if first is not None else {})}
        moved = await lifecycle.transition(
            job_id, lifecycle.SUCCEEDED, note, expect_attempt=attempt.attempt,
            expect_from=(lifecycle.RUNNING,), output_asset=asset_id, log_tail=result.log_tail,
            plan=plan, outputs=outputs,
            playback_key=prefix + result.playback if result.playback else "",
        )
        if not moved:  # cancelled while we stored: the outputs are not wanted
            for name in result.files:
                with contextlib.suppress(Exception):
                    await self.storages.output.delete(prefix + name)
            if final_dir is not None:
                shutil.rmtree(final_dir, ignore_errors=True)
            if asset_id is not None:
                await MediaAsset.delete().where(MediaAsset.id == asset_id)

    async def _choose_mode(self, row: dict, src: Path, info, spec: JobSpec) -> tuple[dict, ChunkPlan | None]:
        """Single pass, or GOP-aligned chunks encoded in parallel (when asked, or when it pays off here)."""
        record = dict(row["plan"] or {})
        preset, trim = spec.preset_spec, spec.trim
        if spec.smart:
            return record, None  # a smart cut copies most of the range: nothing to parallelise
        decision = local_decision(info, preset, trim, requested=record.get("chunked_requested"))
        record.update(decision.record())
        if not decision.chunked:
            return record, None
        try:
            plan = await asyncio.to_thread(plan_local, src, info, preset, trim)
        except ChunkingError as exc:
            record.update(mode="single", reason=f"chunking not possible ({exc}); single pass")
            return record, None
        return record, plan

    async def _clip_sources(self, spec: JobSpec, workdir: Path) -> list[Path]:
        """Where each clip's source is on this machine (downloaded once per file when not local)."""
        ids = {c.source_id for c in spec.sequence.clips}
        present = {r["id"] for r in await MediaAsset.select(MediaAsset.id).where(MediaAsset.id.is_in(sorted(ids)))}
        paths: dict[tuple[str, str], Path] = {}
        for index, clip in enumerate(spec.sequence.clips):
            if clip.source_id not in present:
                raise VerificationError(f"clip {index + 1}'s source asset ({clip.name or clip.source_id}) was deleted")
            where = (clip.input.area, clip.input.key)
            if where not in paths:
                paths[where] = await self._source_path({"storage_area": where[0], "storage_key": where[1]},
                                                       workdir / f"clip-source-{len(paths)}")
        return [paths[(c.input.area, c.input.key)] for c in spec.sequence.clips]

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
