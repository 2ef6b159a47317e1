"""Smart cut planning and commands: re-encode only the frames at the edges of a trim, copy the GOPs
in between untouched. Pure FFmpeg knowledge; the runner that executes these steps is
`backend.pipeline.smartcut`, the checks are `backend.media.smartcut_verify`. See docs/smartcut.md.

Frames are counted in presentation order from the first video packet's pts list (ffprobe, no
decode). For a trim [start, end): the output holds frames i0 .. i1-1, i0 the first frame at or
after `start`, i1 the first at or after `end` (half a frame of rounding either way).

    head   = frames [i0, ka)   re-encoded (ka: first keyframe at or after i0)
    middle = frames [ka, kb)   packets copied (kb: last keyframe at or before i1)
    tail   = frames [kb, i1)   re-encoded (only when the out point is not on a keyframe)

Each part is written as MPEG-TS (timestamps kept, parameter sets in-band), then the parts are
joined with the concat demuxer and muxed with the audio into the preset's container.
"""
from __future__ import annotations

import bisect
import json
import subprocess
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from .binaries import ffmpeg_path, ffprobe_path
from .paths import ff_target
from .probe import ProbeError

TRIM_MODES = ("keyframe", "smart", "accurate")
SMART_CODECS = {"h264": "libx264", "hevc": "libx265"}
SMART_CONTAINERS = ("mp4", "mov", "mkv")
# head/tail quality: visually lossless, well above what a delivery encode of the source used
EDGE_CRF = {"libx264": 16, "libx265": 18}
# x264 superfast keeps CABAC and deblocking; the edges are short and the CRF carries the quality
EDGE_PRESET = {"libx264": "superfast", "libx265": "veryfast"}  # x265 superfast edges: joins FFmpeg could not decode (caught by the verification)
# SPS/PPS ids of the re-encoded parts (H.264): distinct from the source's (almost always 0), so
# no parameter set id is ever redefined with other content inside one stream
HEAD_SPS_ID, TAIL_SPS_ID = 30, 31
COPY_AUDIO = ("aac", "mp3", "mp2", "ac3", "eac3", "opus", "flac", "alac")
PRE_SEEK_S = 3.0  # seek this far before a copied part and drop the extra packets by pts


class SmartCutError(ValueError):
    """This source or range cannot be smart cut; str(e) says why (the plan falls back)."""


@dataclass(frozen=True)
class VideoStream:
    """What the edge encoder must match, and the frame/keyframe index of the first video stream."""

    codec: str
    profile: str
    level: int
    width: int
    height: int
    pix_fmt: str
    field_order: str
    time_base: str
    fps: Fraction
    color_range: str
    color_space: str
    color_transfer: str
    color_primaries: str
    bit_rate: int | None
    container_start: float
    frames: tuple[float, ...]  # pts (s, from the container start as -ss counts) in display order
    keyframes: frozenset[int]  # indexes into `frames`
    leading: frozenset[int]  # keyframes followed (decode order) by pictures shown before them
    indexed: bool = True  # the container has a seek index (MP4/MOV/MKV), unlike MPEG-TS


def _frac(text: str | None) -> Fraction:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return Fraction(0)
    return value


def read_stream(src, timeout: float = 120) -> VideoStream:
    """One ffprobe run: stream properties plus every video packet's pts and key flag."""
    argv = [ffprobe_path(), "-hide_banner", "-v", "error", "-select_streams", "v:0", "-of", "json",
            "-show_entries",
            "format=start_time,format_name:stream=codec_name,profile,level,width,height,pix_fmt,field_order,time_base,"
            "r_frame_rate,avg_frame_rate,color_range,color_space,color_transfer,color_primaries,bit_rate"
            ":packet=pts_time,dts_time,flags", ff_target(src)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              errors="replace")
    except subprocess.TimeoutExpired:
        raise ProbeError(f"ffprobe timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        raise ProbeError(proc.stderr.strip()[-300:] or "ffprobe failed")
    data = json.loads(proc.stdout or "{}")
    streams = data.get("streams") or []
    if not streams:
        raise SmartCutError("the source has no video stream")
    s = streams[0]
    start = float((data.get("format") or {}).get("start_time") or 0.0)
    decode: list[tuple[float, bool]] = []
    for p in data.get("packets") or []:
        t = p.get("pts_time", p.get("dts_time"))
        if t in (None, "N/A"):
            raise SmartCutError("video packets without timestamps")
        decode.append((round(float(t) - start, 6), "K" in (p.get("flags") or "")))
    if not decode:
        raise SmartCutError("the video stream has no packets")
    frames = sorted(t for t, _ in decode)
    index = {t: i for i, t in enumerate(frames)}
    keys, leading = set(), set()
    for n, (t, key) in enumerate(decode):
        if key:
            i = index[t]
            keys.add(i)
            # open GOP: pictures after the keyframe in decode order but shown before it
            if any(u < t for u, _ in decode[n + 1:n + 8]):
                leading.add(i)
    fps = _frac(s.get("avg_frame_rate"))
    if fps <= 0:
        fps = _frac(s.get("r_frame_rate"))
    bit_rate = s.get("bit_rate")
    return VideoStream(
        codec=s.get("codec_name", ""), profile=s.get("profile", "") or "", level=int(s.get("level") or 0),
        width=int(s.get("width") or 0), height=int(s.get("height") or 0), pix_fmt=s.get("pix_fmt", "") or "",
        field_order=s.get("field_order", "") or "", time_base=s.get("time_base", "") or "",
        fps=fps, color_range=s.get("color_range", "") or "", color_space=s.get("color_space", "") or "",
        color_transfer=s.get("color_transfer", "") or "", color_primaries=s.get("color_primaries", "") or "",
        bit_rate=int(bit_rate) if str(bit_rate or "").isdigit() else None,
        container_start=start, frames=tuple(frames), keyframes=frozenset(keys), leading=frozenset(leading),
        indexed=not any(n in ("mpegts", "mpeg", "h264", "hevc")
                        for n in str((data.get("format") or {}).get("format_name", "")).split(",")),
    )


@dataclass(frozen=True)
class Part:
    kind: str  # "encode" | "copy"
    first: int  # frame index (display order) of the part's first frame
    count: int  # frames
    start: float  # pts (s from the container start) of the first frame
    end: float  # pts of the frame after the last (the next part's start)

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class SmartPlan:
    """Which frames are re-encoded and which copied; `fallback` says why it all is re-encoded."""

    mode: str  # "smart" | "reencode"
    first: int
    frames: int
    parts: tuple[Part, ...]
    fallback: str = ""
    encoder: str = ""

    @property
    def head_seconds(self) -> float:
        p = self.parts[0] if self.parts else None
        return p.seconds if p and p.kind == "encode" and self.mode == "smart" else 0.0

    @property
    def tail_seconds(self) -> float:
        p = self.parts[-1] if len(self.parts) > 1 else None
        return p.seconds if p and p.kind == "encode" else 0.0

    @property
    def copy_seconds(self) -> float:
        return sum(p.seconds for p in self.parts if p.kind == "copy")

    @property
    def encode_seconds(self) -> float:
        return sum(p.seconds for p in self.parts if p.kind == "encode")

    def describe(self) -> str:
        """What the cut will do, in one sentence (job plans and the UI)."""
        if self.mode != "smart":
            return f"re-encodes all {self.encode_seconds:.2f} s ({self.fallback})"
        bits = []
        if self.head_seconds:
            bits.append(f"re-encodes {self.head_seconds:.2f} s at the start")
        if self.tail_seconds:
            bits.append(f"{'and ' if bits else 're-encodes '}{self.tail_seconds:.2f} s at the end")
        bits.append(f"copies {self.copy_seconds:.1f} s")
        text = " ".join(bits[:-1])
        return f"{text}, {bits[-1]}" if text else bits[-1]

    def record(self) -> dict:
        return {"trim": "smart", "smart_mode": self.mode, "smart_fallback": self.fallback,
                "smart_plan": self.describe(), "frames": self.frames,
                "head_s": round(self.head_seconds, 3), "tail_s": round(self.tail_seconds, 3),
                "copy_s": round(self.copy_seconds, 3), "parts": [asdict(p) for p in self.parts]}


FRAME_TOLERANCE_S = 1e-3


def _frame_at(frames: tuple[float, ...], t: float) -> int:
    """Index of the first frame at or after `t` (1 ms of rounding), as an input seek picks it."""
    return bisect.bisect_left(frames, t - FRAME_TOLERANCE_S)


def unsupported(stream: VideoStream, container: str) -> str:
    """Why this stream cannot be smart cut into `container` ("" when it can)."""
    if stream.codec not in SMART_CODECS:
        return f"smart cut supports H.264 and HEVC, the source is {stream.codec or 'unknown'}"
    if container not in SMART_CONTAINERS:
        return f"smart cut writes {', '.join(SMART_CONTAINERS)}, not {container}"
    if stream.field_order not in ("", "progressive", "unknown"):
        return f"interlaced source ({stream.field_order})"
    if stream.fps <= 0:
        return "the source has no constant frame rate"
    steps = [b - a for a, b in zip(stream.frames, stream.frames[1:])]
    if steps and max(steps) - min(steps) > 0.5 / float(stream.fps):
        return "the source has a variable frame rate"
    return ""


def plan_smartcut(stream: VideoStream, start: float, end: float, container: str) -> SmartPlan:
    """Where the edges and the copied middle go; a one-part "reencode" plan (with its reason) when
    a smart cut is not possible or would copy nothing."""
    frames, fps = stream.frames, stream.fps
    # the same frames a frame-accurate re-encode keeps: from the first at or after the in point,
    # round((end - start) * fps) of them (backend.media.command.frame_count)
    i0 = _frame_at(frames, start)
    i1 = min(i0 + max(1, round((end - start) * float(fps))) if fps else _frame_at(frames, end), len(frames))
    if i1 <= i0:
        raise SmartCutError(f"no frame between {start:.3f} s and {end:.3f} s")

    def t(i: int) -> float:
        return frames[i] if i < len(frames) else frames[-1] + 1 / float(fps or 25)

    def whole(reason: str) -> SmartPlan:
        return SmartPlan("reencode", i0, i1 - i0, (Part("encode", i0, i1 - i0, t(i0), t(i1)),), reason,
                         SMART_CODECS.get(stream.codec, "libx264"))

    why = unsupported(stream, container)
    if why:
        return whole(why)
    keys = sorted(k for k in stream.keyframes if i0 <= k <= i1)
    if i1 == len(frames):  # the end of the stream closes the last GOP: it can be copied to the end
        keys.append(i1)
    ka = next((k for k in keys if k < i1), None)
    kb = max((k for k in keys if ka is not None and k > ka), default=None)
    if ka is None or kb is None:
        return whole("fewer than two keyframes in the range: nothing to copy")
    if ka in stream.leading:
        # H.264 puts no rule on what may reference an open GOP's leading pictures, and an HEVC CRA
        # inside a stream keeps counting picture order from the re-encoded head: not safe to copy
        return whole(f"open GOP: the keyframe at {t(ka):.3f} s has leading pictures that reference the GOP before it")
    parts = []
    if ka > i0:
        parts.append(Part("encode", i0, ka - i0, t(i0), t(ka)))
    parts.append(Part("copy", ka, kb - ka, t(ka), t(kb)))
    if i1 > kb:
        parts.append(Part("encode", kb, i1 - kb, t(kb), t(i1)))
    return SmartPlan("smart", i0, i1 - i0, tuple(parts), "", SMART_CODECS[stream.codec])


# ---------------------------------------------------------------- commands

GLOBAL = ("-hide_banner", "-nostdin", "-loglevel", "warning", "-progress", "pipe:1", "-nostats")


def _level(stream: VideoStream) -> str:
    if stream.codec == "hevc":
        return f"{stream.level / 30:g}" if stream.level else ""
    return f"{stream.level / 10:g}" if stream.level else ""


def _profile(stream: VideoStream) -> str:
    p = stream.profile.lower()
    if stream.codec == "hevc":
        return {"main": "main", "main 10": "main10", "rext": ""}.get(p, "")
    return {"constrained baseline": "baseline", "baseline": "baseline", "main": "main", "high": "high",
            "high 10": "high10", "high 4:2:2": "high422", "high 4:4:4 predictive": "high444"}.get(p, "")


def encoder_args(stream: VideoStream, part_index: int) -> list[str]:
    """Encoder options matched to the source stream: codec, profile, level, size, pixel format,
    colour properties, frame rate; quality well above a delivery encode (CRF 16/18)."""
    codec = SMART_CODECS[stream.codec]
    args = ["-c:v", codec, "-preset", EDGE_PRESET[codec], "-crf", str(EDGE_CRF[codec]), "-pix_fmt", stream.pix_fmt,
            "-s", f"{stream.width}x{stream.height}", "-r", str(stream.fps), "-fps_mode", "cfr"]
    profile, level = _profile(stream), _level(stream)
    if profile:
        args += ["-profile:v", profile]
    for opt, value in (("-color_range", stream.color_range), ("-colorspace", stream.color_space),
                       ("-color_trc", stream.color_transfer), ("-color_primaries", stream.color_primaries)):
        if value and value != "unknown":
            args += [opt, value]
    if codec == "libx264":
        if level:
            args += ["-level", level]
        sps = HEAD_SPS_ID if part_index == 0 else TAIL_SPS_ID
        args += ["-x264-params", f"sps-id={sps}:keyint=100000:scenecut=0", "-flags", "+cgop"]
    else:
        params = "log-level=error:open-gop=0:keyint=100000:scenecut=0:repeat-headers=1"
        if level:
            params += f":level-idc={level}"
        args += ["-x265-params", params]
    return args


def exact_seek(stream: VideoStream, t: float) -> tuple[list[str], float]:
    """(input options, trim start) that start decoding at frame time `t` exactly, whatever the
    container: `-copyts` keeps the source's own timestamps (so the trim point does not depend on
    which stream's start FFmpeg counts from), the input seek goes to before the keyframe at or
    before `t` (MPEG-TS has no index and lands near, not on, a keyframe), and a `trim` filter from
    the returned start (an absolute source timestamp) drops the frames before `t`."""
    eps = 0.25 / float(stream.fps)
    i = bisect.bisect_left(stream.frames, t - eps)
    key = max((k for k in stream.keyframes if k <= i), default=0)
    # an indexed container seeks to the keyframe at or before the target: aim just before it
    margin = eps if stream.indexed else PRE_SEEK_S
    seek_in = max(0.0, stream.frames[key] - margin) if key else 0.0
    return ["-copyts", *(["-ss", f"{seek_in:.6f}"] if seek_in else [])], stream.container_start + t - eps


def encode_part_argv(src, dst: Path, stream: VideoStream, part: Part, part_index: int) -> list[str]:
    """Re-encode `part`'s frames exactly."""
    before, skip = exact_seek(stream, part.start)
    return [ffmpeg_path(), *GLOBAL, "-y", *before, "-i", ff_target(src), "-map", "0:v:0",
            "-vf", f"trim=start={skip:.6f},setpts=PTS-STARTPTS",
            "-frames:v", str(part.count), *encoder_args(stream, part_index), "-an", "-sn", "-dn",
            "-f", "mpegts", ff_target(dst)]


def _drop_expr(lo: float, hi: float) -> str:
    # noise bsf: drop packets whose pts (s) is outside [lo, hi); commas escaped for the bsf chain
    return f"noise=drop=lt(pts*tb\\,{lo:.6f})+gte(pts*tb\\,{hi:.6f})"


def copy_part_argv(src, dst: Path, stream: VideoStream, part: Part) -> list[str]:
    """Copy `part`'s packets untouched: seek a little before it, keep the source timestamps and drop
    by pts what lies outside it (this also drops an HEVC CRA's leading pictures)."""
    half = 0.5 / float(stream.fps)
    cs = stream.container_start
    seek = max(0.0, part.start - PRE_SEEK_S)
    return [ffmpeg_path(), *GLOBAL, "-y", "-copyts", "-ss", f"{seek:.6f}", "-i", ff_target(src), "-map", "0:v:0",
            "-c:v", "copy", "-bsf:v", _drop_expr(cs + part.start - half, cs + part.end - half),
            "-an", "-sn", "-dn", "-f", "mpegts", ff_target(dst)]


def audio_argv(src, dst: Path, stream: VideoStream, start: float, end: float, codec: str) -> tuple[list[str], bool]:
    """The audio of [start, end): its packets copied (the first frame at or after the in point, so
    sync stays exact and the offset is under one audio frame) when the codec allows, else AAC.
    Returns (argv, copied)."""
    cs = stream.container_start
    if codec in COPY_AUDIO:
        seek = max(0.0, start - PRE_SEEK_S)
        return [ffmpeg_path(), *GLOBAL, "-y", "-copyts", "-ss", f"{seek:.6f}", "-i", ff_target(src),
                "-map", "0:a:0", "-c:a", "copy", "-bsf:a", _drop_expr(cs + start - 1e-4, cs + end - 1e-4),
                "-vn", "-sn", "-dn", "-f", "matroska", ff_target(dst)], True
    return [ffmpeg_path(), *GLOBAL, "-y", "-ss", f"{start:.6f}", "-i", ff_target(src), "-map", "0:a:0",
            "-t", f"{end - start:.6f}", "-c:a", "aac", "-b:a", "192k", "-vn", "-sn", "-dn",
            "-f", "matroska", ff_target(dst)], False


def concat_list(parts: list[tuple[Path, Part]], fps: Fraction) -> str:
    """The concat demuxer's list: each part file with its exact duration (frames / fps)."""
    lines = ["ffconcat version 1.0"]
    for path, part in parts:
        lines.append(f"file '{path.as_posix()}'")
        lines.append(f"duration {float(Fraction(part.count) / fps):.9f}")
    return "\n".join(lines) + "\n"


_MUX = {"mp4": "mp4", "mov": "mov", "mkv": "matroska"}


def merges_parameter_sets(stream: VideoStream, container: str) -> bool:
    """H.264 in MP4/MOV: after the join, every part's SPS/PPS go into the one avcC
    (backend.media.avcc; the distinct ids make that possible). HEVC parts all use id 0, so their
    sets stay in-band; Matroska players read in-band sets."""
    return stream.codec == "h264" and container in ("mp4", "mov")


def join_argv(list_file: Path, audio: Path | None, audio_offset: float, dst: Path, container: str,
              stream: VideoStream) -> list[str]:
    """Join the parts (concat demuxer, packets copied) and mux the audio at its offset."""
    argv = [ffmpeg_path(), *GLOBAL, "-y", "-f", "concat", "-safe", "0", "-i", ff_target(list_file)]
    if audio is not None:
        argv += ["-itsoffset", f"{audio_offset:.6f}", "-i", ff_target(audio), "-map", "0:v:0", "-map", "1:a:0"]
    else:
        argv += ["-map", "0:v:0"]
    argv += ["-c", "copy", "-map_chapters", "-1", "-f", _MUX[container]]
    if container in ("mp4", "mov"):
        if not merges_parameter_sets(stream, container):  # finish_mp4 moves moov to the front itself
            argv += ["-movflags", "+faststart"]
        if stream.codec == "hevc":
            argv += ["-tag:v", "hvc1"]
        den = stream.time_base.partition("/")[2]
        if den.isdigit():
            argv += ["-video_track_timescale", den]
    return argv + [ff_target(dst)]
