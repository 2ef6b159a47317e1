"""The AWS executor (MPR_EXECUTOR=aws): jobs run as Step Functions executions of the FFmpeg Lambda.

Loop: claim the next queued `aws` job, work out where its input and output live (S3 storage: the
asset's own bucket/key and the output bucket; local storage: the source is uploaded to the input
bucket first and the output is fetched back when the job succeeds), decide how it runs
(`aws_plan.choose_mode`: one Lambda run on MPR_STATE_MACHINE_ARN, or chunks encoded in parallel on
MPR_CHUNKED_STATE_MACHINE_ARN; an output-template job: `aws_plan.ladder_mode`, one Lambda per
rendition (or per part of a long one) then one packaging run on MPR_LADDER_STATE_MACHINE_ARN; a sequence render:
`aws_plan.sequence_mode`, one Lambda per clip then one join on MPR_SEQUENCE_STATE_MACHINE_ARN, every
clip's source in the input bucket like a job's; recorded in the job's `plan`),
build the attempt's JobSpec (kept on the row, and the execution input beside the callback envelope:
`execution_input`, which carries the attempt's fresh execution nonce, also stored in
`callback_nonce`), start an execution named `job-{id}-attempt-{attempt}` and store its ARN in
`execution_id`.
From then on the Lambda reports through the signed callback route; this process only:

- stops the execution when the job is cancelled (`cancel()`, or a `cancelled` event on the bus);
- reconciles: a running job whose callbacks stopped arriving (heartbeat older than
  `stall_seconds`) is checked with DescribeExecution — still RUNNING is left alone, a finished
  execution without the callback fails the job with the execution's error and cause.
Nothing is re-queued behind the user's back: retrying is the user's call (`retryJob`).
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import secrets
from dataclasses import replace
from pathlib import Path

from backend import signing
from backend.catalog.ingest import media_info_from_asset
from backend.catalog.tables import MediaAsset, TranscodeJob
from backend.config import Settings
from backend.jobs import lifecycle
from backend.jobs.claim import claim_next, new_worker_id
from backend.jobs.events import BUS
from backend.jobs.executors.base import BackgroundLoops
from backend.jobs.executors.aws_plan import MAX_EXECUTION_INPUT, Mode, choose_mode, ladder_mode, sequence_mode
from backend.jobs.jobspec import build_spec, store_spec
from backend.jobs.recovery import recover_attempt
from backend.sfn_errors import error_message
from backend.media.command import Trim
from backend.media.presets import PresetSpec
from backend.media.verify import VerificationError
from backend.pipeline import JobSpec, Location, SpecError
from backend.storage import Storages, safe_key

log = logging.getLogger("mpr.jobs.aws")

STAGING_PREFIX = "_mpr-staging/"  # sources uploaded from local storage, in the input bucket
FINISHED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
CANCEL_LOOKBACK = dt.timedelta(hours=1)  # cancelled jobs whose execution may still need stopping


class DispatchError(Exception):
    """The job cannot be started on AWS; the message says why."""


def callback_url(settings: Settings, job_id: int) -> str:
    """Where the Lambda reports job `job_id`: MPR_CALLBACK_URL (a base URL, or one with {job_id})."""
    base = settings.callback_url or f"http://{settings.host}:{settings.port}"
    if "{job_id}" in base:
        return base.format(job_id=job_id)
    return f"{base.rstrip('/')}/api/jobs/{job_id}/callback"


def execution_input(job_id: int, attempt: int, url: str, spec: JobSpec, nonce: str) -> dict:
    """The Step Functions input: who the Lambda reports to and the attempt's execution nonce its
    callbacks sign (backend.signing), beside the JobSpec, verbatim. The Lambda reads the spec back
    with `JobSpec.from_dict` (the envelope's keys are not the spec's)."""
    return {"job_id": job_id, "attempt": attempt, "callback_url": url, "nonce": nonce, **spec.to_dict()}


def execution_name(job_id: int, attempt: int) -> str:
    return f"job-{job_id}-attempt-{attempt}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def execution_reason(status: str, error: str | None, cause: str | None) -> str:
    """A person's sentence for a finished execution (a Lambda error's cause is its JSON payload)."""
    message = error_message(error, cause)
    what = {"FAILED": "failed", "TIMED_OUT": "timed out", "ABORTED": "was stopped outside MPR"}.get(status, status)
    return f"the AWS execution {what}" + (f": {message}" if message else "")


def _utc(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _json(value) -> dict:
    """A JSON column's value as a dict (raw selects on some engines return the text)."""
    if isinstance(value, str):
        value = json.loads(value or "null")
    return value or {}


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def aws_client(settings: Settings, service: str):
    import boto3

    return boto3.client(service, endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)


class AwsExecutor(BackgroundLoops):
    name = "aws"

    def __init__(
        self,
        settings: Settings,
        storages: Storages,
        *,
        worker_id: str | None = None,
        poll_seconds: float = 1.0,
        reconcile_seconds: float | None = None,
        max_running: int = 100,
        sfn=None,
        s3=None,
    ):
        self.settings = settings
        self.storages = storages
        self.worker_id = worker_id or new_worker_id()
        self.poll_seconds = poll_seconds
        self.reconcile_seconds = reconcile_seconds or max(1.0, min(30.0, settings.stall_seconds / 4))
        self.max_running = max_running
        self._sfn, self._s3 = sfn, s3
        self._wake = asyncio.Event()
        self._stopped_arns: set[str] = set()  # executions known to be over
        self._dispatching: set[int] = set()  # jobs being started right now (no execution_id yet)
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    # -- clients (created lazily: boto3 is slow to import and may be unused) -----------------------
    @property
    def sfn(self):
        if self._sfn is None:
            self._sfn = aws_client(self.settings, "stepfunctions")
        return self._sfn

    @property
    def s3(self):
        if self._s3 is None:
            self._s3 = aws_client(self.settings, "s3")
        return self._s3

    # -- Executor protocol -----------------------------------------------------------------------
    async def start(self) -> None:
        self._start_loops(claim=self._claim_loop(), events=self._watch_events(), reconcile=self._reconcile_loop())
        log.info("aws executor %s started (state machine %s)", self.worker_id, self.settings.state_machine_arn)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop claiming. Executions keep running on AWS and report through the callback route, so
        there is nothing to wait for (`grace` is unused)."""
        await self._stop_loops()

    def notify(self) -> None:
        self._wake.set()

    def has_stopped(self, execution_arn: str) -> bool:
        """Whether this executor has stopped (or found finished) that execution."""
        return execution_arn in self._stopped_arns

    async def cancel(self, job_id: int, reason: str = "cancelled by user") -> bool:
        """Stop the job's execution, then move the job to cancelled. Returns whether it moved."""
        row = await TranscodeJob.select().where(TranscodeJob.id == job_id).first()
        if row is None:
            return False
        if row["execution_id"]:
            await self._stop_execution(row["execution_id"], reason)
        return await lifecycle.transition(
            job_id, lifecycle.CANCELLED, reason, expect_from=(lifecycle.QUEUED, lifecycle.RUNNING)
        )

    # -- loops -----------------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            row = None
            try:
                running = await TranscodeJob.count().where(
                    (TranscodeJob.status == lifecycle.RUNNING) & (TranscodeJob.executor == self.name)
                )
                if running < self.max_running:
                    row = await claim_next(self.name, self.worker_id)
            except Exception:  # noqa: BLE001 - database down: try again shortly
                log.exception("claiming a job failed")
            if row is not None:
                await self.dispatch(row)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _watch_events(self) -> None:
        async for event in BUS.subscribe():
            if event.status == lifecycle.QUEUED and event.executor in ("", self.name):
                self._wake.set()
            elif event.status == lifecycle.CANCELLED and event.executor == self.name:
                with contextlib.suppress(Exception):
                    await self._stop_job_execution(event.job_id, "cancelled in MPR")

    async def _reconcile_loop(self) -> None:
        while not self._stopping:
            try:
                await self.reconcile_once()
            except Exception:  # noqa: BLE001
                log.exception("reconciling AWS executions failed")
            await asyncio.sleep(self.reconcile_seconds)

    # -- starting an execution -------------------------------------------------------------------
    async def dispatch(self, row: dict) -> None:
        """Start the execution for a claimed (running) job; fail the job with the reason if impossible."""
        job_id, attempt = row["id"], row["attempt"]
        self._dispatching.add(job_id)
        try:
            try:
                # this attempt's execution nonce, on the row before anything can call back with it
                nonce = signing.new_nonce()
                await TranscodeJob.update({TranscodeJob.callback_nonce: nonce}).where(
                    (TranscodeJob.id == job_id) & (TranscodeJob.attempt == attempt)
                )
                row = {**row, "callback_nonce": nonce}
                event, mode = await self.prepare(row)
                # what runs and how (the API shows `plan`), on the row before the execution starts
                await store_spec(job_id, attempt, JobSpec.from_dict(event), mode.record)
                arn = await asyncio.to_thread(self._start_execution, mode.state_machine_arn,
                                              execution_name(job_id, attempt), event)
            except Exception as exc:  # noqa: BLE001 - never leave a claimed job running with nothing behind it
                reason = str(exc) if isinstance(exc, (DispatchError, SpecError)) else f"{type(exc).__name__}: {exc}"
                log.warning("job %s: could not start on AWS: %s", job_id, reason, extra={"job_id": job_id})
                await lifecycle.transition(
                    job_id, lifecycle.FAILED, f"could not start on AWS: {reason}", expect_attempt=attempt,
                    expect_from=(lifecycle.RUNNING,), error=f"could not start on AWS: {reason}",
                )
                return
            await TranscodeJob.update({TranscodeJob.execution_id: arn}).where(
                (TranscodeJob.id == job_id) & (TranscodeJob.attempt == attempt)
            )
        finally:
            self._dispatching.discard(job_id)
        how = (f"{mode.record['chunks']} chunks" if mode.chunked
               else f"{len(mode.ladder.steps)} template steps" if mode.ladder
               else f"{len(mode.sequence.items)} sequence clips/parts" if mode.sequence else "single pass")
        log.info("job %s attempt %s: started %s (%s)", job_id, attempt, arn, how, extra={"job_id": job_id})
        now = await TranscodeJob.select(TranscodeJob.status).where(TranscodeJob.id == job_id).first()
        if now is None or now["status"] != lifecycle.RUNNING:  # cancelled while we were starting it
            await self._stop_execution(arn, "cancelled in MPR while starting")

    async def prepare(self, row: dict) -> tuple[dict, Mode]:
        """The execution input (the Lambda's event) for a job row, and how the job runs: single
        pass, or chunked (the spec's `plan` then holds the ChunkPlan, for the chunked state machine).

        The input is `execution_input(...)`: the envelope (job id, attempt, callback URL, the
        attempt's nonce from `row["callback_nonce"]`) beside the attempt's JobSpec, which is also
        what `dispatch` keeps on the row."""
        if not self.settings.state_machine_arn:
            raise DispatchError("MPR_STATE_MACHINE_ARN is not set; run `mpr aws deploy` (or `mpr aws local`) "
                                "and export the settings it prints")
        if not self.settings.callback_secret:
            raise DispatchError("MPR_CALLBACK_SECRET is not set; it must match the Lambda's (see `mpr aws deploy`)")
        source = await MediaAsset.select().where(MediaAsset.id == row["source"]).first()
        if source is None:
            raise DispatchError("the source asset was deleted")
        in_bucket, in_key = await self._input_location(source)
        out_bucket, out_key = self._output_location(row["output_key"])
        clips = _json(row.get("sequence_snapshot")).get("clips")
        locations = await self._clip_locations(clips) if clips else {}
        spec = build_spec(row, Location(bucket=in_bucket, key=in_key), Location(bucket=out_bucket, key=out_key),
                          locate=(lambda c: locations[(c["area"], c["key"])]) if clips else None)
        if spec.sequence_template:  # renderSequence refuses these on AWS; a row made while the executor was local
            raise DispatchError("a sequence rendered with an output template runs on this machine's executor only, "
                                "not on AWS (docs/sequences.md#with-an-output-template)")
        if spec.sequence is not None:
            try:
                mode = sequence_mode(self.settings, _json(row["plan"]), spec)
            except ValueError as exc:
                raise DispatchError(str(exc)) from exc
            spec = replace(spec, plan=mode.sequence.to_dict())
            return self._bounded_input(row, spec, "the sequence's", "render fewer clips at once"), mode
        if spec.ladder is not None:
            mode = await self._ladder_mode(row, source, spec)
            spec = replace(spec, plan=mode.ladder.to_dict())
            return self._bounded_input(row, spec, "the template job's", "use a template with fewer outputs"), mode
        mode = await self._choose_mode(row, source, spec.preset_spec, spec.trim)
        spec = spec.with_plan(mode.plan)
        return execution_input(row["id"], row["attempt"], callback_url(self.settings, row["id"]), spec,
                               row.get("callback_nonce") or ""), mode

    async def _clip_locations(self, clips: list[dict]) -> dict[tuple[str, str], Location]:
        """Where each source of a sequence's clips is in S3 (the same rules as a job's source: an S3
        area's own object, or a local file staged into the input bucket), once per file."""
        ids = sorted({int(c["sourceId"]) for c in clips})
        present = {r["id"] for r in await MediaAsset.select(MediaAsset.id).where(MediaAsset.id.is_in(ids))}
        locations: dict[tuple[str, str], Location] = {}
        for index, clip in enumerate(clips):
            if int(clip["sourceId"]) not in present:
                raise DispatchError(f"clip {index + 1}'s source asset ({clip.get('name') or clip['sourceId']}) "
                                    "was deleted")
            where = (clip["area"], clip["key"])
            if where not in locations:
                bucket, key = await self._input_location({"storage_area": where[0], "storage_key": where[1]})
                locations[where] = Location(bucket=bucket, key=key)
        return locations

    def _bounded_input(self, row: dict, spec, whose: str, advice: str) -> dict:
        """The execution input of `spec`, refused (DispatchError) above what Step Functions carries."""
        event = execution_input(row["id"], row["attempt"], callback_url(self.settings, row["id"]), spec,
                                row.get("callback_nonce") or "")
        size = len(json.dumps(event, separators=(",", ":")))
        if size > MAX_EXECUTION_INPUT:
            raise DispatchError(f"{whose} description is {size // 1000} kB, above the "
                                f"{MAX_EXECUTION_INPUT // 1000} kB a Step Functions execution carries; {advice}")
        return event

    async def _ladder_mode(self, row: dict, source: dict, spec: JobSpec) -> Mode:
        if not self.settings.ladder_state_machine_arn:
            raise DispatchError("MPR_LADDER_STATE_MACHINE_ARN is not set, so output-template jobs cannot run on "
                                "AWS; run `mpr aws deploy` (or `mpr aws local`) and export the settings it prints")
        storage = self.storages.get(source["storage_area"])
        key = safe_key(source["storage_key"])
        try:
            info = media_info_from_asset(source)
            return await asyncio.to_thread(ladder_mode, self.settings, _json(row["plan"]), spec.template, spec, info,
                                           lambda: storage.probe_source(key))
        except (ValueError, VerificationError) as exc:
            raise DispatchError(str(exc)) from exc

    async def _choose_mode(self, row: dict, source: dict, spec: PresetSpec, trim: Trim) -> Mode:
        try:
            info = media_info_from_asset(source)
        except ValueError as exc:
            raise DispatchError(str(exc)) from exc
        storage = self.storages.get(source["storage_area"])
        key = safe_key(source["storage_key"])
        return await asyncio.to_thread(choose_mode, self.settings, _json(row["plan"]), info, spec, trim,
                                       lambda: storage.probe_source(key))

    async def _input_location(self, source: dict) -> tuple[str, str]:
        storage = self.storages.get(source["storage_area"])
        key = safe_key(source["storage_key"])
        if hasattr(storage, "bucket"):  # S3Storage
            return storage.bucket, getattr(storage, "prefix", "") + key
        local = storage.local_path(key)
        if local is None or not local.is_file():
            raise DispatchError(f"the source file {key!r} is missing from the {source['storage_area']!r} area")
        staged = f"{STAGING_PREFIX}{source['storage_area']}/{key}"
        await asyncio.to_thread(self._upload_if_changed, local, self.settings.s3_in_bucket, staged)
        return self.settings.s3_in_bucket, staged

    def _upload_if_changed(self, local: Path, bucket: str, key: str) -> None:
        stat = local.stat()
        stamp = f"{stat.st_size}:{int(stat.st_mtime)}"
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
            if head.get("Metadata", {}).get("mpr-source") == stamp:
                return
        except Exception as exc:  # noqa: BLE001
            if _code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise DispatchError(f"cannot reach the input bucket {bucket!r}: {exc}") from exc
        from boto3.s3.transfer import TransferConfig

        self.s3.upload_file(
            str(local), bucket, key, ExtraArgs={"Metadata": {"mpr-source": stamp}},
            Config=TransferConfig(multipart_threshold=64 * 2**20, multipart_chunksize=64 * 2**20),
        )

    def _output_location(self, output_key: str) -> tuple[str, str]:
        storage = self.storages.output
        key = safe_key(output_key)
        if hasattr(storage, "bucket"):
            if getattr(storage, "prefix", ""):
                raise DispatchError("an output storage with a key prefix is not supported by the AWS executor")
            return storage.bucket, key
        return self.settings.s3_out_bucket, key  # fetched into local storage when the job succeeds

    def _start_execution(self, arn: str, name: str, event: dict) -> str:
        body = json.dumps(event, separators=(",", ":"))
        try:
            return self.sfn.start_execution(stateMachineArn=arn, name=name, input=body)["executionArn"]
        except Exception as exc:  # noqa: BLE001
            if _code(exc) != "ExecutionAlreadyExists":
                raise
        # a leftover of an earlier database with the same job ids: keep it, start a fresh one (a
        # random suffix: several such restarts can fall in the same second)
        fresh = f"{name}-{secrets.token_hex(6)}"
        return self.sfn.start_execution(stateMachineArn=arn, name=fresh, input=body)["executionArn"]

    # -- stopping --------------------------------------------------------------------------------
    async def _stop_job_execution(self, job_id: int, reason: str) -> None:
        row = await TranscodeJob.select(TranscodeJob.execution_id).where(TranscodeJob.id == job_id).first()
        if row and row["execution_id"]:
            await self._stop_execution(row["execution_id"], reason)

    async def _stop_execution(self, arn: str, reason: str) -> None:
        def stop() -> None:
            try:
                if self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    self.sfn.stop_execution(executionArn=arn, error="MPR.Cancelled", cause=reason[:32000])
                    log.info("stopped %s: %s", arn, reason)
                self._stopped_arns.add(arn)
            except Exception as exc:  # noqa: BLE001
                if _code(exc) != "ExecutionDoesNotExist":
                    raise
                self._stopped_arns.add(arn)

        await asyncio.to_thread(stop)

    # -- reconciling -----------------------------------------------------------------------------
    async def reconcile_once(self) -> list[int]:
        """Check executions of running jobs whose callbacks stopped; fail those that ended. Returns moved ids."""
        now = lifecycle.now()
        stall = dt.timedelta(seconds=self.settings.stall_seconds)
        rows = await TranscodeJob.select().where(
            (TranscodeJob.status == lifecycle.RUNNING) & (TranscodeJob.executor == self.name)
        )
        moved = []
        for row in rows:
            last = _utc(row["heartbeat_at"]) or _utc(row["started_at"])
            if (last is not None and now - last <= stall) or row["id"] in self._dispatching:
                continue
            if await self._reconcile_job(row):
                moved.append(row["id"])
        await self._stop_cancelled_executions(now)
        return moved

    async def _reconcile_job(self, row: dict) -> bool:
        job_id, attempt = row["id"], row["attempt"]
        arn = row["execution_id"]
        machine = self.settings.state_machine_arn
        if _json(row.get("plan")).get("state_machine") == "chunked":
            machine = self.settings.chunked_state_machine_arn
        elif _json(row.get("plan")).get("state_machine") == "ladder":
            machine = self.settings.ladder_state_machine_arn
        elif _json(row.get("plan")).get("state_machine") == "sequence":
            machine = self.settings.sequence_state_machine_arn
        if not arn and machine:
            arn = execution_arn(machine, execution_name(job_id, attempt))
        try:
            desc = await asyncio.to_thread(self.sfn.describe_execution, executionArn=arn) if arn else None
        except Exception as exc:  # noqa: BLE001
            if _code(exc) != "ExecutionDoesNotExist":
                raise
            desc = None
        if desc is not None and not row["execution_id"] and not self._is_execution_of(desc, row):
            desc = None  # same name, but left by another database: not this job's
        if desc is None:
            if row["execution_id"]:
                reason = f"its AWS execution {arn} no longer exists"
                return await self._fail(row, reason)
            return await recover_attempt(row, "interrupted before its AWS execution started")
        if not row["execution_id"]:
            await TranscodeJob.update({TranscodeJob.execution_id: desc["executionArn"]}).where(
                (TranscodeJob.id == job_id) & (TranscodeJob.attempt == attempt)
            )
        status = desc["status"]
        if status not in FINISHED:
            return False  # still running (a long download, a quiet phase): the Task timeout bounds it
        if status == "SUCCEEDED":
            reason = "the AWS execution finished but its callback never arrived"
        else:
            reason = execution_reason(status, desc.get("error"), desc.get("cause"))
        return await self._fail(row, reason)

    def _is_execution_of(self, desc: dict, row: dict) -> bool:
        try:
            event = json.loads(desc.get("input") or "{}")
        except json.JSONDecodeError:
            return False
        return (event.get("job_id"), event.get("attempt"), event.get("callback_url")) == (
            row["id"], row["attempt"], callback_url(self.settings, row["id"]))

    async def _fail(self, row: dict, reason: str) -> bool:
        moved = await lifecycle.transition(
            row["id"], lifecycle.FAILED, reason, expect_attempt=row["attempt"],
            expect_from=(lifecycle.RUNNING,), error=reason,
        )
        if moved:
            log.warning("job %s: %s", row["id"], reason, extra={"job_id": row["id"]})
        return moved

    async def _stop_cancelled_executions(self, now: dt.datetime) -> None:
        """Cancelled jobs whose execution still runs (the cancel happened in another process)."""
        rows = await TranscodeJob.select(TranscodeJob.id, TranscodeJob.execution_id, TranscodeJob.finished_at).where(
            (TranscodeJob.status == lifecycle.CANCELLED) & (TranscodeJob.executor == self.name)
            & (TranscodeJob.execution_id != "")
        )
        for row in rows:
            finished = _utc(row["finished_at"])
            if row["execution_id"] in self._stopped_arns or (finished and now - finished > CANCEL_LOOKBACK):
                continue
            with contextlib.suppress(Exception):
                await self._stop_execution(row["execution_id"], "cancelled in MPR")


async def fetch_output(settings: Settings, storages: Storages, key: str) -> None:
    """Local storage + AWS executor: move a job's output from the output bucket into local storage
    (called by the callback route before it verifies the output)."""
    local = storages.output.local_path(key)
    if local is None or local.exists():
        return
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.parent / f".fetch-{local.name}"
    client = aws_client(settings, "s3")
    try:
        await asyncio.to_thread(client.download_file, settings.s3_out_bucket, safe_key(key), str(tmp))
        tmp.replace(local)
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(Exception):  # the bucket was only a staging area here
        await asyncio.to_thread(client.delete_object, Bucket=settings.s3_out_bucket, Key=safe_key(key))
