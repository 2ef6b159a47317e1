"""Checking chunk outputs: frame count, stream durations and keyframes from packet headers
(`stream_stats`), one chunk's frame count (`check_chunk_frames`), and the joined file against
its plan (`verify_joined`: duration, frame count, audio/video sync).
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..binaries import ffprobe_path
from ..paths import ff_target
from ..probe import _stderr_reason
from ..verify import VerificationError
from .. import limits
from .plan import Chunk, ChunkPlan

AV_SYNC_TOLERANCE = 0.050  # audio and video of the joined file may differ this much (s)


@dataclass(frozen=True)
class StreamStats:
    video_frames: int
    video_duration: float
    audio_duration: float | None
    keyframes: tuple[float, ...] = field(default=())


def stream_stats(path, timeout: float = 120) -> StreamStats:
    """Frame count, stream durations and keyframe times of a file, from its packets (no decode)."""
    argv = [
        ffprobe_path(), "-hide_banner", "-v", "error",
        "-show_entries", "stream=index,codec_type:packet=stream_index,pts_time,duration_time,flags",
        "-of", "json", ff_target(path),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, errors="replace", **limits.probe_spawn_options())
    if proc.returncode != 0:
        raise VerificationError(f"cannot read {Path(path).name}: {_stderr_reason(proc.stderr)}")
    data = json.loads(proc.stdout or "{}")
    kinds = {s["index"]: s.get("codec_type") for s in data.get("streams") or []}
    spans: dict[str, tuple[float, float]] = {}
    frames = 0
    keys: list[float] = []
    for p in data.get("packets") or []:
        kind = kinds.get(p.get("stream_index"))
        if kind not in ("video", "audio") or p.get("pts_time") in (None, "N/A"):
            continue
        t = float(p["pts_time"])
        d = float(p.get("duration_time") or 0.0)
        lo, hi = spans.get(kind, (t, t + d))
        spans[kind] = (min(lo, t), max(hi, t + d))
        if kind == "video":
            frames += 1
            if "K" in (p.get("flags") or ""):
                keys.append(round(t, 6))
    video = spans.get("video", (0.0, 0.0))
    audio = spans.get("audio")
    return StreamStats(frames, round(video[1] - video[0], 6),
                       None if audio is None else round(audio[1] - audio[0], 6), tuple(sorted(keys)))


def check_chunk_frames(path, chunk: Chunk) -> int:
    """The frame count of an encoded chunk; VerificationError unless it is the planned one."""
    got = stream_stats(path).video_frames
    if got != chunk.frames:
        raise VerificationError(f"chunk {chunk.index} has {got} frames, the plan says {chunk.frames}")
    return got


def verify_joined(path, plan: ChunkPlan, chunk_frames: Sequence[int] | None = None) -> StreamStats:
    """Check a joined output against its plan; raise VerificationError saying what is wrong.

    - video duration within one frame of the requested range;
    - frame count == the sum of the chunks' frames (as encoded, when `chunk_frames` is given)
      == what a single-pass encode of the same job writes;
    - audio and video durations within 50 ms of each other.
    """
    stats = stream_stats(path)
    join = plan.join
    frame = 1.0 / join.fps
    if abs(stats.video_duration - join.duration) > frame + 1e-6:
        raise VerificationError(
            f"joined video is {stats.video_duration:.3f} s but {join.duration:.3f} s was requested "
            f"(more than one frame, {frame * 1000:.1f} ms, apart)"
        )
    planned = sum(c.frames for c in plan.chunks)
    encoded = planned if chunk_frames is None else sum(chunk_frames)
    if not stats.video_frames == encoded == planned == join.frames:
        raise VerificationError(
            f"joined video has {stats.video_frames} frames; the chunks hold {encoded}, the plan "
            f"{planned}, a single pass writes {join.frames}"
        )
    if join.has_audio:
        if stats.audio_duration is None:
            raise VerificationError("joined output has no audio stream")
        gap = abs(stats.audio_duration - stats.video_duration)
        if gap > AV_SYNC_TOLERANCE:
            raise VerificationError(
                f"audio ({stats.audio_duration:.3f} s) and video ({stats.video_duration:.3f} s) "
                f"differ by {gap * 1000:.0f} ms (at most {AV_SYNC_TOLERANCE * 1000:.0f} ms allowed)"
            )
    return stats
