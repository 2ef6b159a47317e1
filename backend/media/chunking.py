"""Chunked encoding: cut a long source into GOP-aligned pieces that encode in parallel and join
back, by stream copy, into the same frames a single-pass encode of the job would produce.

One `ChunkPlan` (plain data, JSON-serialisable: it travels in the Step Functions input) says
which source frames each video chunk encodes, how the audio is encoded (once, whole, so AAC/Opus
priming never lands in the middle of the output) and what the joined file must hold. The local
executor (backend.jobs.executors.chunked) and the Lambda (lambda/chunk_actions.py) build their
ffmpeg commands from it with the functions here, which reuse `command.build_command`:

- chunk i covers the source frames [first_i, first_i + frames_i). Chunk 0 seeks exactly like
  the single pass (`-ss` = the in point); later chunks seek to half a frame before their first
  frame, which is a source keyframe, and every chunk is bounded by time (half a frame after its
  last frame) AND by `-frames:v`, so no frame is lost or doubled at a join, whatever rounding
  ffmpeg does on timestamps. The frame counts add up to what the single pass writes.
- every chunk gets the same encoder settings; each is a fresh encoder, so it starts with an IDR
  frame, and GOPs are closed (`+cgop` / x265 `open-gop=0`): nothing references across a join.
  x264 gets `stitchable=1` so all chunks carry identical SPS/PPS (the concat copy keeps only the
  first chunk's). `setpts=PTS-STARTPTS` starts every chunk at 0 so the concat is seamless.
- the join concatenates the chunks with the concat demuxer (`-c copy`) and muxes the audio.

Limits (refused with ChunkingError): stream-copy, audio-only and image presets, sources without
video, and frame-rate conversion (the preset's fps below the source's).
"""
from __future__ import annotations

import json
import math
import subprocess
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from .binaries import ffmpeg_path, ffprobe_path
from .command import (
    GLOBAL_ARGS,
    Trim,
    _container_args,
    build_command,
    frame_count,
    output_fps,
    output_size,
    resolve_trim,
)
from .paths import ff_target
from .presets import DEFAULT_SPEED, PresetSpec
from .probe import MediaInfo, ProbeError, _stderr_reason
from .verify import VerificationError

PLAN_VERSION = 1
DEFAULT_CHUNK_SECONDS = 30.0
MIN_CHUNK_SECONDS = 2.0
AUDIO_CONTAINERS = {"aac": "m4a", "libmp3lame": "mp3", "libopus": "ogg"}  # audio-only intermediates
CHUNKS_SHARE = 97.0  # percent of a chunked job's progress that is chunk encoding; the join is the rest
AV_SYNC_TOLERANCE = 0.050  # audio and video of the joined file may differ this much (s)
CHUNKABLE_CODECS = ("libx264", "libx265", "libvpx-vp9", "libsvtav1")


class ChunkingError(ValueError):
    """This job cannot be encoded in chunks; the message says why."""


# ---------------------------------------------------------------- data

@dataclass(frozen=True)
class FrameIndex:
    """Presentation times (s, from the container start) of every video frame, and of keyframes.

    `aligned` is False for a synthetic index (constant frame rate assumed, no keyframes known):
    chunk cuts may then fall on any frame.
    """

    times: tuple[float, ...]
    keyframes: tuple[float, ...]
    aligned: bool = True


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float  # seek point in the source (s): the in point for chunk 0, else half a frame early
    end: float  # time bound (s): half a frame after the chunk's last frame
    frames: int  # exactly this many frames are encoded
    first: float  # source time of the first frame (a keyframe for chunks > 0 when aligned)

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class AudioJob:
    spec: dict[str, Any]  # audio-only PresetSpec fields
    start: float
    end: float
    ext: str  # ".m4a" | ".mp3" | ".ogg"


@dataclass(frozen=True)
class JoinStep:
    container: str  # the job's container: the joined file's format
    chunk_ext: str
    frames: int  # frames the joined video must have (== sum of chunks == single pass)
    duration: float  # requested range (s)
    fps: float
    has_audio: bool


@dataclass(frozen=True)
class ChunkPlan:
    spec: dict[str, Any]
    trim: dict[str, Any]
    source: dict[str, Any]  # MediaInfo.to_dict() of the source
    chunks: tuple[Chunk, ...]
    audio: AudioJob | None
    join: JoinStep
    target_seconds: float
    aligned: bool  # cuts on source keyframes (False: constant-frame-rate grid)
    max_concurrency: int = 10
    version: int = PLAN_VERSION

    # -- typed views
    @property
    def preset(self) -> PresetSpec:
        return PresetSpec.from_dict(self.spec)

    @property
    def info(self) -> MediaInfo:
        return MediaInfo.from_dict(self.source)

    @property
    def total_frames(self) -> int:
        return self.join.frames

    def weight(self, index: int) -> float:
        """Share of the video work in chunk `index` (by frames; the weights add up to 1)."""
        return self.chunks[index].frames / max(1, self.total_frames)

    # -- JSON
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ChunkPlan":
        if d.get("version") != PLAN_VERSION:
            raise ChunkingError(f"unknown chunk plan version {d.get('version')!r}")
        audio = d.get("audio")
        return cls(
            spec=dict(d["spec"]), trim=dict(d["trim"]), source=dict(d["source"]),
            chunks=tuple(Chunk(**c) for c in d["chunks"]),
            audio=AudioJob(**audio) if audio else None,
            join=JoinStep(**d["join"]), target_seconds=float(d["target_seconds"]),
            aligned=bool(d["aligned"]), max_concurrency=int(d.get("max_concurrency") or 1),
        )

    @classmethod
    def from_json(cls, text: str) -> "ChunkPlan":
        return cls.from_dict(json.loads(text))

    def summary(self, concurrency: int | None = None) -> dict[str, Any]:
        """What TranscodeJob.plan records about how the job ran."""
        return {
            "mode": "chunked", "chunks": len(self.chunks),
            "concurrency": concurrency or self.max_concurrency,
            "target_seconds": self.target_seconds, "aligned_to_keyframes": self.aligned,
            "frames": self.total_frames, "audio": "encoded once, whole" if self.audio else "none",
            "chunk_frames": [c.frames for c in self.chunks],
        }

    # -- commands (paths/URLs differ per machine, so they are arguments)
    def chunk_command(self, index: int, src, dst) -> list[str]:
        return chunk_command(self.preset, self.info, self.chunks[index], src, dst)

    def audio_command(self, src, dst) -> list[str]:
        if self.audio is None:
            raise ChunkingError("this plan has no audio")
        return audio_command(self.audio, self.info, src, dst)

    def join_command(self, concat_file, dst, audio=None) -> list[str]:
        return join_command(self.join, concat_file, dst, audio)


# ---------------------------------------------------------------- frame index

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
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:
        raise ProbeError(f"ffprobe timed out after {timeout:g} s listing frames") from None
    if proc.returncode != 0:
        raise ProbeError(_stderr_reason(proc.stderr))
    data = json.loads(proc.stdout or "{}")
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

    Lets a planner that cannot afford to read the whole source (a remote S3 object) still plan
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


# ---------------------------------------------------------------- planning

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
) -> ChunkPlan:
    """Cut the trim range into chunks of about `target_seconds`, on keyframes of `index`.

    `index` comes from `read_frame_index(src)` (cuts on source keyframes) or `grid_index(info)`
    (constant frame rate assumed, nothing read from the source). Raises ChunkingError.
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

    audio = None
    if spec.audio_codec and info.has_audio:
        audio_spec = PresetSpec(
            name=f"{spec.name} (audio)", kind="audio", container=AUDIO_CONTAINERS[spec.audio_codec],
            audio_codec=spec.audio_codec, audio_bitrate=spec.audio_bitrate,
            channels=spec.channels, sample_rate=spec.sample_rate,
        )
        audio = AudioJob(audio_spec.to_dict(), start, end, "." + audio_spec.container)
    join = JoinStep(spec.container, "." + spec.container, len(times), round(end - start, 6), fps,
                    audio is not None)
    return ChunkPlan(
        spec=spec.to_dict(), trim={"start": trim.start, "end": trim.end, "accurate": trim.accurate},
        source=info.to_dict(), chunks=tuple(chunks), audio=audio, join=join,
        target_seconds=target, aligned=index.aligned, max_concurrency=max(1, int(max_concurrency)),
    )


# ---------------------------------------------------------------- commands

def _video_only(spec: PresetSpec) -> PresetSpec:
    return replace(spec, audio_codec="", audio_bitrate=None, channels=None, sample_rate=None)


def _set_option(argv: list[str], out_at: int, name: str, value: str) -> int:
    """Set output option `-name value` (between the last input and the output file at
    argv[out_at]); returns the output file's new position."""
    flag = f"-{name}"
    first = max(i for i in range(out_at) if argv[i] == "-i") + 2
    for i in range(first, out_at):
        if argv[i] == flag:
            argv[i + 1] = value
            return out_at
    argv[out_at:out_at] = [flag, value]
    return out_at + 2


def chunk_command(spec: PresetSpec, info: MediaInfo, chunk: Chunk, src, dst) -> list[str]:
    """ffmpeg argv encoding one chunk to `dst`: the job's own command (video only), bounded to
    the chunk's frames, starting at timestamp 0, with x264 headers that stitch."""
    argv = build_command(src, dst, _video_only(spec), Trim(chunk.start, chunk.end), info)
    out_at = argv.index(ff_target(Path(dst)))
    out_at = _set_option(argv, out_at, "frames:v", str(chunk.frames))
    out_at = _set_option(argv, out_at, "t", f"{chunk.length:.6f}")
    filters = "setpts=PTS-STARTPTS"
    first = max(i for i in range(out_at) if argv[i] == "-i") + 2
    if "-vf" in argv[first:out_at]:
        at = argv.index("-vf", first)
        argv[at + 1] = f"{filters},{argv[at + 1]}"
    else:
        out_at = _set_option(argv, out_at, "vf", filters)
    if spec.video_codec == "libx264":
        out_at = _set_option(argv, out_at, "x264-params", "stitchable=1")
    return argv


def audio_command(audio: AudioJob, info: MediaInfo, src, dst) -> list[str]:
    """ffmpeg argv encoding the whole range's audio once (no video) to `dst`."""
    return build_command(src, dst, PresetSpec.from_dict(audio.spec), Trim(audio.start, audio.end), info)


def concat_list(paths: Sequence[str | Path]) -> str:
    """The concat demuxer's list file for `paths` (made absolute, in order)."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        text = str(Path(p).absolute()).replace("'", "'\\''")
        lines.append(f"file '{text}'")
    return "\n".join(lines) + "\n"


def join_command(join: JoinStep, concat_file, dst, audio=None) -> list[str]:
    """ffmpeg argv joining the chunks listed in `concat_file` (and the audio) by stream copy."""
    argv = [ffmpeg_path(), "-f", "concat", "-safe", "0", "-i", ff_target(concat_file)]
    if audio is not None:
        argv += ["-i", ff_target(audio)]
    argv += ["-map", "0:v:0"]
    if audio is not None:
        argv += ["-map", "1:a:0"]
    argv += ["-c", "copy", "-map_chapters", "-1", "-dn", "-sn"]
    for key, value in _container_args(join.container).items():
        argv += ["-f" if key == "format" else f"-{key}", str(value)]
    argv += [ff_target(Path(dst)), *GLOBAL_ARGS, "-y"]
    return argv


# ---------------------------------------------------------------- verification

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
                          stdin=subprocess.DEVNULL, errors="replace")
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


# ---------------------------------------------------------------- choosing

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
    if isinstance(speeds, (int, float)):
        per_vcpu = float(speeds)
    else:
        per_vcpu = speeds.get(speed_key(spec))
        if per_vcpu is None:  # an unmeasured preset: assume the codec's slowest measured one
            same = [v for k, v in speeds.items() if k.split(":")[0] == spec.video_codec]
            per_vcpu = min(same) if same else None
    if not per_vcpu or not size:
        return None
    megapixels = (end - start) * fps * size[0] * size[1] / 1e6
    return megapixels / (per_vcpu * vcpus)


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
