"""Preset + trim + source info → one ffmpeg argv (built with ffmpeg-python, `.compile()`d).

Rules every command follows: input seeking (`-ss` before `-i`), `-map 0:v:0? -map 0:a:0?` so
sources without audio (or video) still work, output size that keeps the display aspect ratio
(rotation included), is even and never larger than the source, `+faststart` for MP4/MOV/M4A,
`yuv420p` for 8-bit H.264/H.265/VP9/AV1, closed GOPs of two seconds, and
`-progress pipe:1 -nostats` for the runner. Stream-copy presets cut at the keyframe before
the in point; every re-encode is frame accurate: the output has round((end-start)*fps) frames.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from .binaries import ffmpeg_path
from .paths import ff_target
from .presets import DEFAULT_CRF, DEFAULT_SPEED, PresetSpec, is_animation
from .probe import MediaInfo

ANIMATION_MAX_SECONDS = 10.0
FASTSTART_CONTAINERS = ("mp4", "mov", "m4a")
GLOBAL_ARGS = ("-hide_banner", "-nostdin", "-loglevel", "warning", "-progress", "pipe:1", "-nostats")
_MUXERS = {"aac": "adts", "mkv": "matroska", "jpg": "image2", "m4a": "ipod", "ogg": "ogg", "opus": "opus",
           "gif": "gif", "mp3": "mp3", "mp4": "mp4", "mov": "mov", "webm": "webm"}


class CommandError(ValueError):
    """The preset cannot be applied to this source (e.g. audio extraction from a silent video)."""


class TrimError(CommandError):
    """The trim range does not fit the source."""


@dataclass(frozen=True)
class Trim:
    start: float = 0.0
    end: float | None = None
    accurate: bool = True  # re-encodes are always frame accurate; stream copy cuts at keyframes


def resolve_trim(trim: Trim | None, info: MediaInfo) -> tuple[float, float]:
    """(start, end) in seconds, end clamped to the source duration; TrimError when impossible."""
    trim = trim or Trim()
    start = float(trim.start or 0.0)
    duration = float(info.duration or 0.0)
    end = duration if trim.end is None else float(trim.end)
    if math.isnan(start) or math.isnan(end) or start < 0:
        raise TrimError(f"trim start must be 0 s or later, got {start}")
    if duration > 0:
        if start >= duration:
            raise TrimError(f"trim start {start:.2f} s is at or past the end of the {duration:.2f} s source")
        end = min(end, duration)
    if end <= start:
        raise TrimError(f"trim end {end:.2f} s must be after the start {start:.2f} s")
    return start, end


def expected_duration(trim: Trim | None, info: MediaInfo, spec: PresetSpec | None = None) -> float:
    """Seconds of media the output should hold (what progress percent is measured against).

    Pass `spec` to account for image presets: a poster is 0 s, animations are capped at 10 s.
    """
    start, end = resolve_trim(trim, info)
    length = end - start
    if spec is not None and spec.kind == "image":
        return 0.0 if spec.container == "jpg" else min(length, ANIMATION_MAX_SECONDS)
    return round(length, 6)


def expected_streams(spec: PresetSpec, info: MediaInfo) -> frozenset[str]:
    """Which of {'video', 'audio'} the output of `spec` applied to this source must contain."""
    have = {k for k, present in (("video", info.has_video), ("audio", info.has_audio)) if present}
    if spec.kind == "copy":
        want = {"video", "audio"}
    elif spec.kind == "audio":
        want = {"audio"}
    elif spec.kind == "image":
        want = {"video"}
    else:
        want = {"video"} | ({"audio"} if spec.audio_codec else set())
    return frozenset(want & have)


def output_size(spec: PresetSpec, info: MediaInfo) -> tuple[int, int] | None:
    """(width, height) of the output picture: display aspect kept, even, never upscaled."""
    if info.video is None:
        return None
    w, h = info.video.display_width, info.video.display_height
    scale = 1.0
    if spec.max_width:
        scale = min(scale, spec.max_width / w)
    if spec.max_height:
        scale = min(scale, spec.max_height / h)

    def even(x: float, limit: int) -> int:
        return max(2, min(math.floor(x / 2 + 0.5) * 2, limit - limit % 2 or 2))

    return even(w * scale, w), even(h * scale, h)


def output_fps(spec: PresetSpec, info: MediaInfo) -> float | None:
    """Frame rate of the output: the preset's, but never above the source's."""
    src = info.video.fps if info.video and info.video.fps > 0 else None
    if spec.fps and (src is None or spec.fps < src):
        return float(spec.fps)
    return src


def frame_count(trim: Trim | None, spec: PresetSpec, info: MediaInfo) -> int | None:
    """Frames a frame-accurate re-encode of the trim range produces: round((end-start)*fps)."""
    fps = output_fps(spec, info)
    if not fps or spec.kind not in ("video", "image"):
        return None
    start, end = resolve_trim(trim, info)
    return max(1, round((end - start) * fps))


# ---------------------------------------------------------------- codec options

def _video_codec_args(spec: PresetSpec, fps: float | None) -> dict[str, object]:
    codec = spec.video_codec
    crf = spec.crf
    if crf is None and not spec.video_bitrate:
        crf = DEFAULT_CRF[codec]
    speed = spec.speed_preset or DEFAULT_SPEED[codec]
    args: dict[str, object] = {"c:v": codec, "pix_fmt": "yuv420p"}
    if fps:
        args["g"] = max(1, round(fps * 2))  # a keyframe every 2 s: seekable output
    if codec in ("libx264", "libx265"):
        args["preset"] = speed
        if crf is not None:
            args["crf"] = crf
            if spec.video_bitrate:  # capped CRF
                args["maxrate"] = f"{spec.video_bitrate}k"
                args["bufsize"] = f"{spec.video_bitrate * 2}k"
        else:
            args["b:v"] = f"{spec.video_bitrate}k"
        if codec == "libx265":
            args["x265-params"] = "log-level=error:open-gop=0"
            args["tag:v"] = "hvc1"  # plays in Apple players
        else:
            args["flags"] = "+cgop"
    elif codec == "libvpx-vp9":
        args["deadline"] = speed
        args["cpu-used"] = 8 if speed == "realtime" else 4
        args["row-mt"] = 1
        if crf is not None:
            args["crf"] = crf
            args["b:v"] = f"{spec.video_bitrate}k" if spec.video_bitrate else 0
        else:
            args["b:v"] = f"{spec.video_bitrate}k"
    elif codec == "libsvtav1":
        args["preset"] = int(speed)
        if crf is not None:
            args["crf"] = crf
            if spec.video_bitrate:
                args["maxrate"] = f"{spec.video_bitrate}k"
        else:
            args["b:v"] = f"{spec.video_bitrate}k"
        args["svtav1-params"] = "enable-overlays=0"
    return args


def _audio_codec_args(spec: PresetSpec) -> dict[str, object]:
    args: dict[str, object] = {"c:a": spec.audio_codec}
    if spec.audio_bitrate:
        args["b:a"] = f"{spec.audio_bitrate}k"
    if spec.channels:
        args["ac"] = spec.channels
        if spec.audio_codec == "libopus" and spec.channels > 2:
            args["mapping_family"] = 1
    if spec.sample_rate:
        args["ar"] = spec.sample_rate
    return args


LOUDNORM_LRA = 50  # loudnorm's largest target range: linear mode is never refused for a wide range
TRUE_PEAK_MARGIN = 0.5  # dB under the ceiling the filter aims for: room for a lossy codec's overshoot
SILENT_LUFS = -69.0  # ebur128 reports -70 LUFS for silence: nothing to normalise


def loudness_filter(spec: PresetSpec, info: MediaInfo, whole: bool = True) -> str:
    """The audio filter normalising to `spec.loudness_target` in this one encode.

    With the source's stored measurement (`info.loudness`, from the analysis at ingest) and the
    whole file encoded: `loudnorm` in linear mode fed measured_I/LRA/TP/thresh, i.e. one constant
    gain, no second analysis pass (loudnorm itself falls back to its dynamic mode when that gain
    would push the true peak over the ceiling). Without a measurement, or for a trimmed part of
    the file (the whole file's measurement does not describe it), loudnorm's one-pass dynamic mode.
    loudnorm works at 192 kHz, so the output is resampled to the preset's or the source's rate.
    """
    target = spec.loudness_target
    ceiling = spec.true_peak_ceiling if spec.true_peak_ceiling is not None else -1.0
    tp = max(-9.0, ceiling - TRUE_PEAK_MARGIN)
    rate = spec.sample_rate or (info.audio.sample_rate if info.audio and info.audio.sample_rate else 48000)
    loud = info.loudness
    if loud is not None and loud.integrated <= SILENT_LUFS:
        return f"aresample={rate}"  # silence stays silence
    parts = [f"I={target:g}", f"TP={tp:g}", f"LRA={LOUDNORM_LRA}"]
    if loud is not None and whole:
        clamp = lambda v, lo, hi: min(hi, max(lo, v))  # noqa: E731 - loudnorm's accepted ranges
        parts += [f"measured_I={clamp(loud.integrated, -99, 0):g}",
                  f"measured_LRA={clamp(loud.range, 0.1, 99):g}",  # 0 would disable linear mode
                  f"measured_TP={clamp(loud.true_peak, -99, 99):g}",
                  f"measured_thresh={clamp(loud.threshold, -99, 0):g}",
                  "linear=true"]
    return f"loudnorm={':'.join(parts)}:print_format=none,aresample={rate}"


def _scale_filter(size: tuple[int, int] | None, info: MediaInfo) -> str | None:
    """The preset's scaler: Lanczos, which keeps the detail bicubic loses when downscaling; at
    HandBrake's SSIM it made the "H.264 720p" output 7-9 % smaller than bicubic did, for a few per
    cent more CPU (bench/handbrake.py, docs/benchmarks.md)."""
    if size is None or info.video is None:
        return None
    if size == (info.video.display_width, info.video.display_height):
        return None
    return f"scale={size[0]}:{size[1]}:flags=lanczos"


# ---------------------------------------------------------------- builders

def build_command(
    src,
    dst,
    spec: PresetSpec,
    trim: Trim | None,
    info: MediaInfo,
    *,
    overwrite: bool = True,
    keyframe_lead: float | None = None,
    output_options: Mapping[str, object] | None = None,
    leading_filters: Sequence[str] = (),
) -> list[str]:
    """Full ffmpeg argv (binary first) turning `src` into `dst` with `spec` over the `trim` range.

    `src` may be a local path or an http(s) URL (passed untouched); `dst` a local path. For a
    stream copy, `keyframe_lead` (probe.keyframe_lead) moves the input seek onto the keyframe before
    the in point: containers without a seek index (MPEG-TS) would otherwise start the copy at the
    keyframe AFTER it, losing the picture between the in point and that keyframe. None (unknown)
    leaves the seek at the in point, which indexed containers resolve to that keyframe themselves.
    For re-encodes, `output_options` are laid over the output options (e.g. a chunk's
    `frames:v`/`t` bounds) and `leading_filters` run before the preset's own video filters.
    Raises CommandError/TrimError when the combination is impossible.
    """
    trim = trim or Trim()
    start, end = resolve_trim(trim, info)
    streams = expected_streams(spec, info)
    if not streams:
        need = "an audio stream" if spec.kind == "audio" else "a video stream"
        raise CommandError(f"preset {spec.name!r} needs {need}, and the source has none")
    source = ff_target(src)
    target = ff_target(Path(dst))
    whole = start <= 0 and end >= info.duration

    if spec.kind == "copy":
        if keyframe_lead is None:
            node = _copy(source, target, spec, start, end, whole, at_keyframe=False)
        else:
            node = _copy(source, target, spec, max(0.0, start - max(keyframe_lead, 0.0)), end, whole,
                         at_keyframe=True, decode_lead=decode_lead(info))
    elif spec.kind == "image":
        node = _image(source, target, spec, info, start, end)
    else:
        node = _encode(source, target, spec, trim, info, start, end, streams, whole,
                       dict(output_options or {}), tuple(leading_filters))
    node = node.global_args(*GLOBAL_ARGS)
    if overwrite:
        node = node.overwrite_output()
    return node.compile(cmd=ffmpeg_path())


def _input(source: str, start: float, length: float | None = None, **extra):
    opts: dict[str, object] = dict(extra)
    if start > 0:
        opts["ss"] = f"{start:.6f}"
    if length is not None:
        opts["t"] = f"{length:.6f}"
    return ffmpeg.input(source, **opts)


def _container_args(container: str) -> dict[str, object]:
    args: dict[str, object] = {"format": _MUXERS[container]}
    if container in FASTSTART_CONTAINERS:
        args["movflags"] = "+faststart"
    return args


COPY_PRESEEK_S = 1.0
def decode_lead(info: MediaInfo) -> float:
    """Seconds by which a video packet's decode time may precede its presentation time (B-frame
    reordering, from the probe); 0 without B-frames or when unknown."""
    video = info.video
    if video is None or not video.fps or video.fps <= 0:
        return 0.0
    return video.reorder_delay / video.fps


def _copy(source, target, spec, start, end, whole, *, at_keyframe: bool, decode_lead: float = 0.0):
    # at_keyframe: `start` is the keyframe the copy begins at (build_command moved it there). Seek
    # the input a second before it, then drop what comes before it on the output side: an input
    # seek alone is exact only with a seek index (MP4, MKV); MPEG-TS lands near the target and
    # would keep audio from before the keyframe. FFmpeg makes both output-side cuts (-ss, -t) on
    # packet decode times, and with B-frames the keyframe decodes `decode_lead` before it shows:
    # the cut sits that much (+1 ms against rounding) early, or it would drop the keyframe and
    # start a whole GOP late, and the length grows by as much, or the copy would stop short of
    # the out point. Frames before the keyframe that fall in that margin are not keyframes, and
    # a stream copy never starts on one.
    # Otherwise (keyframes unknown): the input seek alone, to the in point.
    pre = min(start, COPY_PRESEEK_S) if at_keyframe else 0.0
    margin = min(pre, decode_lead + 0.001)
    inp = _input(source, start - pre)
    opts = {"c": "copy", "avoid_negative_ts": "make_zero", "map_chapters": -1,
            **_container_args(spec.container)}
    if pre - margin > 0.0:
        opts["ss"] = f"{pre - margin:.6f}"
    if not whole:
        opts["t"] = f"{end - start + (margin if at_keyframe else 0.0):.6f}"
    return ffmpeg.output(inp["v:0?"], inp["a:0?"], target, **opts)


def _encode(source, target, spec, trim, info, start, end, streams, whole, extra=None, leading=()):
    inp = _input(source, start)
    maps = []
    opts: dict[str, object] = {"map_chapters": -1, **_container_args(spec.container)}
    fps = output_fps(spec, info)
    if "video" in streams:
        maps.append(inp["v:0?"])
        filters = list(leading)
        if spec.fps and info.video and fps and fps < info.video.fps:
            filters.append(f"fps={fps:g}")
        scale = _scale_filter(output_size(spec, info), info)
        if scale:
            filters.append(scale)
        if filters:
            opts["vf"] = ",".join(filters)
        opts.update(_video_codec_args(spec, fps))
        frames = frame_count(trim, spec, info)
        if frames and not whole:
            opts["frames:v"] = frames
    else:
        opts["vn"] = None
    if "audio" in streams:
        maps.append(inp["a:0?"])
        opts.update(_audio_codec_args(spec))
        if spec.loudness_target is not None:
            opts["af"] = loudness_filter(spec, info, whole)
    else:
        opts["an"] = None
    if not whole:
        # half a frame of slack so rounding never drops the last frame; -frames:v caps video
        slack = 0.5 / fps if fps and "video" in streams else 0.0
        opts["t"] = f"{end - start + slack:.6f}"
    opts["sn"] = None
    opts["dn"] = None
    opts.update(extra or {})
    return ffmpeg.output(*maps, target, **opts)


def _image(source, target, spec, info, start, end):
    size = output_size(spec, info)
    if spec.container == "jpg":
        if info.duration > 0 and info.video and info.video.fps > 0:
            # a seek at the very last frame can find nothing to decode: stay two frames before it
            start = max(0.0, min(start, info.duration - 2 / info.video.fps))
        inp = _input(source, start)
        opts = {"frames:v": 1, "c:v": "mjpeg", "q:v": 3, "update": 1, "an": None,
                "format": "image2"}
        scale = _scale_filter(size, info)
        if scale:
            opts["vf"] = scale
        return ffmpeg.output(inp["v:0"], target, **opts)

    length = min(end - start, ANIMATION_MAX_SECONDS)
    fps = output_fps(spec, info) or 12.0
    inp = _input(source, start, length)
    video = inp["v:0"]
    if info.video and fps < info.video.fps:
        video = video.filter("fps", fps=f"{fps:g}")
    if size and size != (info.video.display_width, info.video.display_height):
        video = video.filter("scale", size[0], size[1], flags="lanczos")
    if spec.container == "gif":
        split = video.split()
        palette = split[0].filter("palettegen", stats_mode="diff", max_colors=256)
        out = ffmpeg.filter([split[1], palette], "paletteuse", dither="bayer", bayer_scale=4,
                            diff_mode="rectangle")
        return ffmpeg.output(out, target, format="gif", loop=0)
    # WebP: this ffmpeg has no WebP encoder, so it writes the frames losslessly as a PPM stream
    # and Pillow encodes them as an animated WebP (`webp.finish_webp`, called by the runner/verify).
    video = video.filter("format", "rgb24")
    return ffmpeg.output(video, target, format="image2pipe", **{"c:v": "ppm"})


def describe_trim(spec: PresetSpec, trim: Trim | None) -> str:
    """How this preset cuts, for job plans and the UI."""
    if spec.kind == "copy":
        return "stream copy: starts at the keyframe at or before the in point (no re-encode)"
    if spec.kind == "image" and spec.container == "jpg":
        return "one frame at the in point"
    if is_animation(spec):
        return f"animation of the in..out range, at most {ANIMATION_MAX_SECONDS:g} s"
    return "re-encode: frame-accurate cut"
