"""The sequence-render actions of the FFmpeg Lambda (sfn/transcode-sequence.asl.json,
docs/sequences.md#on-aws): what is specific to one Step Functions step — S3 work objects, presigned
URLs, progress markers. The work itself is `backend.pipeline.sequence`'s steps, the ones the local
run (`run_sequence`) calls.

lambda/handler.py dispatches `event["action"]` in SEQUENCE_ACTIONS here and passes itself as `base`
(event parsing, callbacks, S3 client, time budget), like lambda/chunk_actions.py, whose work
prefix, progress markers and error classes these share. Every event is the job's envelope and
JobSpec (whose `sequence` holds the clips and canvas, and `plan` the `SequencePlan`) plus what the
state machine adds:

- sequence_clip (+ `item`, one of plan.items): one clip (or part of a long clip) conformed to the
  canvas with the job's own preset (`encode_clip`), read from its source in the input bucket
  through a presigned URL (FFmpeg fetches only the byte ranges it needs), frame count checked,
  uploaded to the job's work prefix (`_chunks/job-{id}-attempt-{n}/` in the output bucket).
- sequence_audio: the whole sequence's audio once (`encode_sequence_audio`: every clip's audio,
  or silence, cut to exactly its video's samples); nothing when the sequence has no audio.
- sequence_join (+ `clips`, `audio`: the results of the above): downloads them, joins by one
  stream copy and checks the output (`join_sequence`: frame count = the clips' frames, A/V within
  one frame, every cut frame against its source, read through presigned URLs), uploads it,
  deletes the work prefix and sends the signed 'succeeded' callback with the run's record
  (`output.plan`, merged into the job's plan by the callback route).

Failures raise chunk_actions' ChunkFailed (never retried: FFmpeg would fail the same way) or
ChunkStopped (the backend no longer wants the attempt). Progress: one marker object per item
weighted by its frames (chunk_actions' ProgressBoard); the join is the last 3 %.
"""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

from backend.media.chunking import CHUNKS_SHARE
from backend.media.runner import Progress
from backend.media.sequence import audio_ext, clip_ext, clip_frames
from backend.media.verify import VerificationError
from backend.pipeline import SpecError
from backend.pipeline.sequence import (
    SequenceResult, clip_label, encode_clip, encode_sequence_audio, join_sequence,
)
from backend.pipeline.sequence_plan import SequencePart, SequencePlan

SEQUENCE_ACTIONS = ("sequence_clip", "sequence_audio", "sequence_join")

DOWNLOAD_THREADS = 16
MAX_RECORD_BYTES = 15_000  # the callback keeps at most 20,000 bytes of record; the cut list goes first


def _plan(job, base) -> SequencePlan:
    try:
        plan = job.spec.sequence_plan
    except (KeyError, TypeError, ValueError, SpecError) as exc:
        raise base.InvalidEvent(f"plan is not a sequence plan: {exc}") from exc
    if plan is None:
        raise base.InvalidEvent("a sequence render on AWS needs its plan (the Map's items); run it through "
                                "the AWS executor")
    return plan


def _sources(s3, job, ca) -> list[str]:
    """A presigned URL per clip (one per source object), in clip order."""
    urls: dict[tuple[str, str], str] = {}
    for clip in job.spec.sequence.clips:
        where = (clip.input.bucket, clip.input.key)
        if where not in urls:
            urls[where] = ca._presigned(s3, *where)
    return [urls[(c.input.bucket, c.input.key)] for c in job.spec.sequence.clips]


_URL = re.compile(r"https?://\S+")


def redact(message: str, job) -> str:
    """`message` with every presigned URL (FFmpeg says "Error opening input <url>: …") replaced by
    the object it reads, s3://bucket/key: a job's error is shown to people and must not carry a
    signature."""
    objects = {(c.input.bucket, c.input.key) for c in job.spec.sequence.clips}

    def one(match: re.Match) -> str:
        url, colon = (match.group(0)[:-1], ":") if match.group(0).endswith(":") else (match.group(0), "")
        parts = urlsplit(url)
        if not parts.query:
            return match.group(0)
        path = unquote(parts.path)
        named = [f"s3://{b}/{k}" for b, k in sorted(objects) if path.endswith("/" + k)]
        return (named[0] if named else "a presigned S3 URL") + colon

    return _URL.sub(one, message)


def _redacted(ca, job, run):
    """Run `run()`; its ChunkFailed (or VerificationError) comes out with its URLs redacted."""
    try:
        return run()
    except (ca.ChunkFailed, VerificationError) as exc:
        clean = redact(str(exc), job)
        if clean == str(exc):
            raise
        raise type(exc)(clean) from exc


def sequence_clip(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    ca = base.chunk_actions()
    job, secret = base.parse_event(event), base._secret(env)
    plan = _plan(job, base)
    try:
        item = SequencePart(**{k: int(v) for k, v in dict(event["item"]).items()})
        if plan.items[item.index] != item:
            raise ValueError(f"item {item.index} is not the plan's")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise base.InvalidEvent(f"a sequence clip needs one of the plan's items: {exc}") from exc
    what = clip_label(job.spec, item.clip, item.part)
    bucket, prefix = ca.work_location(job, base)
    s3 = base.s3_client(env)
    board = ca.ProgressBoard(s3, bucket, prefix, item.index, plan.weight(item.index))
    reporter = base.Reporter(job, secret)
    work = ca._workdir(env, f"clip-{job.job_id}-{item.index}")
    dst = work / f"part-{item.index:05d}{clip_ext(job.spec.preset_spec)}"

    async def on_progress(p: Progress) -> None:
        now = time.monotonic()
        if now - board.last < ca.MARKER_INTERVAL_S and p.percent < 100.0:
            return
        board.last = now
        percent = await asyncio.to_thread(board.publish, p.percent)
        reporter.progress(percent / 100.0, p.fps, p.speed)

    try:
        budget = base.budget_left(context, ca.ChunkFailed)
        clip = job.spec.sequence.clips[item.clip]
        source = ca._presigned(s3, clip.input.bucket, clip.input.key)
        got, _ = _redacted(ca, job, lambda: ca._step(base, encode_clip(
            job.spec, item.clip, source, dst, part=item.part, on_progress=on_progress, budget=budget,
            should_stop=reporter.should_stop), budget))
        job_percent = board.publish(100.0)
        ca._report_now(base, job, secret, job_percent)  # a finished clip is news the throttle must not drop
        reporter.check()
        key = f"{prefix}clips/{dst.name}"
        s3.upload_file(str(dst), bucket, key, Config=base.transfer_config())
        size = dst.stat().st_size
    except base.AttemptNotWanted as exc:
        raise ca.ChunkStopped(str(exc)) from exc
    except VerificationError as exc:
        raise ca.ChunkFailed(f"{exc}") from exc
    except ca.ChunkFailed as exc:
        raise ca.ChunkFailed(f"{what}: {exc}" if not str(exc).startswith("clip ") else str(exc)) from exc
    finally:
        reporter.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"index": item.index, "key": key, "frames": got, "size": size, "job_percent": round(job_percent, 3)}


def sequence_audio(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    ca = base.chunk_actions()
    job = base.parse_event(event)
    _plan(job, base)
    if not job.spec.sequence.conform.audio:
        return {"key": None, "size": 0}
    bucket, prefix = ca.work_location(job, base)
    s3 = base.s3_client(env)
    work = ca._workdir(env, f"sequence-audio-{job.job_id}")
    dst = work / f"audio{audio_ext(job.spec.preset_spec)}"
    try:
        budget = base.budget_left(context, ca.ChunkFailed)
        sources = _sources(s3, job, ca)
        _redacted(ca, job, lambda: ca._step(base, encode_sequence_audio(job.spec, sources, dst, budget=budget), budget))
        key = f"{prefix}audio/{dst.name}"
        size = dst.stat().st_size
        s3.upload_file(str(dst), bucket, key, Config=base.transfer_config())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"key": key, "size": size}


def _record(plan: SequencePlan, result: SequenceResult) -> dict:
    """What the job's plan keeps about the run: the local run's record, the Map's layout beside it."""
    record = {**result.record(), **plan.summary(), "clip_frames": result.clip_frames,
              "frames_out": result.check.frames, "stages": result.stages}
    record.pop("wall_seconds", None)
    if len(json.dumps(record)) > MAX_RECORD_BYTES:  # a long sequence: the count of checked cuts only
        record["cuts"] = len(result.check.cuts)
    return record


def sequence_join(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    ca = base.chunk_actions()
    job, secret = base.parse_event(event), base._secret(env)
    plan = _plan(job, base)
    spec, canvas = job.spec, job.spec.sequence.conform
    out_bucket, out_key = spec.output.bucket, spec.output.key
    bucket, prefix = ca.work_location(job, base)
    results = sorted(event.get("clips") or [], key=lambda r: r.get("index", -1))
    if [r.get("index") for r in results] != list(range(len(plan.items))):
        raise ca.ChunkFailed(f"join got items {[r.get('index') for r in results]}, the plan has {len(plan.items)}")
    audio_made = event.get("audio") if isinstance(event.get("audio"), dict) else {}
    audio_key = audio_made.get("key")
    if canvas.audio and not audio_key:
        raise ca.ChunkFailed("join: the sequence's audio was not made")
    s3 = base.s3_client(env)
    reporter = base.Reporter(job, secret)
    work = ca._workdir(env, f"sequence-join-{job.job_id}")
    started = time.monotonic()
    try:
        need = 2 * sum(int(r.get("size") or 0) for r in [*results, audio_made])
        base.check_tmp_space(work, need, need // 2, advice=(
            "the join needs the clips and the joined output in /tmp at once (10 GiB at most), so a "
            "sequence this large cannot be joined in one Lambda run"))
        ext = clip_ext(spec.preset_spec)
        paths = [work / f"part-{r['index']:05d}{ext}" for r in results]
        downloads = [(r["key"], p) for r, p in zip(results, paths)]
        audio = work / f"audio{audio_ext(spec.preset_spec)}" if canvas.audio else None
        if audio is not None:
            downloads.append((audio_key, audio))
        with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            list(pool.map(lambda kp: s3.download_file(bucket, kp[0], str(kp[1])), downloads))
        reporter.check()
        dst = work / f"output{Path(out_key).suffix.lower()[:12] or ext}"

        def on_progress(p: Progress) -> None:
            if p.percent < 100.0:
                reporter.progress((CHUNKS_SHARE + (100.0 - CHUNKS_SHARE) * p.percent / 100.0) / 100.0, p.fps, p.speed)

        budget = base.budget_left(context, ca.ChunkFailed)
        stages: dict = {}
        try:
            sources = _sources(s3, job, ca)
            check, info, tail = _redacted(ca, job, lambda: ca._step(base, join_sequence(
                spec, paths, audio, dst, sources, workdir=work, on_progress=on_progress,
                budget=budget, should_stop=reporter.should_stop, stages=stages), budget))
        except VerificationError as exc:
            raise ca.ChunkFailed(f"sequence check failed: {exc}") from exc
        reporter.check()  # cancelled meanwhile: nothing lands in the output bucket
        s3.upload_file(str(dst), out_bucket, out_key, Config=base.transfer_config(),
                       ExtraArgs={"ContentType": base.content_type(out_key)})
        frames = [clip_frames(c.start, c.end, canvas.fps) for c in spec.sequence.clips]
        result = SequenceResult(info, check, frames, plan.max_concurrency, time.monotonic() - started, tail, stages)
        output = {"key": out_key, "size": dst.stat().st_size, "duration": info.duration,
                  "plan": _record(plan, result)}
    except base.AttemptNotWanted as exc:
        raise ca.ChunkStopped(str(exc)) from exc
    finally:
        reporter.close()
        shutil.rmtree(work, ignore_errors=True)
    ca._delete_prefix(s3, bucket, prefix)
    base.send_final(job.job_id, job.attempt, job.nonce, job.callback_url, secret,
                    {"status": "succeeded", "output": output, "log_tail": (result.note() + "\n" + tail)[-8000:]},
                    **base.final_options(env))
    return {"job_id": job.job_id, "attempt": job.attempt, "status": "succeeded", "output": output,
            "items": len(plan.items), "frames": check.frames}


ACTIONS = {"sequence_clip": sequence_clip, "sequence_audio": sequence_audio, "sequence_join": sequence_join}


def process(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    """Run one sequence action; `base` is lambda/handler.py's namespace."""
    return ACTIONS[event["action"]](event, context, env, base)
