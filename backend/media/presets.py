"""Transcode presets: the `PresetSpec` record, the builtin library and allowlist validation.

There are no free-form ffmpeg arguments: every field is checked against an allowlist (codecs per
container, speed presets per codec) or a range, and `PresetError` says what to change.
Field names equal the `TranscodePreset` table's columns.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

KINDS = ("video", "audio", "copy", "image")

X26X_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
               "slower", "veryslow")
SPEEDS: dict[str, tuple[str, ...]] = {
    "libx264": X26X_SPEEDS,
    "libx265": X26X_SPEEDS,
    "libvpx-vp9": ("realtime", "good"),
    "libsvtav1": tuple(str(n) for n in range(14)),
}
DEFAULT_SPEED = {"libx264": "veryfast", "libx265": "veryfast", "libvpx-vp9": "realtime",
                 "libsvtav1": "10"}
CRF_RANGE = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libsvtav1": (0, 63)}
DEFAULT_CRF = {"libx264": 23, "libx265": 26, "libvpx-vp9": 33, "libsvtav1": 35}

# container -> (video codecs, audio codecs)
VIDEO_CONTAINERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mp4": (("libx264", "libx265", "libsvtav1"), ("aac", "libmp3lame")),
    "mov": (("libx264", "libx265"), ("aac", "libmp3lame")),
    "mkv": (("libx264", "libx265", "libvpx-vp9", "libsvtav1"), ("aac", "libmp3lame", "libopus")),
    "webm": (("libvpx-vp9", "libsvtav1"), ("libopus",)),
}
AUDIO_CONTAINERS: dict[str, tuple[str, ...]] = {
    "m4a": ("aac",),
    "mp3": ("libmp3lame",),
    "ogg": ("libopus",),
    "opus": ("libopus",),
}
IMAGE_CONTAINERS: dict[str, str] = {"jpg": "mjpeg", "gif": "gif", "webp": "webp"}
COPY_CONTAINERS = ("mp4", "mkv", "mov", "webm")

ALIASES = {
    "h264": "libx264", "x264": "libx264", "avc": "libx264",
    "h265": "libx265", "hevc": "libx265", "x265": "libx265",
    "vp9": "libvpx-vp9", "av1": "libsvtav1", "svtav1": "libsvtav1",
    "mp3": "libmp3lame", "opus": "libopus", "jpeg": "mjpeg", "jpg": "mjpeg",
}
CONTAINER_ALIASES = {"jpeg": "jpg", "matroska": "mkv", "aac": "m4a"}

SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
CODEC_SAMPLE_RATES = {
    "libopus": (8000, 12000, 16000, 24000, 48000),
    "libmp3lame": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
}
CHANNELS = (1, 2, 6)
CODEC_CHANNELS = {"libmp3lame": (1, 2)}
VIDEO_BITRATE_RANGE = (50, 200_000)  # kbit/s
AUDIO_BITRATE_RANGE = (32, 512)  # kbit/s
WIDTH_RANGE = (16, 7680)
HEIGHT_RANGE = (16, 4320)
FPS_RANGE = (1, 120)
ANIMATION_FPS_RANGE = (1, 30)
LOUDNESS_TARGET_RANGE = (-36.0, -5.0)  # LUFS: -23 EBU R128 broadcast, -16 streaming, -14 music platforms
TRUE_PEAK_RANGE = (-9.0, 0.0)  # dBTP, loudnorm's limits
DEFAULT_TRUE_PEAK = -1.0

CODEC_LABELS = {
    "libx264": "H.264", "libx265": "H.265", "libvpx-vp9": "VP9", "libsvtav1": "AV1",
    "aac": "AAC", "libmp3lame": "MP3", "libopus": "Opus",
    "mjpeg": "JPEG", "gif": "GIF", "webp": "WebP",
}


class PresetError(ValueError):
    """A preset field is invalid; `.field` names it and the message says what to change."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PresetSpec:
    name: str
    kind: str  # video | audio | copy | image
    container: str
    description: str = ""
    video_codec: str = ""
    crf: int | None = None
    video_bitrate: int | None = None  # kbit/s
    speed_preset: str = ""
    max_width: int | None = None
    max_height: int | None = None
    fps: float | None = None
    audio_codec: str = ""
    audio_bitrate: int | None = None  # kbit/s
    channels: int | None = None
    sample_rate: int | None = None
    loudness_target: float | None = None  # LUFS: normalise the sound to this integrated loudness
    true_peak_ceiling: float | None = None  # dBTP the normalised sound stays under (default -1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PresetSpec":
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in dict(d).items() if k in names}
        for key in ("description", "video_codec", "speed_preset", "audio_codec"):
            if data.get(key) is None:
                data[key] = ""
        return cls(**data)


# ---------------------------------------------------------------- validation helpers

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(field: str, value, lo: int, hi: int, what: str = "") -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value):
        raise PresetError(field, f"{field} must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise PresetError(field, f"{field} must be between {lo} and {hi}{what}, got {value}")
    return value


def _forbid(spec: PresetSpec, names: tuple[str, ...], why: str) -> None:
    for name in names:
        value = getattr(spec, name)
        if value not in (None, ""):
            raise PresetError(name, f"{name} must be empty: {why} (got {value!r})")


def _choice(field: str, value: str, allowed, context: str) -> str:
    if value not in allowed:
        raise PresetError(
            field, f"{field} {value!r} is not allowed {context}; choose one of: {', '.join(map(str, allowed))}"
        )
    return value


def _norm(value: Any, aliases: dict[str, str]) -> str:
    text = (value or "").strip() if isinstance(value, str) else value
    if not isinstance(text, str):
        return text
    low = text.lower()
    return aliases.get(low, low)


def _video_fields(spec: PresetSpec, codecs: tuple[str, ...], context: str) -> dict[str, Any]:
    codec = _norm(spec.video_codec, ALIASES)
    if not codec:
        raise PresetError("video_codec", f"video_codec is required {context}; choose one of: {', '.join(codecs)}")
    _choice("video_codec", codec, codecs, context)
    out: dict[str, Any] = {"video_codec": codec}
    if spec.crf is not None:
        lo, hi = CRF_RANGE[codec]
        out["crf"] = _whole("crf", spec.crf, lo, hi, f" for {codec}")
    if spec.video_bitrate is not None:
        out["video_bitrate"] = _whole("video_bitrate", spec.video_bitrate, *VIDEO_BITRATE_RANGE, " kbit/s")
    speed = _norm(spec.speed_preset, {})
    if speed:
        _choice("speed_preset", str(speed), SPEEDS[codec], f"for {codec}")
    out["speed_preset"] = str(speed or "")
    out.update(_picture_fields(spec))
    if spec.fps is not None:
        out["fps"] = _fps(spec.fps, FPS_RANGE)
    return out


def _fps(value, bounds) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PresetError("fps", f"fps must be a number, got {value!r}")
    if not bounds[0] <= value <= bounds[1]:
        raise PresetError("fps", f"fps must be between {bounds[0]} and {bounds[1]}, got {value:g}")
    return float(value)


def _picture_fields(spec: PresetSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, bounds in (("max_width", WIDTH_RANGE), ("max_height", HEIGHT_RANGE)):
        value = getattr(spec, name)
        if value is None:
            continue
        value = _whole(name, value, *bounds, " pixels")
        if value % 2:
            raise PresetError(name, f"{name} must be an even number of pixels, got {value} (try {value - 1})")
        out[name] = value
    return out


def _audio_fields(spec: PresetSpec, codecs: tuple[str, ...], context: str, required: bool) -> dict[str, Any]:
    codec = _norm(spec.audio_codec, ALIASES)
    if not codec:
        if required:
            raise PresetError("audio_codec", f"audio_codec is required {context}; choose one of: {', '.join(codecs)}")
        _forbid(spec, ("audio_bitrate", "channels", "sample_rate"),
                "the preset has no audio codec (set audio_codec to keep sound)")
        return {"audio_codec": ""}
    _choice("audio_codec", codec, codecs, context)
    out: dict[str, Any] = {"audio_codec": codec}
    if spec.audio_bitrate is not None:
        out["audio_bitrate"] = _whole("audio_bitrate", spec.audio_bitrate, *AUDIO_BITRATE_RANGE, " kbit/s")
    if spec.channels is not None:
        ch = _whole("channels", spec.channels, 1, 8)
        _choice("channels", ch, CODEC_CHANNELS.get(codec, CHANNELS), f"for {codec}")
        out["channels"] = ch
    if spec.sample_rate is not None:
        sr = _whole("sample_rate", spec.sample_rate, 8000, 96000, " Hz")
        _choice("sample_rate", sr, CODEC_SAMPLE_RATES.get(codec, SAMPLE_RATES), f"for {codec}")
        out["sample_rate"] = sr
    return out


def _number(field: str, value, bounds: tuple[float, float], unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise PresetError(field, f"{field} must be a number, got {value!r}")
    if not bounds[0] <= value <= bounds[1]:
        raise PresetError(field, f"{field} must be between {bounds[0]:g} and {bounds[1]:g} {unit}, got {value:g}")
    return float(value)


def _loudness_fields(spec: PresetSpec, loudness: tuple) -> dict[str, Any]:
    """loudness_target (LUFS) and its true-peak ceiling (dBTP); both only on a preset with sound."""
    target, ceiling = loudness
    if target is None:
        if ceiling is not None:
            raise PresetError("true_peak_ceiling", f"true_peak_ceiling must be empty: it only applies with "
                                                   f"loudness_target (got {ceiling!r})")
        return {}
    if spec.kind not in ("video", "audio"):
        raise PresetError("loudness_target", f"loudness_target needs a re-encode of the sound; {spec.kind} presets have none")
    if not spec.audio_codec:
        raise PresetError("loudness_target", "loudness_target needs an audio_codec (the preset drops the sound)")
    target = _number("loudness_target", target, LOUDNESS_TARGET_RANGE, "LUFS")
    ceiling = DEFAULT_TRUE_PEAK if ceiling is None else ceiling
    return {"loudness_target": target,
            "true_peak_ceiling": _number("true_peak_ceiling", ceiling, TRUE_PEAK_RANGE, "dBTP")}


def validate_preset(spec: PresetSpec) -> PresetSpec:
    """Return the spec normalised (codec aliases, lower case) or raise PresetError."""
    name = spec.name.strip() if isinstance(spec.name, str) else ""
    if not name:
        raise PresetError("name", "name must not be empty")
    if len(name) > 128:
        raise PresetError("name", f"name must be at most 128 characters, got {len(name)}")
    if not isinstance(spec.description, str) or len(spec.description) > 2000:
        raise PresetError("description", "description must be text of at most 2000 characters")
    loudness = (spec.loudness_target, spec.true_peak_ceiling)
    spec = replace(spec, loudness_target=None, true_peak_ceiling=None)  # checked last, against the sound
    kind = _norm(spec.kind, {})
    _choice("kind", kind, KINDS, "as preset kind")
    container = _norm(spec.container, CONTAINER_ALIASES)
    changes: dict[str, Any] = {"name": name, "kind": kind, "container": container}
    spec = replace(spec, **changes)

    if kind == "video":
        _choice("container", container, tuple(VIDEO_CONTAINERS), "for video presets")
        vcodecs, acodecs = VIDEO_CONTAINERS[container]
        ctx = f"in {container}"
        changes.update(_video_fields(spec, vcodecs, ctx))
        changes.update(_audio_fields(spec, acodecs, ctx, required=False))
    elif kind == "audio":
        _choice("container", container, tuple(AUDIO_CONTAINERS), "for audio presets")
        _forbid(spec, ("video_codec", "crf", "video_bitrate", "speed_preset", "max_width",
                       "max_height", "fps"), "audio presets have no video")
        changes.update(_audio_fields(spec, AUDIO_CONTAINERS[container], f"in {container}", required=True))
    elif kind == "copy":
        _choice("container", container, COPY_CONTAINERS, "for stream-copy presets")
        _forbid(spec, ("video_codec", "crf", "video_bitrate", "speed_preset", "max_width", "max_height",
                       "fps", "audio_codec", "audio_bitrate", "channels", "sample_rate"),
                "a stream-copy preset keeps the source streams as they are")
    else:  # image
        _choice("container", container, tuple(IMAGE_CONTAINERS), "for image presets")
        codec = _norm(spec.video_codec, ALIASES) or IMAGE_CONTAINERS[container]
        _choice("video_codec", codec, (IMAGE_CONTAINERS[container],), f"in {container}")
        _forbid(spec, ("crf", "video_bitrate", "speed_preset", "audio_codec", "audio_bitrate",
                       "channels", "sample_rate"), "image presets have one fixed quality and no sound")
        changes["video_codec"] = codec
        changes.update(_picture_fields(spec))
        if container == "jpg":
            _forbid(spec, ("fps",), "a JPEG poster is a single frame")
        elif spec.fps is not None:
            changes["fps"] = _fps(spec.fps, ANIMATION_FPS_RANGE)
    spec = replace(spec, **changes)
    return replace(spec, **_loudness_fields(spec, loudness))


# ---------------------------------------------------------------- library and helpers

def output_extension(spec: PresetSpec) -> str:
    """File extension (with dot) of outputs of this preset, e.g. ".mp4"."""
    return "." + spec.container


def is_keyframe_copy(spec: PresetSpec) -> bool:
    """True when the preset stream-copies: trims then start at the keyframe before the in point."""
    return spec.kind == "copy"


def is_animation(spec: PresetSpec) -> bool:
    return spec.kind == "image" and spec.container in ("gif", "webp")


def summarize(spec: PresetSpec) -> str:
    """One line a person can read, e.g. "H.264 CRF 23 (veryfast), max 1280x720 · AAC 128 kbit/s · .mp4"."""
    parts: list[str] = []
    box = ""
    if spec.max_width and spec.max_height:
        box = f"max {spec.max_width}x{spec.max_height}"
    elif spec.max_height:
        box = f"max {spec.max_height} px high"
    elif spec.max_width:
        box = f"max {spec.max_width} px wide"
    if spec.kind == "copy":
        parts.append("stream copy (no re-encode; cuts snap to the keyframe before the in point)")
    elif spec.kind == "image":
        label = CODEC_LABELS.get(spec.video_codec, spec.video_codec or spec.container)
        text = f"{label} {'poster (one frame)' if spec.container == 'jpg' else 'animation'}"
        if box:
            text += f", {box}"
        if spec.fps:
            text += f", {spec.fps:g} fps"
        parts.append(text)
    if spec.kind == "video":
        text = CODEC_LABELS.get(spec.video_codec, spec.video_codec)
        if spec.crf is not None:
            text += f" CRF {spec.crf}"
        if spec.video_bitrate:
            text += f" {'max ' if spec.crf is not None else ''}{spec.video_bitrate} kbit/s"
        if spec.speed_preset:
            text += f" ({spec.speed_preset})"
        if box:
            text += f", {box}"
        if spec.fps:
            text += f", {spec.fps:g} fps"
        parts.append(text)
    if spec.kind in ("video", "audio"):
        if spec.audio_codec:
            text = CODEC_LABELS.get(spec.audio_codec, spec.audio_codec)
            if spec.audio_bitrate:
                text += f" {spec.audio_bitrate} kbit/s"
            if spec.channels:
                text += {1: " mono", 2: " stereo", 6: " 5.1"}.get(spec.channels, f" {spec.channels} ch")
            if spec.sample_rate:
                text += f" {spec.sample_rate / 1000:g} kHz"
            if spec.loudness_target is not None:
                ceiling = DEFAULT_TRUE_PEAK if spec.true_peak_ceiling is None else spec.true_peak_ceiling
                text += f", {spec.loudness_target:g} LUFS (peaks under {ceiling:g} dBTP)"
            parts.append(text)
        elif spec.kind == "video":
            parts.append("no audio")
    parts.append(output_extension(spec))
    return " · ".join(parts)


BUILTIN_PRESETS: tuple[PresetSpec, ...] = (
    PresetSpec("H.264 1080p", "video", "mp4", "Full HD H.264 + AAC, plays everywhere. x264 veryfast, CRF 21, Lanczos scaling.",
               video_codec="libx264", crf=21, speed_preset="veryfast", max_width=1920, max_height=1080,
               audio_codec="aac", audio_bitrate=160, channels=2),
    PresetSpec("H.264 720p", "video", "mp4", "HD H.264 + AAC for the web. x264 veryfast, CRF 23, Lanczos scaling: HandBrake's Very Fast 720p30 quality at its size or less.",
               video_codec="libx264", crf=23, speed_preset="veryfast", max_width=1280, max_height=720,
               audio_codec="aac", audio_bitrate=128, channels=2),
    PresetSpec("H.264 480p", "video", "mp4", "Small H.264 + AAC for previews and slow links. x264 veryfast, CRF 24, Lanczos scaling.",
               video_codec="libx264", crf=24, speed_preset="veryfast", max_width=854, max_height=480,
               audio_codec="aac", audio_bitrate=96, channels=2),
    PresetSpec("H.265 1080p", "video", "mp4", "Full HD HEVC + AAC: about half the size of H.264.",
               video_codec="libx265", crf=26, speed_preset="veryfast", max_width=1920, max_height=1080,
               audio_codec="aac", audio_bitrate=128, channels=2),
    PresetSpec("VP9 720p WebM", "video", "webm", "VP9 + Opus in WebM for browsers.",
               video_codec="libvpx-vp9", crf=33, speed_preset="realtime", max_width=1280, max_height=720,
               audio_codec="libopus", audio_bitrate=96, channels=2),
    PresetSpec("AV1 720p", "video", "mp4", "AV1 (SVT-AV1) + AAC: smallest files, slowest encode.",
               video_codec="libsvtav1", crf=35, speed_preset="10", max_width=1280, max_height=720,
               audio_codec="aac", audio_bitrate=128, channels=2),
    PresetSpec("AAC audio", "audio", "m4a", "Sound only, AAC in M4A.",
               audio_codec="aac", audio_bitrate=160, channels=2),
    PresetSpec("MP3 audio", "audio", "mp3", "Sound only, MP3.",
               audio_codec="libmp3lame", audio_bitrate=192, channels=2, sample_rate=44100),
    PresetSpec("Trim only (stream copy)", "copy", "mp4",
               "Cuts without re-encoding: instant and lossless, but the start snaps to the keyframe "
               "before the in point."),
    PresetSpec("Poster JPEG", "image", "jpg", "One JPEG frame at the in point.",
               video_codec="mjpeg", max_width=1920, max_height=1080),
    PresetSpec("GIF preview", "image", "gif", "Short animated GIF (max 10 s, 480 px wide).",
               video_codec="gif", max_width=480, max_height=480, fps=12),
    PresetSpec("WebP preview", "image", "webp", "Short animated WebP (max 10 s, 480 px wide).",
               video_codec="webp", max_width=480, max_height=480, fps=12),
)


def builtin_preset(name: str) -> PresetSpec:
    """The builtin preset called `name` (KeyError if none)."""
    for spec in BUILTIN_PRESETS:
        if spec.name == name:
            return spec
    raise KeyError(name)
