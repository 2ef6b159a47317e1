"""The FFmpeg Lambda: a thin adapter around `backend.pipeline` — S3 in, the same runner as the
local executor (`run_single`), verified output to S3, reporting to MPR through signed callbacks.

Invoked by the Step Functions state machine (sfn/transcode.asl.json) with the job as its input:
the envelope (who to report to) beside a `backend.pipeline.JobSpec`, carried verbatim:

    {"job_id": 7, "attempt": 1, "callback_url": "https://mpr.example.com/api/jobs/7/callback",
     "nonce": "<the attempt's execution nonce>", **JobSpec.to_dict()}      # version, input{bucket,key}, output{bucket,key}, preset, trim, plan

(the chunked state machine, sfn/transcode-chunked.asl.json, invokes the actions of
lambda/chunk_actions.py through `process` below instead, the sequence state machine,
sfn/transcode-sequence.asl.json, those of lambda/sequence_actions.py, and the output-template state machine,
sfn/transcode-ladder.asl.json, those of lambda/ladder_actions.py), and, from the state machine's Catch,
with {"action": "report_failure", "job_id", "attempt", "callback_url", "nonce", "error", "cause"} to report
a failure the transcode step could not report itself.

Callbacks are POSTs of JSON {attempt, status, progress, error, output{key,size,duration}, log_tail}
(plus fps/speed/eta while running) signed with backend.signing (headers X-MPR-Timestamp,
X-MPR-Nonce: the event's nonce, X-MPR-Signature; key from env MPR_CALLBACK_SECRET); progress at most one per 2 s, a heartbeat while downloading/uploading.
The reply is `backend.jobs.callbacks.CallbackReply`: {"accepted", "stop", "reason", "job_status"}.
`"stop": true` (or HTTP 409/410, or a job status other than running) stops FFmpeg and skips the
upload; the reply's wording is never read. Every failure is sent as a "failed" callback with its
reason and re-raised, so the execution fails too; /tmp is cleaned in every case; FFmpeg gets the
time the Lambda has left minus a margin, so a too-long job fails clearly, not by being killed.
Needs only the stdlib, boto3 (in the Lambda base image), backend.media, backend.pipeline and
backend.signing.
"""
from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from backend import signing
from backend.media.command import CommandError
from backend.media.presets import PresetSpec
from backend.media.probe import ProbeError, probe
from backend.media.runner import FFmpegError
from backend.media.verify import VerificationError
from backend.pipeline import JobSpec, SpecError
from backend.pipeline.chunked import encode_audio, encode_chunk, join_chunks  # noqa: F401 - chunk_actions' steps
from backend.pipeline.guard import BudgetExceeded, StopRequested
from backend.pipeline.single import run_single
from backend.sfn_errors import error_message, lambda_error

log = logging.getLogger("mpr.lambda")
log.setLevel(logging.INFO)

DEADLINE_MARGIN_S = 20.0  # FFmpeg must end this long before the Lambda would be killed
PROGRESS_INTERVAL_S = 2.0  # at most one progress callback per this many seconds
HEARTBEAT_INTERVAL_S = 15.0  # a "running" callback at least this often, even without progress
CALLBACK_TIMEOUT_S = 10.0
FINAL_CALLBACK_TRIES = 4  # 0 s, 1 s, 3 s, 7 s apart
TMP_RESERVE_BYTES = 64 * 1024 * 1024  # left free in /tmp beyond input + estimated output
MB = 1024 * 1024
CONTENT_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
    ".webm": "video/webm", ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
    ".opus": "audio/ogg", ".wav": "audio/wav", ".flac": "audio/flac", ".aac": "audio/aac",
    ".gif": "image/gif", ".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png",
    # streaming packages (lambda/ladder_actions.py), as backend.storage serves them
    ".m3u8": "application/vnd.apple.mpegurl", ".mpd": "application/dash+xml", ".m4s": "video/iso.segment",
    ".vtt": "text/vtt",
}


class InvalidEvent(ValueError):
    """The invocation's input is not a job MPR sent."""


class TranscodeFailed(RuntimeError):
    """The job failed; the message is the reason a person reads."""


class AttemptNotWanted(RuntimeError):
    """The backend answered that this attempt was cancelled or superseded."""


class CallbackError(RuntimeError):
    """A callback could not be delivered (or was refused)."""


# -- the event ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    """One invocation: who to report to (the envelope) and the job's JobSpec."""

    job_id: int
    attempt: int
    callback_url: str
    spec: JobSpec
    nonce: str  # the attempt's execution nonce: every callback signs it (backend.signing)


def _positive_int(event: dict, name: str) -> int:
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidEvent(f"{name} must be a positive integer, got {value!r}")
    return value


def _callback_url(event: dict) -> str:
    url = event.get("callback_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidEvent(f"callback_url must be an http(s) URL, got {url!r}")
    return url


def _nonce(event: dict) -> str:
    nonce = event.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > 64:
        raise InvalidEvent(f"nonce must be the attempt's execution nonce (a short string), got {nonce!r}")
    return nonce


def parse_spec(event: dict) -> JobSpec:
    """The event's JobSpec, its input and output in S3 buckets (the Lambda reads nothing else)."""
    try:
        spec = JobSpec.from_dict(event)
    except SpecError as exc:
        raise InvalidEvent(str(exc)) from exc
    clips = [(f"sequence.clips[{i}].input", c.input) for i, c in enumerate(spec.sequence.clips)] if spec.sequence else []
    for name, loc in (("input", spec.source), ("output", spec.output), *clips):
        if not loc.bucket:
            raise InvalidEvent(f"{name}.bucket and {name}.key must be non-empty strings (an S3 location)")
    return spec


def parse_event(event: Any) -> Invocation:
    if not isinstance(event, dict):
        raise InvalidEvent("the event must be a JSON object")
    job_id, attempt = _positive_int(event, "job_id"), _positive_int(event, "attempt")
    url = _callback_url(event)
    return Invocation(job_id, attempt, url, parse_spec(event), _nonce(event))


# -- callbacks ---------------------------------------------------------------------------------
def post_callback(url: str, secret: str, job_id: int, nonce: str, payload: dict,
                  timeout: float = CALLBACK_TIMEOUT_S) -> dict:
    """POST one callback signed with this moment's timestamp and the attempt's `nonce`; returns
    the reply's JSON object (or {}).

    Raises AttemptNotWanted on HTTP 409/410 and CallbackError when it cannot be delivered or is refused.
    """
    body = json.dumps(payload, separators=(",", ":")).encode()
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", **signing.signed_headers(secret, job_id, nonce, body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode(errors="replace")
        if exc.code in (409, 410):
            raise AttemptNotWanted(f"the backend no longer wants this attempt: {detail}") from exc
        if exc.code in (401, 403):
            raise CallbackError(f"callback refused ({exc.code}): MPR_CALLBACK_SECRET of the Lambda and the "
                                f"server differ? {detail}") from exc
        raise CallbackError(f"callback to {url} answered HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise CallbackError(f"callback to {url} failed: {getattr(exc, 'reason', exc)}") from exc
    try:
        reply = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        reply = {}
    return reply if isinstance(reply, dict) else {}


def stop_requested(reply: dict) -> str:
    """Why a reply to a progress callback says to stop ("" = keep going): its `stop` field, or a
    job status other than running. The human `reason` is passed on, never interpreted."""
    job_status = reply.get("job_status")
    if reply.get("stop") is True or (job_status and job_status != "running"):
        return f"the backend no longer wants this attempt: {reply.get('reason') or job_status or 'stop'}"
    return ""


class Reporter:
    """The Lambda's `backend.pipeline.Reporter`: sends "running" callbacks from one background
    thread, progress at most every 2 s and a heartbeat every 15 s; `should_stop` answers once
    the backend said the attempt is no longer wanted."""

    def __init__(self, job: Invocation, secret: str):
        self.job = job
        self.secret = secret
        self.not_wanted = threading.Event()
        self.reason = ""
        self._latest: dict = {"progress": 0.0, "fps": None, "speed": None, "eta": None}
        self._dirty = True
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"mpr-callbacks-{job.job_id}", daemon=True)
        self._thread.start()

    def progress(self, fraction: float, fps: float | None = None, speed: float | None = None,
                 eta: float | None = None) -> None:
        with self._cond:
            self._latest = {"progress": round(min(max(fraction * 100.0, 0.0), 99.0), 2),
                            "fps": fps, "speed": speed, "eta": eta}
            self._dirty = True
            self._cond.notify()

    def heartbeat(self) -> None:
        """Say "still running" at the next progress slot, even without new progress."""
        with self._cond:
            self._dirty = True
            self._cond.notify()

    def should_stop(self) -> str | None:
        return self.reason if self.not_wanted.is_set() else None

    def _loop(self) -> None:
        last_sent = -1e9
        while True:
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                due = (self._dirty and now - last_sent >= PROGRESS_INTERVAL_S) or now - last_sent >= HEARTBEAT_INTERVAL_S
                if not due:
                    wait = PROGRESS_INTERVAL_S if self._dirty else HEARTBEAT_INTERVAL_S
                    self._cond.wait(timeout=max(0.05, last_sent + wait - now))
                    continue
                fields, self._dirty = dict(self._latest), False
            last_sent = time.monotonic()
            payload = {"attempt": self.job.attempt, "status": "running", "error": "", "log_tail": "", **fields}
            try:
                why = stop_requested(post_callback(self.job.callback_url, self.secret, self.job.job_id,
                                                   self.job.nonce, payload))
                if why:
                    raise AttemptNotWanted(why)
            except AttemptNotWanted as exc:
                self.reason = str(exc)
                self.not_wanted.set()
                return
            except CallbackError as exc:  # progress is best effort; the final callback is retried
                log.warning("job %s: progress callback failed: %s", self.job.job_id, exc)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=CALLBACK_TIMEOUT_S + 1)

    def check(self) -> None:
        if self.not_wanted.is_set():
            raise AttemptNotWanted(self.reason)


def send_final(job_id: int, attempt: int, nonce: str, url: str, secret: str, payload: dict, *,
               tries: int = FINAL_CALLBACK_TRIES, delay: float = 1.0) -> dict:
    """The succeeded/failed callback, retried with backoff on network errors and 5xx (each try
    signed afresh, so its timestamp is current)."""
    payload = {"attempt": attempt, "progress": 100.0 if payload.get("status") == "succeeded" else 0.0,
               "error": "", "log_tail": "", **payload}
    for attempt_no in range(1, tries + 1):
        try:
            return post_callback(url, secret, job_id, nonce, payload)
        except AttemptNotWanted as exc:
            return {"ignored": str(exc)}
        except CallbackError as exc:
            if attempt_no == tries or "refused" in str(exc):
                raise
            log.warning("job %s: final callback failed (try %d): %s", job_id, attempt_no, exc)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def final_options(env: Mapping[str, str]) -> dict:
    """Retries of the final callback: MPR_CALLBACK_TRIES (default 4), MPR_CALLBACK_BACKOFF_S (default 1, doubling)."""
    return {"tries": max(1, int(env.get("MPR_CALLBACK_TRIES") or FINAL_CALLBACK_TRIES)),
            "delay": float(env.get("MPR_CALLBACK_BACKOFF_S") or 1.0)}


# -- the work ----------------------------------------------------------------------------------
def _secret(env: Mapping[str, str]) -> str:
    secret = env.get("MPR_CALLBACK_SECRET")
    if not secret:
        raise InvalidEvent("MPR_CALLBACK_SECRET is not set in the function's environment (run `mpr aws deploy`)")
    return secret


def s3_client(env: Mapping[str, str]):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def transfer_config():
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=64 * MB, multipart_chunksize=64 * MB, max_concurrency=8)


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def estimate_output_bytes(spec: PresetSpec, in_size: int, duration: float | None = None) -> int:
    """Rough size of the output: bitrate presets from their rates, the others as big as the input."""
    if duration and (spec.video_bitrate or spec.audio_bitrate) and not spec.crf:
        return int(((spec.video_bitrate or 0) + (spec.audio_bitrate or 192)) * 1000 / 8 * duration * 1.1)
    return in_size


# where single-pass limits are hit: chunked jobs split the work across many Lambda runs
CHUNKED_ADVICE = ("run it chunked, split across many Lambda runs (docs/chunking.md): that needs "
                  "MPR_CHUNKED_STATE_MACHINE_ARN (printed by `mpr aws deploy`) and the job created with "
                  "chunked encoding requested, or estimated above the 600 s budget")


def check_tmp_space(tmp: Path, need: int, in_size: int, advice: str | None = None) -> None:
    """Refuse, with the numbers, when `need` bytes (plus a reserve) will not fit in `tmp`."""
    free = shutil.disk_usage(tmp).free
    if need + TMP_RESERVE_BYTES > free:
        raise TranscodeFailed(
            f"not enough room in the Lambda's {tmp} ({free / MB:.0f} MB free) for the input "
            f"({in_size / MB:.0f} MB) and its output; "
            + (advice or "a source this large needs chunked processing, whose chunks read it in place "
                         f"instead of downloading it: {CHUNKED_ADVICE}")
        )


def _seconds_left(context: Any) -> float:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return getter() / 1000.0 if getter else 900.0


def budget_left(context: Any, failed: type[Exception] = TranscodeFailed) -> float:
    """Seconds FFmpeg may take: what the Lambda has left minus DEADLINE_MARGIN_S (`failed`, the
    calling action's own error, if none: the single pass's, a chunk's or a ladder step's)."""
    budget = _seconds_left(context) - DEADLINE_MARGIN_S
    if budget <= 0:
        raise failed(f"only {_seconds_left(context):.0f} s of Lambda time left before FFmpeg "
                              f"could start (needs more than {DEADLINE_MARGIN_S:.0f} s)")
    return budget


def fetch_input(s3, job: Invocation, workdir: Path) -> tuple[Path, int]:
    """Check the source exists and fits in /tmp, then stream it there; returns (path, size)."""
    bucket, key = job.spec.source.bucket, job.spec.source.key
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NotFound"):
            raise TranscodeFailed(f"the input s3://{bucket}/{key} does not exist") from exc
        raise TranscodeFailed(f"cannot read the input s3://{bucket}/{key}: {exc}") from exc
    in_size = head["ContentLength"]
    check_tmp_space(workdir, in_size + estimate_output_bytes(job.spec.preset_spec, in_size), in_size)
    src = workdir / ("input" + Path(key).suffix.lower()[:12])
    s3.download_file(bucket, key, str(src), Config=transfer_config())
    return src, in_size


def encode(job: Invocation, src: Path, in_size: int, workdir: Path, context: Any, reporter: Reporter,
           tail: list[str]) -> tuple[Path, Any]:
    """Probe, then `run_single` within the time left; returns (output, the runner's result: its
    verified MediaInfo in `.info`)."""
    try:
        info = probe(str(src))
    except ProbeError as exc:
        raise TranscodeFailed(f"the input cannot be read as media: {exc}") from exc
    # a smart cut holds its parts (about the output's size) beside the joined output
    parts = 2 if job.spec.smart else 1
    check_tmp_space(workdir, parts * estimate_output_bytes(job.spec.preset_spec, in_size, info.duration), in_size)
    dst = workdir / ("output" + Path(job.spec.output.key).suffix.lower()[:12])
    budget = budget_left(context)
    try:
        result = asyncio.run(run_single(job.spec, src, dst, reporter, info=info, budget=budget, workdir=workdir))
    except CommandError as exc:
        raise TranscodeFailed(str(exc)) from exc
    except BudgetExceeded:
        raise TranscodeFailed(
            f"FFmpeg did not finish within the time this Lambda run had left ({budget:.0f} s, Lambda's limit "
            f"is 15 minutes); the job is too long for one Lambda run and needs chunked processing: {CHUNKED_ADVICE}"
        ) from None
    except StopRequested as exc:
        raise AttemptNotWanted(str(exc)) from None
    except FFmpegError as exc:
        tail.append(exc.stderr_tail or "")
        raise TranscodeFailed(exc.message) from exc
    except VerificationError as exc:
        raise TranscodeFailed(f"output check failed: {exc}") from exc
    tail.append(result.log_tail)
    return dst, result


def transcode(job: Invocation, secret: str, context: Any, env: Mapping[str, str], workdir: Path, tail: list[str]) -> dict:
    """S3 → /tmp → FFmpeg → verified output → S3, with "running" callbacks throughout."""
    s3 = s3_client(env)
    reporter = Reporter(job, secret)
    try:
        src, in_size = fetch_input(s3, job, workdir)
        reporter.check()
        dst, result = encode(job, src, in_size, workdir, context, reporter, tail)
        out = result.info
        src.unlink(missing_ok=True)  # room, and nothing to keep
        reporter.check()  # cancelled meanwhile: no upload
        out_bucket, out_key = job.spec.output.bucket, job.spec.output.key
        s3.upload_file(str(dst), out_bucket, out_key, Config=transfer_config(),
                       ExtraArgs={"ContentType": content_type(out_key)})
        output = {"key": out_key, "size": dst.stat().st_size, "duration": out.duration}
        if hasattr(result, "record"):  # a smart cut: what was re-encoded and copied, and its checks
            output["plan"] = result.record()
        return output
    finally:
        reporter.close()


def run_job(event: dict, context: Any, env: Mapping[str, str]) -> dict:
    job = parse_event(event)
    secret = _secret(env)
    tmp_root = Path(env.get("MPR_LAMBDA_TMP") or tempfile.gettempdir())
    workdir = Path(tempfile.mkdtemp(prefix=f"mpr-job-{job.job_id}-{job.attempt}-", dir=tmp_root))
    tail: list[str] = []
    started = time.monotonic()
    try:
        try:
            output = transcode(job, secret, context, env, workdir, tail)
        except AttemptNotWanted as exc:
            log.info("job %s attempt %s: stopped: %s", job.job_id, job.attempt, exc)
            return {"job_id": job.job_id, "attempt": job.attempt, "status": "stopped", "reason": str(exc)}
        except Exception as exc:  # noqa: BLE001 - every failure is reported, then re-raised
            reason = str(exc) if isinstance(exc, TranscodeFailed) else f"{type(exc).__name__}: {exc}"
            log.error("job %s attempt %s failed: %s", job.job_id, job.attempt, reason)
            try:
                send_final(job.job_id, job.attempt, job.nonce, job.callback_url, secret,
                           {"status": "failed", "error": reason, "log_tail": "".join(tail)[-8000:]},
                           **final_options(env))
            except CallbackError as cb_exc:
                reason += f" (and the failure callback failed: {cb_exc})"
            raise TranscodeFailed(reason) from exc
        send_final(job.job_id, job.attempt, job.nonce, job.callback_url, secret,
                   {"status": "succeeded", "output": output, "log_tail": "".join(tail)[-8000:]},
                   **final_options(env))
        log.info("job %s attempt %s: done in %.1f s: %s", job.job_id, job.attempt, time.monotonic() - started, output)
        return {"job_id": job.job_id, "attempt": job.attempt, "status": "succeeded", "output": output}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def failure_reason(error: str | None, cause: str | None) -> str:
    """A readable reason from a Catch's Error and Cause (a Lambda error's Cause is its JSON payload)."""
    if (error or "").strip() == "States.Timeout" and lambda_error(cause) is None:
        return "the transcode step timed out on Step Functions (the Lambda ran out of time)"
    return error_message(error, cause) or "the transcode step failed without a reason"


def report_failure(event: dict, env: Mapping[str, str]) -> dict:
    if not isinstance(event, dict):
        raise InvalidEvent("the event must be a JSON object")
    job_id, attempt = _positive_int(event, "job_id"), _positive_int(event, "attempt")
    url, secret, nonce = _callback_url(event), _secret(env), _nonce(event)
    reason = failure_reason(event.get("error"), event.get("cause"))
    reply = send_final(job_id, attempt, nonce, url, secret, {"status": "failed", "error": reason},
                       **final_options(env))
    return {"job_id": job_id, "attempt": attempt, "status": "failed", "reason": reason, "reply": reply}


_actions: dict[str, Any] = {}
_actions_lock = threading.Lock()


def _load_actions(name: str):
    """lambda/<name>.py, loaded by path like this file is in the moto harness."""
    with _actions_lock:
        if name not in _actions:
            import importlib.util

            spec = importlib.util.spec_from_file_location(f"mpr_{name}", Path(__file__).with_name(f"{name}.py"))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _actions[name] = module
        return _actions[name]


def chunk_actions():
    """lambda/chunk_actions.py (chunked encoding)."""
    return _load_actions("chunk_actions")


def sequence_actions():
    """lambda/sequence_actions.py (sequence renders: one Map item per clip, then the join)."""
    return _load_actions("sequence_actions")


def ladder_actions():
    """lambda/ladder_actions.py (output templates: one rendition per Map iteration, then the package)."""
    return _load_actions("ladder_actions")


def process(event: dict, context: Any, env: Mapping[str, str]) -> dict:
    """The handler with its environment passed in (the moto harness runs it in-process)."""
    action = event.get("action", "transcode") if isinstance(event, dict) else None
    if action == "report_failure":
        return report_failure(event, env)
    if action in ("chunk_encode", "chunk_audio", "chunk_join", "ladder_step", "ladder_package",
                  "sequence_clip", "sequence_audio", "sequence_join"):
        from types import SimpleNamespace

        module = {"chunk": chunk_actions, "ladder": ladder_actions, "sequence": sequence_actions}[action.split("_")[0]]()
        return module.process(event, context, env, SimpleNamespace(**globals()))
    if action != "transcode":
        raise InvalidEvent(f"unknown action {action!r}")
    if event.get("sequence") is not None:
        raise InvalidEvent("a sequence render runs as a Map of its clips on the sequence state machine "
                           "(sfn/transcode-sequence.asl.json; run `mpr aws deploy`), not as one transcode")
    if isinstance(event.get("ladder"), dict):
        raise InvalidEvent("this job makes an output template's outputs: it runs on the ladder state machine "
                           "(sfn/transcode-ladder.asl.json; run `mpr aws deploy`), not as one transcode")
    return run_job(event, context, env)


def handler(event: dict, context: Any) -> dict:
    """Lambda entry point (CMD ["handler.handler"])."""
    return process(event, context, os.environ)
