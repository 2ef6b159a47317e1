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
from backend.media.probe import MediaInfo, keyframe_lead
from backend.media.verify import verify_output

from .guard import run_guarded
from .smartcut import SmartResult, run_smartcut
from .reporter import Reporter, call, progress_sink
from .spec import JobSpec


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
                     budget: float | None = None, workdir: Path | None = None) -> "SingleResult | SmartResult":
    """Encode `src` (described by `info`) into `dst` as `spec` says, then verify `dst`.

    A spec with trim mode "smart" is a smart cut: `pipeline.smartcut.run_smartcut` runs it (its
    SmartResult has the same `info`, `log_tail` and `note()`, plus `record()` for the job's plan);
    its intermediate parts go under `workdir` (default: a temporary folder beside `dst`).

    Raises CommandError (impossible combination), FFmpegError, guard.BudgetExceeded,
    guard.StopRequested or VerificationError; the partial output is removed on failure.
    """
    if spec.smart:
        return await run_smartcut(spec, src, dst, reporter, info=info, budget=budget,
                                  workdir=workdir if workdir is not None else Path(dst).parent)
    preset, trim = spec.preset_spec, spec.trim
    lead = await asyncio.to_thread(keyframe_lead, str(src), trim.start) if is_keyframe_copy(preset) else None
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
