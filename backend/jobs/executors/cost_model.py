"""Which jobs are worth chunking where: the encode-time cost model both executors decide with.

Output megapixel-frames per second per vCPU, measured per codec and speed preset, give an
estimated single-function encode time; `should_chunk` compares it with a budget (600 s of a
Lambda run for the AWS executor, `aws_plan`; 120 s on a machine with spare cores for the local
one, `chunked.local_decision`). `LAMBDA_VCPUS` is the deployed Lambda's size. FFmpeg itself knows
nothing of this: `backend.media.chunking` only says whether a job CAN be chunked (`chunkable`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from backend.media.chunking import chunkable
from backend.media.command import Trim, output_fps, output_size, resolve_trim
from backend.media.presets import DEFAULT_SPEED, PresetSpec
from backend.media.probe import MediaInfo

# Output megapixel-frames per second per vCPU. Measured: the x264 ultrafast/veryfast/medium, VP9
# realtime and SVT-AV1 10 rows (STACK-NOTES, 2 cores, 720p30 out of 1080p, audio included);
# the other rows are extrapolated from x264/x265 preset ratios. bench/chunked.py re-measures.
MEASURED_SPEEDS: dict[str, float] = {
    "libx264:ultrafast": 59.0, "libx264:superfast": 48.0, "libx264:veryfast": 37.0,
    "libx264:faster": 30.0, "libx264:fast": 27.0, "libx264:medium": 25.0,
    "libx264:slow": 14.0, "libx264:slower": 7.0, "libx264:veryslow": 3.5,
    "libx265:ultrafast": 20.0, "libx265:veryfast": 12.0, "libx265:medium": 4.0,
    "libvpx-vp9:realtime": 33.0, "libvpx-vp9:good": 6.0,
    "libsvtav1:10": 22.0, "libsvtav1:8": 9.0, "libsvtav1:6": 3.0,
}
LAMBDA_VCPUS = 1.7  # 3008 MB, the deployed size: Lambda gives one vCPU per 1769 MB


def speed_key(spec: PresetSpec) -> str:
    """"codec:speed preset", the key of MEASURED_SPEEDS."""
    return f"{spec.video_codec}:{spec.speed_preset or DEFAULT_SPEED.get(spec.video_codec, '')}"


def estimate_seconds(
    info: MediaInfo, spec: PresetSpec, trim: Trim | None, speeds: Mapping[str, float] | float,
    vcpus: float = LAMBDA_VCPUS,
) -> float | None:
    """Estimated single-function encode time (s), or None when nothing is known of the codec."""
    if info.video is None or spec.kind != "video":
        return None
    start, end = resolve_trim(trim, info)
    size = output_size(spec, info)
    fps = output_fps(spec, info) or info.video.fps
    if not size:
        return None
    return frames_seconds((end - start) * fps, size[0], size[1], spec, speeds, vcpus)


def frames_seconds(frames: float, width: int, height: int, spec: PresetSpec,
                   speeds: Mapping[str, float] | float = MEASURED_SPEEDS, vcpus: float = LAMBDA_VCPUS) -> float | None:
    """Estimated time (s) to encode `frames` frames of width x height with the preset's encoder
    (a sequence clip conformed to its canvas, `aws_plan.sequence_mode`); None for an unmeasured codec."""
    if isinstance(speeds, (int, float)):
        per_vcpu = float(speeds)
    else:
        per_vcpu = speeds.get(speed_key(spec))
        if per_vcpu is None:  # an unmeasured preset: assume the codec's slowest measured one
            same = [v for k, v in speeds.items() if k.split(":")[0] == spec.video_codec]
            per_vcpu = min(same) if same else None
    if not per_vcpu:
        return None
    return frames * width * height / 1e6 / (per_vcpu * vcpus)


@dataclass(frozen=True)
class ChunkDecision:
    chunked: bool
    reason: str
    estimated_seconds: float | None

    def __bool__(self) -> bool:
        return self.chunked

    def record(self) -> dict[str, Any]:
        """The part of TranscodeJob.plan that says why the job ran the way it did."""
        est = None if self.estimated_seconds is None else round(self.estimated_seconds, 1)
        return {"mode": "chunked" if self.chunked else "single", "reason": self.reason,
                "estimated_single_seconds": est}


def should_chunk(
    info: MediaInfo,
    spec: PresetSpec,
    budget_seconds: float,
    measured_speed: Mapping[str, float] | float = MEASURED_SPEEDS,
    *,
    trim: Trim | None = None,
    requested: bool | None = None,
    vcpus: float = LAMBDA_VCPUS,
) -> ChunkDecision:
    """Chunk when the estimated single-function time exceeds `budget_seconds`, or when asked.

    `requested` True forces chunking (when the job can be chunked), False forbids it, None
    decides from the estimate: range seconds x output fps x output pixels / (speed x vCPUs).
    """
    est = estimate_seconds(info, spec, trim, measured_speed, vcpus)
    if requested is False:
        return ChunkDecision(False, "single pass requested", est)
    why_not = chunkable(spec, info)
    if why_not:
        return ChunkDecision(False, f"single pass: {why_not}", est)
    if requested:
        return ChunkDecision(True, "chunked encoding requested", est)
    if est is None:
        return ChunkDecision(False, f"single pass: no measured speed for {speed_key(spec)}", est)
    if est > budget_seconds:
        return ChunkDecision(True, f"chunked: about {est:.0f} s in one function exceeds the "
                                   f"{budget_seconds:.0f} s budget", est)
    return ChunkDecision(False, f"single pass: about {est:.0f} s fits the {budget_seconds:.0f} s budget", est)


def chunk_seconds_for(duration: float, parallelism: int, minimum: float = 10.0,
                      maximum: float = 120.0) -> float:
    """A chunk length giving each of `parallelism` workers about one chunk, within bounds."""
    if parallelism <= 0:
        return maximum
    return float(max(minimum, min(maximum, math.ceil(duration / parallelism))))
