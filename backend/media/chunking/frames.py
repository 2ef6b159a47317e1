"""Frame indexes for the chunk planner: every video frame's time and the keyframes, read from
packet headers (`read_frame_index`), or a synthetic constant-frame-rate grid (`grid_index`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..binaries import ffprobe_path
from ..paths import ff_target
from ..probe import MediaInfo, ProbeError, run_ffprobe
from .plan import ChunkingError


@dataclass(frozen=True)
class FrameIndex:
    """Presentation times (s, from the container start) of every video frame, and of keyframes.

    `aligned` is False for a synthetic index (constant frame rate assumed, no keyframes known):
    chunk cuts may then fall on any frame.
    """

    times: tuple[float, ...]
    keyframes: tuple[float, ...]
    aligned: bool = True


def read_frame_index(src, timeout: float = 600) -> FrameIndex:
    """Every video packet's presentation time and keyframe flag, from packet headers (no decode).

    One ffprobe pass like `probe.keyframe_times`, but keeping every frame: each chunk needs its
    exact frame count. Times are relative to the container start, as `-ss` counts them.
    """
    argv = [
        ffprobe_path(), "-hide_banner", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "format=start_time:packet=pts_time,flags", "-of", "json",
        ff_target(src),
    ]
    data = json.loads(run_ffprobe(argv, timeout, "listing frames") or "{}")
    start = float((data.get("format") or {}).get("start_time") or 0.0)
    packets = sorted(
        (float(p["pts_time"]), "K" in (p.get("flags") or ""))
        for p in data.get("packets") or [] if p.get("pts_time") not in (None, "N/A")
    )
    if not packets:
        raise ProbeError("no video frames found")
    times = tuple(round(t - start, 6) for t, _ in packets)
    keys = tuple(round(t - start, 6) for t, k in packets if k)
    return FrameIndex(times, keys, aligned=True)


def grid_index(info: MediaInfo) -> FrameIndex:
    """A synthetic index for a constant-frame-rate source (frames at k/fps), read from nothing.

    Lets a planner that cannot afford to read the whole source (a remote object) still plan
    exact frame counts; cuts then land on any frame, not on source keyframes.
    """
    video = info.video
    if video is None or video.fps <= 0:
        raise ChunkingError("the source has no video frame rate")
    estimated = info.duration * video.fps
    if video.nb_frames and abs(video.nb_frames - estimated) > max(2.0, 0.001 * estimated):
        raise ChunkingError(
            f"the source looks variable-frame-rate ({video.nb_frames} frames in "
            f"{info.duration:.2f} s at {video.fps:g} fps): read its frame index instead"
        )
    count = video.nb_frames or int(round(estimated))
    step = 1.0 / video.fps
    return FrameIndex(tuple(round(k * step, 6) for k in range(count)), (), aligned=False)
