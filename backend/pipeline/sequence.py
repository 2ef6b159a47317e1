"""`run_sequence`: a sequence render from a JobSpec with a `sequence` — every clip's video encoded
by its own FFmpeg (up to `concurrency` at once, conformed to the spec's canvas), the whole
sequence's audio once beside them, then one stream-copy join (`chunking.join_command`, the
chunked jobs' join) and the sequence check (`media.sequence_verify`: frame count, durations,
the right source frame at every cut).

The steps are written once and run by both executors: `encode_clip` (one clip, or one part of a
long clip, with its frame count checked), `encode_sequence_audio` (the whole sequence's audio) and
`join_sequence` (the join and the check). `run_sequence` runs them all here; on AWS each is its own
Lambda run (lambda/sequence_actions.py: one Map iteration per `SequencePlan` item, then the join).

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

from backend.media.chunking import CHUNKS_SHARE, JoinStep, concat_list, join_command, stream_stats
from backend.media.probe import MediaInfo, probe
from backend.media.runner import FFmpegError, Progress, ProgressCallback
from backend.media.sequence import audio_command, audio_ext, clip_command, clip_ext, clip_frames
from backend.media.sequence_verify import SequenceCheck, verify_sequence
from backend.media.verify import VerificationError

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


def _spec_parts(spec: JobSpec):
    if spec.sequence is None:
        raise SpecError("a sequence step needs a spec with a sequence")
    return spec.preset_spec, spec.sequence.conform, [c.range for c in spec.sequence.clips]


def clip_label(spec: JobSpec, index: int, part: tuple[int, int] | None = None) -> str:
    """How errors name a clip (or a part of one): "clip 2 (1.000–3.500 s)"."""
    clip = spec.sequence.clips[index]
    label = f"clip {index + 1} ({clip.start:.3f}–{clip.end:.3f} s)"
    return label if part is None else f"{label} frames {part[0]}–{part[0] + part[1] - 1}"


async def encode_clip(spec: JobSpec, index: int, src, dst, *, part: tuple[int, int] | None = None,
                      on_progress: ProgressCallback | None = None, budget: float | None = None,
                      should_stop=None) -> tuple[int, str]:
    """Encode clip `index` (or its output frames `part` = (first, frames)) conformed to the canvas
    into `dst` and check its frame count; (frames, stderr tail). FFmpegError names the clip."""
    preset, canvas, clips = _spec_parts(spec)
    clip = clips[index]
    frames = part[1] if part is not None else clip_frames(clip.start, clip.end, canvas.fps)
    argv = clip_command(preset, canvas, clip, src, dst, part)
    try:
        tail = await run_guarded(argv, duration=frames / canvas.fps, output=dst, on_progress=on_progress,
                                 budget=budget, should_stop=should_stop)
    except FFmpegError as exc:  # the job's error says which clip
        raise FFmpegError(f"{clip_label(spec, index, part)}: {exc.message}", exc.stderr_tail,
                          exc.returncode) from exc
    got = (await asyncio.to_thread(stream_stats, dst)).video_frames
    if got != frames:
        raise VerificationError(f"{clip_label(spec, index, part)} has {got} frames, expected {frames}")
    return got, tail


async def encode_sequence_audio(spec: JobSpec, sources: Sequence, dst, *, budget: float | None = None,
                                should_stop=None) -> str:
    """The whole sequence's audio, once, into `dst` (every clip cut to its video's samples)."""
    preset, canvas, clips = _spec_parts(spec)
    total = sum(clip_frames(c.start, c.end, canvas.fps) for c in clips)
    try:
        return await run_guarded(audio_command(preset, canvas, clips, sources, dst), duration=total / canvas.fps,
                                 output=dst, budget=budget, should_stop=should_stop)
    except FFmpegError as exc:
        raise FFmpegError(f"sequence audio: {exc.message}", exc.stderr_tail, exc.returncode) from exc


async def join_sequence(spec: JobSpec, paths: Sequence[Path], audio_path, dst, sources: Sequence, *,
                        workdir: Path, on_progress: ProgressCallback | None = None, budget: float | None = None,
                        should_stop=None, check_cuts: bool = True,
                        stages: dict | None = None) -> tuple[SequenceCheck, MediaInfo, str]:
    """Join the clips' (or parts') files in order and the audio by one stream copy into `dst`, then
    check it against the clips (`verify_sequence`, the cut frames against `sources`); a joined file
    that fails the check is removed. (check, probed output, stderr tail); the seconds the join and
    the check took go into `stages` when given."""
    began = time.monotonic()
    preset, canvas, clips = _spec_parts(spec)
    total = sum(clip_frames(c.start, c.end, canvas.fps) for c in clips)
    listing = Path(workdir) / "clips.ffconcat"
    listing.write_text(concat_list(paths))
    join = JoinStep(preset.container, clip_ext(preset), total, round(total / canvas.fps, 6), canvas.fps,
                    canvas.audio)
    tail = await run_guarded(join_command(join, listing, dst, audio_path if canvas.audio else None),
                             duration=join.duration, output=dst, on_progress=on_progress, budget=budget,
                             should_stop=should_stop)
    joined = time.monotonic()
    try:
        check = await asyncio.to_thread(verify_sequence, dst, canvas, clips, list(sources), cuts=check_cuts)
        info = await asyncio.to_thread(probe, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(dst).unlink()
        raise
    if stages is not None:
        stages["join"] = round(joined - began, 2)
        stages["verify"] = round(time.monotonic() - joined, 2)
    return check, info, tail


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
            _, tail = await encode_clip(spec, index, sources[index], paths[index], on_progress=progress,
                                        should_stop=reporter.should_stop)
        tails.append(tail)

    async def audio() -> None:
        await encode_sequence_audio(spec, sources, audio_path, should_stop=reporter.should_stop)

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
        check, info, tail = await join_sequence(spec, paths, audio_path, dst, sources, workdir=work,
                                                should_stop=reporter.should_stop, check_cuts=check_cuts,
                                                stages=stages)
        tails.append(tail)
        await call(reporter.heartbeat())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SequenceResult(info, check, frames, max(1, concurrency), time.monotonic() - started,
                          "\n".join(t for t in tails[-3:] if t), stages)
