"""`run_sequence`: a sequence render from a JobSpec with a `sequence` — every clip's video encoded
by its own FFmpeg (up to `concurrency` at once, conformed to the spec's canvas), the whole
sequence's audio once beside them, then one stream-copy join (`chunking.join_command`, the
chunked jobs' join) and the sequence check (`media.sequence_verify`: frame count, durations,
the right source frame at every cut).

Progress is the clips' progress weighted by their frames (CHUNKS_SHARE), the join the rest.
Cancelling stops every FFmpeg (`guard.cancel_and_wait`); the work folder is removed in any case.
Where each clip's source is (a local path, a presigned URL) is the caller's business: `sources`
lists them in clip order.
"""
from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from backend.media.chunking import CHUNKS_SHARE, JoinStep, concat_list, join_command
from backend.media.probe import MediaInfo, probe
from backend.media.runner import FFmpegError, Progress
from backend.media.sequence import audio_command, audio_ext, clip_command, clip_ext, clip_frames
from backend.media.sequence_verify import SequenceCheck, verify_sequence

from .guard import cancel_and_wait, run_guarded
from .reporter import Reporter, call
from .spec import JobSpec, SpecError


@dataclass
class SequenceResult:
    info: MediaInfo  # the verified output's
    check: SequenceCheck
    clip_frames: list[int]
    concurrency: int
    wall_seconds: float
    log_tail: str = ""
    stages: dict = field(default_factory=dict)  # seconds spent: clips (with the audio beside), join, verify

    def note(self) -> str:
        """The sentence the job's history records about the verified output."""
        return (f"sequence verified: {len(self.clip_frames)} clips, {self.check.frames} frames, "
                f"{self.info.duration:.3f} s, {len(self.check.cuts)} cut frames match their source")

    def record(self) -> dict:
        """What TranscodeJob.plan keeps about this run."""
        return {"mode": "sequence", "clips": len(self.clip_frames), "clip_frames": self.clip_frames,
                "frames_out": self.check.frames, "concurrency": self.concurrency,
                "wall_seconds": round(self.wall_seconds, 2), "stages": self.stages,
                "audio": "whole sequence encoded once; each clip's audio cut to its video's samples",
                "cuts": [c.to_dict() for c in self.check.cuts]}


async def run_sequence(spec: JobSpec, sources: Sequence, dst, reporter: Reporter, *, concurrency: int = 2,
                       workdir: str | Path | None = None, check_cuts: bool = True) -> SequenceResult:
    """Render the spec's sequence into `dst` and verify it; raise FFmpegError (naming the clip),
    VerificationError or guard.StopRequested on failure (the partial output is removed)."""
    if spec.sequence is None:
        raise SpecError("run_sequence needs a spec with a sequence")
    started = time.monotonic()
    preset, canvas = spec.preset_spec, spec.sequence.conform
    clips = [c.range for c in spec.sequence.clips]
    if len(sources) != len(clips):
        raise SpecError(f"{len(clips)} clips but {len(sources)} sources")
    frames = [clip_frames(c.start, c.end, canvas.fps) for c in clips]
    total = sum(frames)
    dst = Path(dst)
    parent = Path(workdir) if workdir else dst.parent
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".mpr-sequence-", dir=parent))
    paths = [work / f"clip-{i:04d}{clip_ext(preset)}" for i in range(len(clips))]
    audio_path = work / f"audio{audio_ext(preset)}" if canvas.audio else None
    done = [0.0] * len(clips)
    gate = asyncio.Semaphore(max(1, concurrency))
    tails: list[str] = []
    last_emit = [0.0]

    async def emit(fraction: float, p: Progress | None = None) -> None:
        now = time.monotonic()
        if now - last_emit[0] >= 0.5 or fraction >= CHUNKS_SHARE / 100.0:
            last_emit[0] = now
            await call(reporter.progress(min(fraction, 0.999), p.fps if p else None, None, None))

    async def one_clip(index: int) -> None:
        async def progress(p: Progress) -> None:
            done[index] = max(done[index], min(p.percent, 100.0) / 100.0)
            await emit(CHUNKS_SHARE / 100.0 * sum(d * f for d, f in zip(done, frames)) / total, p)

        async with gate:
            argv = clip_command(preset, canvas, clips[index], sources[index], paths[index])
            try:
                tail = await run_guarded(argv, duration=frames[index] / canvas.fps, output=paths[index],
                                         on_progress=progress, should_stop=reporter.should_stop)
            except FFmpegError as exc:  # the job's error says which clip
                raise FFmpegError(f"clip {index + 1} ({clips[index].start:.3f}–{clips[index].end:.3f} s): "
                                  f"{exc.message}", exc.stderr_tail, exc.returncode) from exc
        tails.append(tail)

    async def audio() -> None:
        argv = audio_command(preset, canvas, clips, sources, audio_path)
        try:
            await run_guarded(argv, duration=total / canvas.fps, output=audio_path, should_stop=reporter.should_stop)
        except FFmpegError as exc:
            raise FFmpegError(f"sequence audio: {exc.message}", exc.stderr_tail, exc.returncode) from exc

    tasks = [asyncio.create_task(one_clip(i), name=f"mpr-clip-{i}") for i in range(len(clips))]
    if audio_path is not None:
        tasks.append(asyncio.create_task(audio(), name="mpr-sequence-audio"))
    stages: dict[str, float] = {}
    try:
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            await cancel_and_wait(tasks)
            raise
        failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception()), None)
        if failed is not None:
            await cancel_and_wait(tasks)
            raise failed.exception()
        stages["clips"] = round(time.monotonic() - started, 2)
        await emit(CHUNKS_SHARE / 100.0)
        listing = work / "clips.ffconcat"
        listing.write_text(concat_list(paths))
        join = JoinStep(preset.container, clip_ext(preset), total, round(total / canvas.fps, 6), canvas.fps,
                        canvas.audio)
        tails.append(await run_guarded(join_command(join, listing, dst, audio_path), duration=join.duration,
                                       output=dst, should_stop=reporter.should_stop))
        stages["join"] = round(time.monotonic() - started - stages["clips"], 2)
        await call(reporter.heartbeat())
        try:
            check = await asyncio.to_thread(verify_sequence, dst, canvas, clips, list(sources), cuts=check_cuts)
            info = await asyncio.to_thread(probe, dst)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                dst.unlink()
            raise
        stages["verify"] = round(time.monotonic() - started - stages["clips"] - stages["join"], 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SequenceResult(info, check, frames, max(1, concurrency), time.monotonic() - started,
                          "\n".join(t for t in tails[-3:] if t), stages)
