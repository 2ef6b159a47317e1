"""The chunked-encoding actions of the FFmpeg Lambda (sfn/transcode-chunked.asl.json, docs/chunking.md):
what is specific to one Map iteration — S3 work objects, presigned URLs, progress markers. The
encoding itself is `backend.pipeline.chunked`'s steps (the same the local executor runs).

lambda/handler.py dispatches `event["action"]` in CHUNK_ACTIONS here and passes itself as `base`
(its event parsing with `JobSpec`, callbacks, S3 client, time budget and the pipeline's steps),
so both paths share one callback and S3 code. Every action's event is the job's envelope and
JobSpec (whose `plan` is the ChunkPlan) plus what the state machine adds:

- chunk_encode (+ `chunk`, one of plan.chunks): one video chunk, read from the source through a
  presigned URL (FFmpeg fetches only the byte ranges it needs, nothing is downloaded), checked
  for its exact frame count and uploaded to the job's work prefix
  (`_chunks/job-{id}-attempt-{n}/` in the output bucket).
- chunk_audio (+ `part`, one of plan.audio_parts): one audio part — a segment with its pre-roll
  (read through a presigned URL, like a chunk), or the whole range encoded once, or the source's
  track copied (both from a parallel download of the source) — uploaded to the work prefix.
- chunk_join (+ `chunks`, `audio`: the results of the above): downloads the chunks and the audio
  parts, joins the parts' packets and the chunks by one stream copy, verifies duration, frame
  count, audio/video sync and the audio joins, uploads the output, deletes the work prefix, and
  sends the signed 'succeeded' callback.

The join uploads its MP4/MOV output while FFmpeg writes it (`GrowingUpload`: a multipart upload
whose parts go up as the file grows past them; the head, where FFmpeg writes the index last into
the room it reserved, goes up last), so the upload overlaps the copy instead of following it; the
upload is completed only once the joined file passed its checks, and aborted otherwise.

Progress is the sum of the chunks' progress: each chunk Lambda keeps one empty marker object
`progress/{index}-{share}` under the work prefix (its frame-weighted share, in millionths of the
whole job) and reports the sum of all markers it can list. Failures raise ChunkFailed (never
retried: FFmpeg would fail the same way) or ChunkStopped (the backend no longer wants the
attempt); other errors (S3, timeouts) are retried per chunk by the state machine.
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping

from backend.media.chunking import CHUNKS_SHARE, Chunk, ChunkPlan, moov_room
from backend.media.runner import FFmpegError, Progress
from backend.media.verify import VerificationError

CHUNK_ACTIONS = ("chunk_encode", "chunk_audio", "chunk_join")
WORK_PREFIX = "_chunks/"
MARKER_INTERVAL_S = 3.0  # a chunk updates its progress marker (and lists the others) this often
PRESIGN_SECONDS = 3600
DOWNLOAD_THREADS = 16
UPLOAD_PART_BYTES = 64 * 1024 * 1024  # parts of a growing upload (S3: at least 5 MiB but the last)
UPLOAD_THREADS = 4
GROWTH_POLL_S = 0.2
GROWING_CONTAINERS = ("mp4", "mov")  # written front to back but for the index room (-moov_size)


class ChunkFailed(RuntimeError):
    """A chunk, the audio or the join failed in a way a retry would not fix."""


class ChunkStopped(RuntimeError):
    """The backend answered that this attempt is no longer wanted (cancelled or superseded)."""


# -- the event -------------------------------------------------------------------------------
def work_location(job, base) -> tuple[str, str]:
    """(bucket, prefix) of a job attempt's intermediate objects: beside its output."""
    return job.spec.output.bucket, f"{WORK_PREFIX}job-{job.job_id}-attempt-{job.attempt}/"


def _plan(job, base) -> ChunkPlan:
    plan = job.spec.chunk_plan
    if plan is None:
        raise base.InvalidEvent("plan is not a chunk plan: the spec has none")
    return plan


def _presigned(s3, bucket: str, key: str) -> str:
    return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                     ExpiresIn=PRESIGN_SECONDS)


# -- progress markers ------------------------------------------------------------------------
class ProgressBoard:
    """Frame-weighted chunk progress shared through marker objects under the work prefix."""

    def __init__(self, s3, bucket: str, prefix: str, index: int, weight: float):
        self.s3, self.bucket, self.prefix = s3, bucket, prefix + "progress/"
        self.index, self.weight = index, weight
        self.key: str | None = None
        self.last = 0.0

    def publish(self, percent: float) -> float:
        """Record this chunk at `percent`; return the job's percent (sum over all chunks)."""
        share = int(round(self.weight * min(max(percent, 0.0), 100.0) / 100.0 * 1_000_000))
        key = f"{self.prefix}{self.index:05d}-{share:07d}"
        if key != self.key:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"")
            if self.key:
                self.s3.delete_object(Bucket=self.bucket, Key=self.key)
            self.key = key
        return self.total()

    def total(self) -> float:
        best: dict[str, int] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                index, _, share = obj["Key"][len(self.prefix):].partition("-")
                if share.isdigit():
                    best[index] = max(best.get(index, 0), int(share))
        return CHUNKS_SHARE * sum(best.values()) / 1_000_000


def _report_now(base, job, secret: str, percent: float) -> None:
    """One "running" callback with the job's summed progress, now; a stop reply raises ChunkStopped."""
    payload = {"attempt": job.attempt, "status": "running", "error": "", "log_tail": "",
               "progress": round(min(percent, 99.0), 2)}
    try:
        why = base.stop_requested(base.post_callback(job.callback_url, secret, job.job_id, job.nonce, payload))
    except base.AttemptNotWanted as exc:
        raise ChunkStopped(str(exc)) from exc
    except base.CallbackError:
        return  # progress is best effort
    if why:
        raise ChunkStopped(why)


# -- running a pipeline step within the Lambda's time -----------------------------------------
def _step(base, coro, budget: float):
    """Run one `backend.pipeline.chunked` step to its end; its failures become ChunkFailed /
    ChunkStopped."""
    try:
        return asyncio.run(coro)
    except base.BudgetExceeded:
        raise ChunkFailed(f"FFmpeg did not finish within the {budget:.0f} s this Lambda run had left: "
                          "plan shorter chunks") from None
    except base.StopRequested as exc:
        raise ChunkStopped(str(exc)) from None
    except FFmpegError as exc:
        raise ChunkFailed(exc.message) from exc


def _workdir(env: Mapping[str, str], name: str) -> Path:
    root = Path(env.get("MPR_LAMBDA_TMP") or tempfile.gettempdir())
    return Path(tempfile.mkdtemp(prefix=f"mpr-{name}-", dir=root))


# -- actions ---------------------------------------------------------------------------------
def chunk_encode(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    job, secret = base.parse_event(event), base._secret(env)
    plan = _plan(job, base)
    try:
        chunk = Chunk(**event["chunk"])
        if plan.chunks[chunk.index] != chunk:
            raise ValueError(f"chunk {chunk.index} is not the plan's")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise base.InvalidEvent(f"chunk_encode needs one of the plan's chunks: {exc}") from exc
    bucket, prefix = work_location(job, base)
    s3 = base.s3_client(env)
    board = ProgressBoard(s3, bucket, prefix, chunk.index, plan.weight(chunk.index))
    reporter = base.Reporter(job, secret)
    work = _workdir(env, f"chunk-{job.job_id}-{chunk.index}")
    dst = work / f"chunk-{chunk.index:05d}{plan.join.chunk_ext}"

    async def on_progress(p: Progress) -> None:
        now = time.monotonic()
        if now - board.last < MARKER_INTERVAL_S and p.percent < 100.0:
            return
        board.last = now
        percent = await asyncio.to_thread(board.publish, p.percent)
        reporter.progress(percent / 100.0, p.fps, p.speed)

    try:
        budget = base.budget_left(context, ChunkFailed)
        source = _presigned(s3, job.spec.source.bucket, job.spec.source.key)
        got, _ = _step(base, base.encode_chunk(plan, chunk.index, source, dst, on_progress=on_progress,
                                               budget=budget, should_stop=reporter.should_stop), budget)
        job_percent = board.publish(100.0)
        _report_now(base, job, secret, job_percent)  # a finished chunk is news the throttle must not drop
        reporter.check()
        key = f"{prefix}chunks/{dst.name}"
        s3.upload_file(str(dst), bucket, key, Config=base.transfer_config())
        size = dst.stat().st_size
    except base.AttemptNotWanted as exc:
        raise ChunkStopped(str(exc)) from exc
    except VerificationError as exc:
        raise ChunkFailed(f"chunk {chunk.index} ({chunk.first:.3f} s, {chunk.frames} frames): {exc}") from exc
    except ChunkFailed as exc:
        raise ChunkFailed(f"chunk {chunk.index} ({chunk.first:.3f} s, {chunk.frames} frames): {exc}") from exc
    finally:
        reporter.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"index": chunk.index, "key": key, "frames": got, "size": size, "job_percent": round(job_percent, 3)}


def _audio_source(s3, bucket: str, key: str, work: Path, base) -> str:
    """The source for the audio encode: downloaded with parallel ranged GETs when /tmp has room
    (audio interleaved with video would make FFmpeg skip through the whole object over one
    HTTP connection), else the presigned URL."""
    size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    if shutil.disk_usage(work).free < size + 2 * base.TMP_RESERVE_BYTES:
        return _presigned(s3, bucket, key)
    local = work / ("source" + Path(key).suffix.lower()[:12])
    s3.download_file(bucket, key, str(local), Config=base.transfer_config())
    return str(local)


def chunk_audio(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    job = base.parse_event(event)
    plan = _plan(job, base)
    if plan.audio is None:
        return {"index": 0, "key": None, "size": 0}
    try:
        index = int((event.get("part") or {"index": 0})["index"])
        plan.audio_parts[index]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise base.InvalidEvent(f"chunk_audio needs one of the plan's audio parts: {exc}") from exc
    bucket, prefix = work_location(job, base)
    s3 = base.s3_client(env)
    work = _workdir(env, f"audio-{job.job_id}-{index}")
    dst = work / f"audio-{index:03d}{plan.audio.ext}"
    try:
        budget = base.budget_left(context, ChunkFailed)
        if plan.audio.mode == "segments":  # a few minutes of the source: FFmpeg reads just that range
            source = _presigned(s3, job.spec.source.bucket, job.spec.source.key)
        else:
            source = _audio_source(s3, job.spec.source.bucket, job.spec.source.key, work, base)
        _step(base, base.encode_audio(plan, source, dst, part=index, budget=budget), budget)
        key = f"{prefix}audio/{dst.name}"
        size = dst.stat().st_size
        s3.upload_file(str(dst), bucket, key, Config=base.transfer_config())
    except ChunkFailed as exc:
        raise ChunkFailed(f"audio part {index}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"index": index, "key": key, "size": size}


class GrowingUpload:
    """Multipart upload of a file while FFmpeg writes it, front to back but for its first `head`
    bytes (the reserved MP4 index, the mdat header): every `part_bytes` past the head goes up as
    soon as the file has grown beyond it; `finish()` sends the rest and the head and completes the
    upload; `abort()` drops it (nothing appears under the key)."""

    def __init__(self, s3, path: Path, bucket: str, key: str, head: int, extra: Mapping[str, Any],
                 part_bytes: int = UPLOAD_PART_BYTES):
        self.s3, self.path, self.bucket, self.key = s3, Path(path), bucket, key
        self.head = max(int(head), 5 * 1024 * 1024)
        self.part_bytes = max(int(part_bytes), 5 * 1024 * 1024)
        self.upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
        self.pool = ThreadPoolExecutor(UPLOAD_THREADS)
        self.sent: list = []  # futures of (part number, ETag)
        self.next_start = self.head
        self.stop = False
        self.watcher = ThreadPoolExecutor(1)
        self.watching = self.watcher.submit(self._watch)

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _part(self, number: int, start: int, end: int) -> tuple[int, str]:
        with open(self.path, "rb") as fh:
            fh.seek(start)
            body = fh.read(end - start)
        etag = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                   PartNumber=number, Body=body)["ETag"]
        return number, etag

    def _send_ready(self, size: int, final: bool) -> None:
        while self.next_start + self.part_bytes <= size or (final and self.next_start < size):
            end = min(size, self.next_start + self.part_bytes)
            self.sent.append(self.pool.submit(self._part, len(self.sent) + 2, self.next_start, end))
            self.next_start = end

    def _watch(self) -> None:
        while not self.stop:
            self._send_ready(self._size(), final=False)
            time.sleep(GROWTH_POLL_S)

    def finish(self) -> int:
        """Send what is left (the tail, then the head) and complete the upload; the file's size."""
        self.stop = True
        self.watching.result()
        size = self._size()
        if size <= self.head:  # a small file: one part, all of it
            parts = [self._part(1, 0, size)]
        else:
            self._send_ready(size, final=True)
            parts = [self._part(1, 0, self.head)] + [f.result() for f in self.sent]
        self.pool.shutdown()
        self.watcher.shutdown()
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in sorted(parts)]})
        return size

    def abort(self) -> None:
        self.stop = True
        try:
            self.watching.result()
        except Exception:  # noqa: BLE001 - the upload is dropped anyway
            pass
        for f in self.sent:
            f.cancel()
        self.pool.shutdown(wait=True)
        self.watcher.shutdown()
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except Exception:  # noqa: BLE001 - a lifecycle rule removes stale uploads
            pass


def _delete_prefix(s3, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def chunk_join(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    job, secret = base.parse_event(event), base._secret(env)
    plan = _plan(job, base)
    out_bucket, out_key = job.spec.output.bucket, job.spec.output.key
    bucket, prefix = work_location(job, base)
    results = sorted(event.get("chunks") or [], key=lambda r: r.get("index", -1))
    if [r.get("index") for r in results] != list(range(len(plan.chunks))):
        raise ChunkFailed(f"join got chunks {[r.get('index') for r in results]}, "
                          f"the plan has {len(plan.chunks)}")
    audio_parts = event.get("audio") or []
    if isinstance(audio_parts, dict):  # an execution started before audio parts existed
        audio_parts = [{"index": 0, **audio_parts}]
    audio_keys = [r.get("key") for r in sorted(audio_parts, key=lambda r: r.get("index", -1)) if r.get("key")]
    if plan.audio is not None and len(audio_keys) != len(plan.audio_parts):
        raise ChunkFailed(f"join: {len(audio_keys)} of the {len(plan.audio_parts)} audio parts were made")
    s3 = base.s3_client(env)
    reporter = base.Reporter(job, secret)
    work = _workdir(env, f"join-{job.job_id}")
    try:
        # the chunks and the output, the audio parts and their joined packets
        need = 2 * sum(int(r.get("size") or 0) for r in [*results, *audio_parts])
        base.check_tmp_space(work, need, need // 2, advice=(
            "the join needs the chunks and the joined output in /tmp at once (10 GiB at most), so an "
            "output this large cannot be joined in one Lambda run"))
        paths = [work / f"chunk-{r['index']:05d}{plan.join.chunk_ext}" for r in results]
        downloads = [(r["key"], p) for r, p in zip(results, paths)]
        audio = [work / f"audio-{i:03d}{plan.audio.ext}" for i in range(len(audio_keys))] if audio_keys else None
        downloads += list(zip(audio_keys, audio or []))
        with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            list(pool.map(lambda kp: s3.download_file(bucket, kp[0], str(kp[1])), downloads))
        reporter.check()
        dst = work / f"output{Path(out_key).suffix.lower()[:12] or plan.join.chunk_ext}"

        def on_progress(p: Progress) -> None:
            if p.percent < 100.0:
                share = CHUNKS_SHARE + (100.0 - CHUNKS_SHARE) * p.percent / 100.0
                reporter.progress(share / 100.0, p.fps, p.speed, p.eta)

        budget = base.budget_left(context, ChunkFailed)
        growing = None
        if plan.join.container in GROWING_CONTAINERS:  # the upload runs beside the copy
            packets = plan.audio.packets if plan.audio is not None else 0
            growing = GrowingUpload(s3, dst, out_bucket, out_key,
                                    moov_room(plan.total_frames, plan.join.duration, packets) + 1024 * 1024,
                                    {"ContentType": base.content_type(out_key)})
        try:
            try:
                stats, tail = _step(base, base.join_chunks(
                    plan, paths, audio, dst, [int(r["frames"]) for r in results], workdir=work,
                    on_progress=on_progress, budget=budget, should_stop=reporter.should_stop), budget)
            except VerificationError as exc:
                raise ChunkFailed(f"joined output check failed: {exc}") from exc
            for p in paths:
                p.unlink(missing_ok=True)
            reporter.check()
            if growing is not None:
                growing.finish()
                growing = None
            else:
                s3.upload_file(str(dst), out_bucket, out_key, Config=base.transfer_config(),
                               ExtraArgs={"ContentType": base.content_type(out_key)})
        finally:
            if growing is not None:
                growing.abort()
        output = {"key": out_key, "size": dst.stat().st_size, "duration": stats.video_duration}
    except base.AttemptNotWanted as exc:
        raise ChunkStopped(str(exc)) from exc
    finally:
        reporter.close()
        shutil.rmtree(work, ignore_errors=True)
    _delete_prefix(s3, bucket, prefix)
    note = f"chunked: {len(plan.chunks)} chunks, {stats.video_frames} frames, audio {plan.audio_summary()}\n"
    base.send_final(job.job_id, job.attempt, job.nonce, job.callback_url, secret,
                    {"status": "succeeded", "output": output, "log_tail": (note + tail)[-8000:]},
                    **base.final_options(env))
    return {"job_id": job.job_id, "attempt": job.attempt, "status": "succeeded", "output": output,
            "chunks": len(plan.chunks), "frames": stats.video_frames}


ACTIONS = {"chunk_encode": chunk_encode, "chunk_audio": chunk_audio, "chunk_join": chunk_join}


def process(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    """Run one chunk action; `base` is lambda/handler.py's namespace (events, callbacks, S3, budget, steps)."""
    return ACTIONS[event["action"]](event, context, env, base)
