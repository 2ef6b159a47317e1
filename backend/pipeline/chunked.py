"""Chunked encoding steps, written once: `encode_chunk` (one video chunk + its frame check),
`encode_audio` (one audio part: a segment with pre-roll, the whole range, or the source's track
copied), `join_chunks` (the audio parts' packets joined, one stream-copy join + verification
against the plan, the audio joins included). The Lambda runs each step in its own invocation (lambda/chunk_actions.py, one
Map iteration per chunk); `encode_chunks` runs them all here with a pool of FFmpeg processes,
and `run_chunked` is that for a JobSpec and a Reporter (the local executor).

Progress is the chunks' progress weighted by their frames (CHUNKS_SHARE = 97 %), the join is the
rest. Cancelling `encode_chunks` cancels AND awaits every chunk task (each stops its FFmpeg and
removes its partial file) before the cancel goes on; the work folder is removed in every case.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.media.audio_joins import check_audio_joins
from backend.media.chunking import (
    CHUNKS_SHARE, ChunkPlan, StreamStats, check_chunk_frames, concat_list, join_adts, verify_joined,
)
from backend.media.probe import MediaInfo
from backend.media.runner import FFmpegError, Progress, ProgressCallback
from backend.media.verify import VerificationError, verify_output

from .guard import cancel_and_wait, run_guarded
from .reporter import Reporter, call
from .spec import JobSpec, SpecError

PROGRESS_INTERVAL = 0.5
StopCheck = Callable[[], "str | None"]


@dataclass
class ChunkedResult:
    stats: StreamStats  # of the joined output
    chunk_frames: list[int]
    concurrency: int
    wall_seconds: float
    log_tail: str = ""
    info: MediaInfo | None = None  # the output's, after the same check every job's output gets (run_chunked)

    def note(self) -> str:
        """The sentence the job's history records about the verified output."""
        return f"output verified: {self.info.duration:.3f} s" if self.info else "output verified"

    def record(self, plan: ChunkPlan) -> dict:
        """What TranscodeJob.plan keeps about this run."""
        return {**plan.summary(self.concurrency), "wall_seconds": round(self.wall_seconds, 2),
                "frames_out": self.stats.video_frames}


# ---------------------------------------------------------------- the steps

async def encode_chunk(plan: ChunkPlan, index: int, src, dst, *, on_progress: ProgressCallback | None = None,
                       budget: float | None = None, should_stop: StopCheck | None = None) -> tuple[int, str]:
    """Encode chunk `index` of `plan` to `dst` and check its frame count; (frames, stderr tail)."""
    chunk = plan.chunks[index]
    tail = await run_guarded(plan.chunk_command(index, src, dst), duration=chunk.frames / plan.join.fps,
                             output=dst, on_progress=on_progress, budget=budget, should_stop=should_stop)
    return await asyncio.to_thread(check_chunk_frames, dst, chunk), tail


async def encode_audio(plan: ChunkPlan, src, dst, *, part: int = 0, budget: float | None = None,
                       should_stop: StopCheck | None = None) -> str:
    """Make audio part `part` of the plan in `dst` (`plan.audio.mode`: one segment with its
    pre-roll, the whole range, or the source's track copied)."""
    p = plan.audio_parts[part] if plan.audio_parts else None
    seconds = p.samples / plan.audio.sample_rate if p is not None and plan.audio.sample_rate else plan.join.duration
    return await run_guarded(plan.audio_command(src, dst, part), duration=seconds, output=dst,
                             budget=budget, should_stop=should_stop)


def audio_parts_path(plan: ChunkPlan, workdir: Path, index: int) -> Path:
    return Path(workdir) / f"audio-{index:03d}{plan.audio.ext}"


def assemble_audio(plan: ChunkPlan, parts: Sequence[Path], workdir: Path) -> Path:
    """The one audio file the join muxes: the single part, or the segments' kept packets (ADTS)."""
    if plan.audio.mode != "segments":
        return Path(parts[0])
    joined = Path(workdir) / "audio-joined.aac"
    try:
        join_adts(parts, plan.audio_parts, joined, plan.audio.packets)
    except ValueError as exc:
        raise VerificationError(f"audio segments: {exc}") from exc
    return joined


def verify_audio(plan: ChunkPlan, dst) -> None:
    """Segmented audio: exactly the range's samples and no discontinuity at the joins."""
    if plan.audio is not None and plan.audio.mode == "segments":
        check_audio_joins(dst, plan.audio_joins(), expected_samples=plan.audio.samples)


async def join_chunks(plan: ChunkPlan, chunk_paths: Sequence[Path], audio, dst,
                      chunk_frames: Sequence[int], *, workdir: Path, on_progress: ProgressCallback | None = None,
                      budget: float | None = None, should_stop: StopCheck | None = None) -> tuple[StreamStats, str]:
    """Join the chunks and the audio into `dst` by one stream copy and verify it against the plan;
    `audio` is the audio parts' files in order (or one file, or None). A joined file that fails
    the check is removed."""
    listing = Path(workdir) / "chunks.ffconcat"
    listing.write_text(concat_list(chunk_paths))
    if audio is not None and not isinstance(audio, (str, Path)):
        audio = await asyncio.to_thread(assemble_audio, plan, list(audio), Path(workdir))
    tail = await run_guarded(plan.join_command(listing, dst, audio), duration=plan.join.duration, output=dst,
                             on_progress=on_progress, budget=budget, should_stop=should_stop)
    try:
        stats = await asyncio.to_thread(verify_joined, dst, plan, list(chunk_frames))
        await asyncio.to_thread(verify_audio, plan, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(dst).unlink()
        raise
    return stats, tail


# ---------------------------------------------------------------- all steps on this machine

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


async def encode_chunks(
    plan: ChunkPlan,
    src,
    dst,
    on_progress: ProgressCallback | None = None,
    concurrency: int | None = None,
    *,
    workdir: str | Path | None = None,
    should_stop: StopCheck | None = None,
) -> ChunkedResult:
    """Encode `src` into `dst` by `plan`, `concurrency` chunks at a time beside the audio, join
    and verify; raise FFmpegError / VerificationError / guard.StopRequested on failure.

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
    audio_paths = [audio_parts_path(plan, work, p.index) for p in plan.audio_parts] if plan.audio else []

    async def one_chunk(index: int) -> None:
        chunk = plan.chunks[index]
        async with gate:
            try:
                frames[index], tail = await encode_chunk(
                    plan, index, src, chunk_paths[index], on_progress=lambda p: agg.chunk(index, p),
                    should_stop=should_stop)
            except FFmpegError as exc:  # the job's error says which chunk (as the Lambda's does)
                raise FFmpegError(f"chunk {index} ({chunk.first:.3f} s, {chunk.frames} frames): {exc.message}",
                                  exc.stderr_tail, exc.returncode) from exc
        tails.append(tail)

    # segments share the pool with the chunks; one whole-range (or copy) part runs alongside it
    audio_gate = gate if plan.audio is not None and plan.audio.mode == "segments" else contextlib.nullcontext()

    async def audio(index: int) -> None:
        async with audio_gate:
            try:
                await encode_audio(plan, src, audio_paths[index], part=index, should_stop=should_stop)
            except FFmpegError as exc:
                raise FFmpegError(f"audio part {index}: {exc.message}", exc.stderr_tail, exc.returncode) from exc

    # the audio parts first: short, and the whole-range fallback is the longest single task
    tasks = [asyncio.create_task(audio(i), name=f"mpr-chunk-audio-{i}") for i in range(len(audio_paths))]
    tasks += [asyncio.create_task(one_chunk(i), name=f"mpr-chunk-{i}") for i in range(len(plan.chunks))]
    try:
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            await cancel_and_wait(tasks)  # every chunk's FFmpeg stopped and its task finished
            raise
        failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception()), None)
        if failed is not None:
            await cancel_and_wait(tasks)
            raise failed.exception()
        await agg.emit(CHUNKS_SHARE)

        async def join_progress(p: Progress) -> None:
            if p.percent < 100.0:
                await agg.emit(CHUNKS_SHARE + (100.0 - CHUNKS_SHARE) * p.percent / 100.0)

        stats, tail = await join_chunks(plan, chunk_paths, audio_paths or None, dst, frames, workdir=work,
                                        on_progress=join_progress, should_stop=should_stop)
        tails.append(tail)
        await agg.emit(100.0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ChunkedResult(stats, frames, concurrency, time.monotonic() - started,
                         "\n".join(t for t in tails[-3:] if t))


async def run_chunked(spec: JobSpec, src, dst, reporter: Reporter, *, concurrency: int | None = None,
                      workdir: str | Path | None = None) -> ChunkedResult:
    """Run a chunked JobSpec (its `plan`) here, reporting to `reporter` and stopping when it says;
    the joined output then gets the same check as a single pass's (`media.verify.verify_output`)."""
    plan = spec.chunk_plan
    if plan is None:
        raise SpecError("run_chunked needs a spec with a chunk plan")

    async def sink(p: Progress) -> None:
        if p.percent < 100.0:
            await call(reporter.progress(p.percent / 100.0, p.fps, p.speed, p.eta))

    result = await encode_chunks(plan, src, dst, sink, concurrency or plan.max_concurrency, workdir=workdir,
                                 should_stop=reporter.should_stop)
    await call(reporter.heartbeat())
    try:
        result.info = await asyncio.to_thread(verify_output, dst, spec.preset_spec, spec.trim, plan.info)
    except BaseException:
        Path(dst).unlink(missing_ok=True)
        raise
    return result
