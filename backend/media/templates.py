"""Output templates: a named list of outputs, each a preset plus a role, checked like presets.

Roles: `rendition` (one rung of a streaming package: H.264 + AAC video, or AAC audio only,
packaged as CMAF segments with HLS and/or DASH), `file` (one ordinary output file, any valid
preset), `poster` (one JPEG at the in point) and `storyboard` (WebVTT cues over sprite sheets,
one thumbnail every `interval` seconds). `TemplateError` says which output and field is wrong.
The builtin library ("Web ABR", "Mobile ABR", "Audio ABR", "Archive") is `BUILTIN_TEMPLATES`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from .presets import PresetError, PresetSpec, output_extension, validate_preset

ROLES = ("rendition", "file", "poster", "storyboard")
PACKAGINGS = ("hls+dash", "hls", "dash")
SEGMENT_RANGE = (1.0, 15.0)  # seconds
INTERVAL_RANGE = (1.0, 60.0)
MAX_OUTPUTS = 12
MAX_NAME = 128
DEFAULT_SEGMENT = 4.0
DEFAULT_STORYBOARD_INTERVAL = 2.0


class TemplateError(ValueError):
    """A template is invalid; `.field` names the output/field ("outputs[2].preset.crf")."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class TemplateOutput:
    role: str
    preset: PresetSpec | None = None  # None for a storyboard
    interval: float | None = None  # storyboard: seconds between thumbnails

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role}
        if self.preset is not None:
            data["preset"] = self.preset.to_dict()
        if self.interval is not None:
            data["interval"] = self.interval
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "TemplateOutput":
        if not isinstance(data, Mapping):
            raise TemplateError("outputs", "each output must be an object {role, preset}")
        preset = data.get("preset")
        if preset is not None and not isinstance(preset, Mapping):
            raise TemplateError("preset", "preset must be an object of preset fields")
        return cls(role=str(data.get("role") or ""), preset=None if preset is None else PresetSpec.from_dict(preset),
                   interval=data.get("interval"))


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    outputs: tuple[TemplateOutput, ...]
    description: str = ""
    segment_seconds: float = DEFAULT_SEGMENT
    packaging: str = "hls+dash"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "segment_seconds": self.segment_seconds,
                "packaging": self.packaging, "outputs": [o.to_dict() for o in self.outputs]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TemplateSpec":
        outputs = data.get("outputs") or []
        if not isinstance(outputs, (list, tuple)):
            raise TemplateError("outputs", "outputs must be a list")
        return cls(name=str(data.get("name") or ""), description=str(data.get("description") or ""),
                   segment_seconds=data.get("segment_seconds") if data.get("segment_seconds") is not None
                   else DEFAULT_SEGMENT,
                   packaging=str(data.get("packaging") or "hls+dash"),
                   outputs=tuple(TemplateOutput.from_dict(o) for o in outputs))

    # -- views
    @property
    def renditions(self) -> list[PresetSpec]:
        return [o.preset for o in self.outputs if o.role == "rendition" and o.preset is not None]

    @property
    def files(self) -> list[PresetSpec]:
        return [o.preset for o in self.outputs if o.role == "file" and o.preset is not None]

    @property
    def poster(self) -> PresetSpec | None:
        return next((o.preset for o in self.outputs if o.role == "poster"), None)

    @property
    def storyboard_interval(self) -> float | None:
        return next((float(o.interval or DEFAULT_STORYBOARD_INTERVAL) for o in self.outputs
                     if o.role == "storyboard"), None)

    @property
    def packaged(self) -> bool:
        return bool(self.renditions)

    @property
    def primary_preset(self) -> PresetSpec:
        """The preset that stands for the template on the job row (its first preset)."""
        return next(o.preset for o in self.outputs if o.preset is not None)


def _number(field: str, value, lo: float, hi: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TemplateError(field, f"{what} must be a number of seconds")
    if not lo <= value <= hi:
        raise TemplateError(field, f"{what} must be between {lo:g} and {hi:g} s, got {value:g}")
    return float(value)


def _rendition(index: int, preset: PresetSpec) -> PresetSpec:
    where = f"outputs[{index}].preset"
    if preset.kind == "video":
        if preset.container != "mp4" or preset.video_codec != "libx264":
            raise TemplateError(f"{where}.video_codec", "a video rendition is H.264 (libx264) in mp4 (CMAF)")
        if not preset.max_height:
            raise TemplateError(f"{where}.max_height", "a video rendition needs max_height (its rung of the ladder)")
        if not preset.video_bitrate:
            raise TemplateError(f"{where}.video_bitrate",
                                "a video rendition needs video_bitrate (kbit/s): players pick rungs by bandwidth")
        if preset.audio_codec not in ("", "aac"):
            raise TemplateError(f"{where}.audio_codec", "rendition audio is AAC")
    elif preset.kind == "audio":
        if preset.audio_codec != "aac" or not preset.audio_bitrate:
            raise TemplateError(f"{where}.audio_codec", "an audio rendition is AAC with an audio_bitrate")
    else:
        raise TemplateError(f"{where}.kind", "a rendition is a video or audio preset")
    return preset


def validate_template(spec: TemplateSpec) -> TemplateSpec:
    """The template with every preset normalised by `validate_preset`; TemplateError otherwise."""
    name = spec.name.strip()
    if not name:
        raise TemplateError("name", "name cannot be empty")
    if len(name) > MAX_NAME:
        raise TemplateError("name", f"name is longer than {MAX_NAME} characters")
    if not spec.outputs:
        raise TemplateError("outputs", "a template needs at least one output")
    if len(spec.outputs) > MAX_OUTPUTS:
        raise TemplateError("outputs", f"at most {MAX_OUTPUTS} outputs per template")
    if spec.packaging not in PACKAGINGS:
        raise TemplateError("packaging", f"packaging must be one of {', '.join(PACKAGINGS)}")
    segment = _number("segment_seconds", spec.segment_seconds, *SEGMENT_RANGE, "segment_seconds")
    outputs: list[TemplateOutput] = []
    for i, out in enumerate(spec.outputs):
        if out.role not in ROLES:
            raise TemplateError(f"outputs[{i}].role", f"role must be one of {', '.join(ROLES)}")
        if out.role == "storyboard":
            if out.preset is not None:
                raise TemplateError(f"outputs[{i}].preset", "a storyboard takes no preset, only an interval")
            interval = _number(f"outputs[{i}].interval", out.interval if out.interval is not None
                               else DEFAULT_STORYBOARD_INTERVAL, *INTERVAL_RANGE, "storyboard interval")
            outputs.append(TemplateOutput("storyboard", None, interval))
            continue
        if out.preset is None:
            raise TemplateError(f"outputs[{i}].preset", f"a {out.role} output needs a preset")
        try:
            preset = validate_preset(out.preset)
        except PresetError as exc:
            raise TemplateError(f"outputs[{i}].preset.{exc.field}", f"output {i + 1}: {exc.message}") from None
        if out.role == "rendition":
            preset = _rendition(i, preset)
        elif out.role == "poster" and (preset.kind != "image" or preset.container != "jpg"):
            raise TemplateError(f"outputs[{i}].preset", "a poster is a JPEG image preset")
        outputs.append(TemplateOutput(out.role, preset))
    for role in ("poster", "storyboard"):
        if sum(o.role == role for o in outputs) > 1:
            raise TemplateError("outputs", f"at most one {role} per template")
    kinds = {o.preset.kind for o in outputs if o.role == "rendition"}
    if len(kinds) > 1:
        raise TemplateError("outputs", "renditions are all video or all audio-only, not both")
    names = [o.preset.name for o in outputs if o.preset is not None]
    if len(set(names)) != len(names):
        raise TemplateError("outputs", "each output's preset needs its own name (it names the output)")
    return replace(spec, name=name, segment_seconds=segment, outputs=tuple(outputs))


def output_file_name(preset: PresetSpec) -> str:
    """The file name a template's file or poster output gets in the job's folder: its preset's name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", preset.name).strip("-.") or "output"
    return f"{stem}{output_extension(preset)}"


def entry_file(template: TemplateSpec) -> str:
    """The file of a template job's folder that stands for the job: the HLS master playlist (or the
    DASH manifest) of a package, else the first file output (or the poster, or the storyboard)."""
    if template.packaged:
        return "manifest.mpd" if template.packaging == "dash" else "master.m3u8"
    preset = (template.files or [template.poster])[0]
    return output_file_name(preset) if preset is not None else "storyboard.vtt"


# ---------------------------------------------------------------- the builtin library

def _video_rung(height: int, width: int, kbps: int) -> TemplateOutput:
    return TemplateOutput("rendition", PresetSpec(
        f"{height}p", "video", "mp4", f"H.264 {height}p at {kbps} kbit/s", video_codec="libx264",
        video_bitrate=kbps, speed_preset="veryfast", max_width=width, max_height=height,
        audio_codec="aac", audio_bitrate=128, channels=2))


def _audio_rung(kbps: int) -> TemplateOutput:
    return TemplateOutput("rendition", PresetSpec(f"aac-{kbps}k", "audio", "m4a", f"AAC {kbps} kbit/s",
                                                  audio_codec="aac", audio_bitrate=kbps, channels=2))


BUILTIN_TEMPLATES: tuple[TemplateSpec, ...] = (
    TemplateSpec("Web ABR", (
        _video_rung(1080, 1920, 5000), _video_rung(720, 1280, 2800), _video_rung(480, 854, 1200),
        _video_rung(360, 640, 700), TemplateOutput("storyboard", None, DEFAULT_STORYBOARD_INTERVAL)),
        "1080p/720p/480p/360p H.264 + AAC 128k, CMAF segments, HLS + DASH, with a storyboard."),
    TemplateSpec("Mobile ABR", (
        _video_rung(720, 1280, 2000), _video_rung(480, 854, 900), _video_rung(240, 426, 300),
        TemplateOutput("storyboard", None, DEFAULT_STORYBOARD_INTERVAL)),
        "720p/480p/240p H.264 + AAC 128k for phones, CMAF, HLS + DASH."),
    TemplateSpec("Audio ABR", (_audio_rung(64), _audio_rung(128)),
                 "AAC 64k/128k audio-only HLS (CMAF).", packaging="hls"),
    TemplateSpec("Archive", (
        TemplateOutput("file", PresetSpec("archive", "video", "mp4", "High-quality H.264 + AAC 192k",
                                          video_codec="libx264", crf=18, speed_preset="medium",
                                          audio_codec="aac", audio_bitrate=192, channels=2)),
        TemplateOutput("poster", PresetSpec("poster", "image", "jpg", "Poster frame", video_codec="mjpeg",
                                            max_width=1920, max_height=1080)),
        TemplateOutput("storyboard", None, DEFAULT_STORYBOARD_INTERVAL)),
        "One high-quality MP4, a poster and a storyboard.", packaging="hls+dash"),
)


def builtin_template(name: str) -> TemplateSpec:
    for spec in BUILTIN_TEMPLATES:
        if spec.name == name:
            return spec
    raise KeyError(name)


__all__ = ["BUILTIN_TEMPLATES", "TemplateError", "TemplateOutput", "TemplateSpec", "builtin_template",
           "entry_file", "output_file_name", "validate_template"]
