"""Chunked encoding on this machine: runs a `backend.media.chunking.ChunkPlan` with a pool of
FFmpeg processes, so slow codecs use every core of a big machine.

The video chunks run `concurrency` at a time (each one `backend.media.runner.run_ffmpeg`, so
cancelling `run_chunked` stops every FFmpeg cleanly), the audio is encoded once alongside, each
chunk's frame count is checked as it lands, then the chunks are joined by stream copy and the
result is verified against the plan (duration, frame count, audio/video sync). Progress is the
sum of the chunks' progress weighted by their frames (97 %), the join is the last 3 %.
The local executor decides (`local_decision`) and calls `run_chunked`; the Lambda runs the same
plan as a Step Functions Map (lambda/chunk_actions.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from backend.media.chunking import (
    CHUNKS_SHARE,
    ChunkDecision,
    ChunkPlan,
    StreamStats,
    chunk_seconds_for,
    concat_list,
    plan_chunks,
    read_frame_index,
    should_chunk,
    stream_stats,
    verify_joined,
)
from backend.media.command import Trim
from backend.media.presets import PresetSpec
from backend.media.probe import MediaInfo
from backend.media.runner import FFmpegError, Progress, run_ffmpeg
from backend.media.verify import VerificationError

PROGRESS_INTERVAL = 0.5
SINGLE_ENCODER_CORES = 4  # about how many cores one x264/VP9 process keeps busy at 1080p
LOCAL_BUDGET_SECONDS = 120.0  # a longer estimated single pass is chunked on a machine with spare cores

ProgressCallback = Callable[[Progress], "Awaitable[None] | None"]


@dataclass
class ChunkedResult:
    stats: StreamStats  # of the joined output
    chunk_frames: list[int]
    concurrency: int
    wall_seconds: float
    log_tail: str = ""

    def record(self, plan: ChunkPlan) -> dict:
        """What TranscodeJob.plan keeps about this run."""
        return {**plan.summary(self.concurrency), "wall_seconds": round(self.wall_seconds, 2),
                "frames_out": self.stats.video_frames}


def default_concurrency(cores: int | None = None) -> int:
    """Chunks at a time: every core busy, each FFmpeg with about two threads."""
    return max(2, (cores or os.cpu_count() or 2) // 2)


def local_decision(
    info: MediaInfo, spec: PresetSpec, trim: Trim | None, *, requested: bool | None = None,
    cores: int | None = None, budget_seconds: float = LOCAL_BUDGET_SECONDS,
) -> ChunkDecision:
    """Chunk locally when asked, or when the machine has more cores than one encoder keeps busy
    and the single pass (at SINGLE_ENCODER_CORES) is estimated above `budget_seconds`."""
    cores = cores or os.cpu_count() or 2
    decision = should_chunk(info, spec, budget_seconds, trim=trim, requested=requested,
                            vcpus=min(cores, SINGLE_ENCODER_CORES))
    if decision.chunked and requested is None and cores <= SINGLE_ENCODER_CORES:
        return ChunkDecision(False, f"single pass: {cores} cores are already busy with one encoder",
                             decision.estimated_seconds)
    return decision


def plan_local(
    src, info: MediaInfo, spec: PresetSpec, trim: Trim | None, *, concurrency: int | None = None,
    target_seconds: float | None = None,
) -> ChunkPlan:
    """A plan cut on the local source's keyframes, about two chunks per worker (blocking: ffprobe)."""
    concurrency = concurrency or default_concurrency()
    start = (trim or Trim()).start or 0.0
    end = info.duration if trim is None or trim.end is None else min(trim.end, info.duration)
    target = target_seconds or chunk_seconds_for(end - start, 2 * concurrency)
    return plan_chunks(info, spec, trim, index=read_frame_index(src), target_seconds=target,
                       max_concurrency=concurrency)


class _Aggregate:
    """Sums chunk progress into one Progress stream, at most every PROGRESS_INTERVAL s."""

    def __init__(self, plan: ChunkPlan, sink: ProgressCallback | None):
        self.plan = plan
        self.sink = sink
        self.percent = [0.0] * len(plan.chunks)
        self.fps: dict[int, float] = {}
        self.speed: dict[int, float] = {}
        self.started = time.monotonic()
        self.last_emit = 0.0

    def total(self) -> float:
        return CHUNKS_SHARE * sum(self.plan.weight(i) * p / 100.0 for i, p in enumerate(self.percent))

    async def chunk(self, index: int, p: Progress) -> None:
        self.percent[index] = max(self.percent[index], p.percent)
        if p.percent >= 100.0:
            self.fps.pop(index, None)
            self.speed.pop(index, None)
        else:
            if p.fps:
                self.fps[index] = p.fps
            if p.speed:
                self.speed[index] = p.speed
        now = time.monotonic()
        if now - self.last_emit >= PROGRESS_INTERVAL:
            self.last_emit = now
            await self.emit(self.total())

    async def emit(self, percent: float) -> None:
        if self.sink is None:
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed * (100.0 - percent) / percent if percent > 0.5 else None
        duration = self.plan.join.duration
        p = Progress(
            out_time=round(duration * percent / 100.0, 3), percent=round(min(percent, 100.0), 2),
            fps=round(sum(self.fps.values()), 1) if self.fps else None,
            speed=round(sum(self.speed.values()), 3) if self.speed else None,
            eta=None if eta is None else round(eta, 1), frame=None,
        )
        result = self.sink(p)
        if inspect.isawaitable(result):
            await result


async def _cancel_all(tasks: list[asyncio.Task]) -> None:
    """Cancel `tasks` and return only once every one has finished, i.e. its FFmpeg has exited.

    A cancel of the caller while this waits does not cut the wait short: returning early would
    leave chunk FFmpegs running after the job is over, writing into a work folder being removed
    (the local executor cancels a job's task more than once: the cancel event, the progress
    write that finds the job cancelled, the watchdog, `stop`). It is re-raised once all are done.
    """
    for task in tasks:
        task.cancel()
    interrupted = False
    pending = [task for task in tasks if not task.done()]
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            interrupted = True
        pending = [task for task in pending if not task.done()]
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise
    if interrupted:
        raise asyncio.CancelledError


async def run_chunked(
    plan: ChunkPlan,
    src,
    dst,
    on_progress: ProgressCallback | None = None,
    concurrency: int | None = None,
    *,
    workdir: str | Path | None = None,
) -> ChunkedResult:
    """Encode `src` into `dst` by `plan`; raise FFmpegError / VerificationError on failure.

    Chunks go to a temporary folder (in `workdir`, default next to `dst`), removed afterwards.
    Cancelling the awaiting task stops every FFmpeg and removes the partial output.
    """
    started = time.monotonic()
    concurrency = max(1, concurrency or plan.max_concurrency)
    dst = Path(dst)
    parent = Path(workdir) if workdir else dst.parent
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".mpr-chunks-", dir=parent))
    agg = _Aggregate(plan, on_progress)
    gate = asyncio.Semaphore(concurrency)
    chunk_paths = [work / f"chunk-{c.index:05d}{plan.join.chunk_ext}" for c in plan.chunks]
    frames: list[int] = [0] * len(plan.chunks)
    tails: list[str] = []

    async def encode(index: int) -> None:
        chunk = plan.chunks[index]
        async with gate:
            argv = plan.chunk_command(index, src, chunk_paths[index])
            try:
                tails.append(await run_ffmpeg(
                    argv, duration=chunk.frames / plan.join.fps, output=chunk_paths[index],
                    on_progress=lambda p: agg.chunk(index, p),
                ))
            except FFmpegError as exc:  # the job's error says which chunk (as the Lambda's does)
                raise FFmpegError(f"chunk {index} ({chunk.first:.3f} s, {chunk.frames} frames): {exc.message}",
                                  exc.stderr_tail, exc.returncode) from exc
        got = (await asyncio.to_thread(stream_stats, chunk_paths[index])).video_frames
        if got != chunk.frames:
            raise VerificationError(f"chunk {index} has {got} frames, the plan says {chunk.frames}")
        frames[index] = got

    audio_path = work / f"audio{plan.audio.ext}" if plan.audio else None

    async def encode_audio() -> None:
        argv = plan.audio_command(src, audio_path)
        try:
            await run_ffmpeg(argv, duration=plan.join.duration, output=audio_path)
        except FFmpegError as exc:
            raise FFmpegError(f"audio: {exc.message}", exc.stderr_tail, exc.returncode) from exc

    tasks = [asyncio.create_task(encode(i), name=f"mpr-chunk-{i}") for i in range(len(plan.chunks))]
    if audio_path is not None:
        tasks.append(asyncio.create_task(encode_audio(), name="mpr-chunk-audio"))
    try:
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception()), None)
            if failed is not None:
                await _cancel_all(list(pending))
                raise failed.exception()
        except asyncio.CancelledError:
            await _cancel_all(tasks)  # not shielded: a shield returns at the next cancel, FFmpeg still running
            raise
        await agg.emit(CHUNKS_SHARE)
        listing = work / "chunks.ffconcat"
        listing.write_text(concat_list(chunk_paths))
        tails.append(await run_ffmpeg(plan.join_command(listing, dst, audio_path),
                                      duration=plan.join.duration, output=dst))
        try:
            stats = await asyncio.to_thread(verify_joined, dst, plan, frames)
        except VerificationError:
            with contextlib.suppress(FileNotFoundError):
                dst.unlink()
            raise
        await agg.emit(100.0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ChunkedResult(stats, frames, concurrency, time.monotonic() - started,
                         "\n".join(t for t in tails[-3:] if t))
