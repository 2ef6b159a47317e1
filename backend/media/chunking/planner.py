"""The chunk planner: cut a trim range into chunks of about a target length on the keyframes of
a `FrameIndex`, so the chunks' frames add up to exactly what a single pass writes.

Limits (refused with ChunkingError): stream-copy, audio-only and image presets, sources without
video, and frame-rate conversion (the preset's fps below the source's).
"""
from __future__ import annotations

from typing import Sequence

from ..command import Trim, frame_count, output_fps, resolve_trim
from ..presets import PresetSpec
from ..probe import MediaInfo
from .audio import AUDIO_PART_SECONDS, audio_mode, plan_parts
from .frames import FrameIndex
from .plan import AudioJob, AudioPart, Chunk, ChunkingError, ChunkPlan, JoinStep

DEFAULT_CHUNK_SECONDS = 30.0
MIN_CHUNK_SECONDS = 2.0
AUDIO_CONTAINERS = {"aac": "m4a", "libmp3lame": "mp3", "libopus": "ogg"}  # audio-only intermediates
CHUNKABLE_CODECS = ("libx264", "libx265", "libvpx-vp9", "libsvtav1")


def chunkable(spec: PresetSpec, info: MediaInfo) -> str:
    """Why this job cannot be chunked ("" when it can)."""
    if spec.kind != "video":
        return f"{spec.kind} presets are not chunked (only video re-encodes are)"
    if spec.loudness_target is not None:
        return "loudness-normalised presets are not chunked (the output's loudness is checked in one piece)"
    if spec.video_codec not in CHUNKABLE_CODECS:
        return f"video codec {spec.video_codec!r} is not chunked"
    if info.video is None or info.video.fps <= 0:
        return "the source has no video stream with a frame rate"
    if output_fps(spec, info) != info.video.fps:
        return "frame-rate conversion is not chunked (the fps filter would restart at every join)"
    return ""


def _cut_indices(times: Sequence[float], candidates: Sequence[int], target: float) -> list[int]:
    """Indices into `times` where chunks start (0 first): the candidate nearest every `target`
    seconds, no chunk shorter than half the target, the last one at most 1.5x the target."""
    cuts = [0]
    end = times[-1]
    pos = 0
    while True:
        last = times[cuts[-1]]
        if end - last < 1.5 * target:
            break
        want = last + target
        while pos < len(candidates) and times[candidates[pos]] <= last + 0.5 * target:
            pos += 1
        best = None
        for cand in candidates[pos:]:
            t = times[cand]
            if t >= end - 0.5 * target:
                break
            if best is None or abs(t - want) < abs(times[best] - want):
                best = cand
            if t > want:
                break
        if best is None:  # no keyframe in reach: the rest is one (long) chunk
            break
        cuts.append(best)
    return cuts


def plan_chunks(
    info: MediaInfo,
    spec: PresetSpec,
    trim: Trim | None = None,
    *,
    index: FrameIndex,
    target_seconds: float = DEFAULT_CHUNK_SECONDS,
    max_concurrency: int = 10,
    audio_part_seconds: float = AUDIO_PART_SECONDS,
) -> ChunkPlan:
    """Cut the trim range into chunks of about `target_seconds`, on keyframes of `index`.

    `index` comes from `read_frame_index(src)` (cuts on source keyframes) or `grid_index(info)`
    (constant frame rate assumed, nothing read from the source). The audio is copied, encoded in
    parts of about `audio_part_seconds` or encoded whole (`chunking.audio`). Raises ChunkingError.
    """
    why = chunkable(spec, info)
    if why:
        raise ChunkingError(why)
    trim = trim or Trim()
    start, end = resolve_trim(trim, info)
    whole = start <= 0 and end >= info.duration
    fps = float(info.video.fps)
    target = max(float(target_seconds), MIN_CHUNK_SECONDS)

    # the frames a single pass writes: from the first at/after the in point; all of them for the
    # whole source, else round(length x fps) of them (command.frame_count)
    frames_from = [t for t in index.times if t >= start - 1e-9]
    wanted = len(frames_from) if whole else min(frame_count(trim, spec, info) or 0, len(frames_from))
    times = frames_from[:wanted]
    if not times:
        raise ChunkingError(f"no video frames between {start:.3f} s and {end:.3f} s")
    keyset = set(index.keyframes)
    candidates = [i for i, t in enumerate(times) if i > 0 and (not index.aligned or t in keyset)]
    cuts = _cut_indices(times, candidates, target)

    after = frames_from[wanted] if wanted < len(frames_from) else times[-1] + 1.0 / fps
    chunks = []
    for n, first in enumerate(cuts):
        last = (cuts[n + 1] if n + 1 < len(cuts) else len(times)) - 1
        seek = start if n == 0 else (times[first - 1] + times[first]) / 2
        following = times[last + 1] if last + 1 < len(times) else after
        bound = (times[last] + following) / 2
        chunks.append(Chunk(n, round(seek, 6), round(bound, 6), last - first + 1, times[first]))

    audio, parts = None, ()
    mode, why = audio_mode(spec, info, whole)
    if mode != "none":
        audio_spec = PresetSpec(
            name=f"{spec.name} (audio)", kind="audio", container=AUDIO_CONTAINERS[spec.audio_codec],
            audio_codec=spec.audio_codec, audio_bitrate=spec.audio_bitrate,
            channels=spec.channels, sample_rate=spec.sample_rate,
        )
        rate = info.audio.sample_rate
        samples = packets = 0
        if mode == "segments":
            samples, packets, parts = plan_parts(start, end, rate, audio_part_seconds)
            if len(parts) < 2:
                mode, why, parts = "whole", "the range is too short to split", ()
        if not parts:
            parts = (AudioPart(0, 0, int(round((end - start) * rate))),)
        ext = ".aac" if mode == "segments" else ".m4a" if mode == "copy" else "." + audio_spec.container
        audio = AudioJob(audio_spec.to_dict(), start, end, ext, mode, why, rate, samples, packets)
    join = JoinStep(spec.container, "." + spec.container, len(times), round(end - start, 6), fps,
                    audio is not None)
    return ChunkPlan(
        spec=spec.to_dict(), trim={"start": trim.start, "end": trim.end, "accurate": trim.accurate},
        source=info.to_dict(), chunks=tuple(chunks), audio=audio, join=join,
        target_seconds=target, aligned=index.aligned, max_concurrency=max(1, int(max_concurrency)),
        audio_parts=parts,
    )
