"""`run_single`: one FFmpeg pass from a JobSpec — the keyframe lead of a stream copy, the command
from `media.command`, the guarded run, the output check. Called by the local executor and the
single-pass Lambda alike; where `src` and `dst` are (a local path, a presigned URL, /tmp) is
the caller's business.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from backend.media.command import build_command, expected_duration
from backend.media.presets import is_keyframe_copy
from backend.media.probe import MediaInfo, keyframe_lead, lead_from_keyframes
from backend.media.verify import VerificationError, verify_output, video_on_time

from .guard import run_guarded
from .smartcut import SmartResult, run_smartcut
from .reporter import Reporter, call, progress_sink
from .spec import JobSpec


@dataclass(frozen=True)
class KnownKeyframes:
    """A source's keyframe times as stored by its analysis (seconds from the container's start);
    `complete` is False when the analysis capped the list."""
    times: tuple[float, ...]
    complete: bool = True


@dataclass
class SingleResult:
    info: MediaInfo  # the verified output's
    log_tail: str
    keyframe_lead: float | None  # stream copies: how far before the in point the copy starts

    def note(self) -> str:
        """The sentence the job's history records about the verified output."""
        note = f"output verified: {self.info.duration:.3f} s"
        if self.keyframe_lead and self.keyframe_lead > 0.001:
            note += f" (keyframe copy starts {self.keyframe_lead:.3f} s before the in point)"
        return note


async def run_single(spec: JobSpec, src, dst, reporter: Reporter, *, info: MediaInfo,
                     budget: float | None = None, workdir: Path | None = None,
                     keyframes: KnownKeyframes | None = None) -> "SingleResult | SmartResult":
    """Encode `src` (described by `info`) into `dst` as `spec` says, then verify `dst`.

    A spec with trim mode "smart" is a smart cut: `pipeline.smartcut.run_smartcut` runs it (its
    SmartResult has the same `info`, `log_tail` and `note()`, plus `record()` for the job's plan);
    its intermediate parts go under `workdir` (default: a temporary folder beside `dst`).

    `keyframes`: the source's keyframe times as the catalog stores them (its analysis pass), which
    spare a stream copy the ffprobe that finds its keyframe when they decide it exactly
    (`probe.lead_from_keyframes`); should the output then fail its check, or its video not cover
    the length by itself (`verify.video_on_time`), the lead is probed and, if it differs, the copy
    is made again with it.

    Raises CommandError (impossible combination), FFmpegError, guard.BudgetExceeded,
    guard.StopRequested or VerificationError; the partial output is removed on failure.
    """
    if spec.smart:
        return await run_smartcut(spec, src, dst, reporter, info=info, budget=budget,
                                  workdir=workdir if workdir is not None else Path(dst).parent)
    preset, trim = spec.preset_spec, spec.trim
    lead, stored = None, False
    if is_keyframe_copy(preset):
        if keyframes is not None:
            lead = lead_from_keyframes(keyframes.times, trim.start, complete=keyframes.complete)
            stored = lead is not None
        if lead is None:
            lead = await asyncio.to_thread(keyframe_lead, str(src), trim.start)
    if not stored:
        return await _encode_and_verify(spec, src, dst, reporter, info, budget, lead)
    # the stored keyframe is trusted only when the output shows it was the copy's real start: it
    # passes its check and its video covers the length alone (`verify.video_on_time`: with audio
    # the file's length would hide a video that starts a GOP late). Otherwise the keyframe is
    # probed: a different one makes the copy again, the same one keeps the verified output
    failure: VerificationError | None = None
    result = None
    try:
        result = await _encode_and_verify(spec, src, dst, reporter, info, budget, lead)
    except VerificationError as exc:
        failure = exc
    if result is not None and video_on_time(result.info, preset, trim, info):
        return result
    probed = await asyncio.to_thread(keyframe_lead, str(src), trim.start)
    if probed is not None and abs(probed - lead) < 1e-4:
        if result is not None:
            return result  # the stored keyframe was right: the video is shorter in the source itself
        raise failure  # the stored keyframes were right: the output is wrong for another reason
    # None (the keyframes could not be read): the copy as made without stored keyframes
    return await _encode_and_verify(spec, src, dst, reporter, info, budget, probed)


async def _encode_and_verify(spec: JobSpec, src, dst, reporter: Reporter, info: MediaInfo,
                             budget: float | None, lead: float | None) -> SingleResult:
    preset, trim = spec.preset_spec, spec.trim
    argv = build_command(src, dst, preset, trim, info, keyframe_lead=lead)
    tail = await run_guarded(argv, duration=expected_duration(trim, info, preset), output=dst,
                             on_progress=progress_sink(reporter), budget=budget, should_stop=reporter.should_stop)
    await call(reporter.heartbeat())
    try:
        out = await asyncio.to_thread(verify_output, dst, preset, trim, info, keyframe_lead=lead or 0.0)
    except BaseException:
        Path(dst).unlink(missing_ok=True)
        raise
    return SingleResult(out, tail, lead)
