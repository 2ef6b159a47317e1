"""GraphQL input types for the mutations, and their checks that do not need the database."""
from __future__ import annotations

import unicodedata
from enum import Enum

import strawberry

from backend.jobs.errors import DomainError

MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_COMMENTS = 10_000
MAX_FILENAME = 512


@strawberry.input(description="What to change on an asset; omitted fields stay as they are.")
class UpdateAssetRequest:
    filename: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    comments: str | None = strawberry.UNSET


@strawberry.enum(description="How a trim is cut: KEYFRAME copies from the keyframe at or before the in point, "
                             "SMART re-encodes only the frames up to the first keyframe (and after the last) and "
                             "copies the rest, ACCURATE re-encodes the whole range.")
class TrimMode(Enum):
    KEYFRAME = "keyframe"
    SMART = "smart"
    ACCURATE = "accurate"


@strawberry.enum(description="The order of the assets list: by the date added (DATE_DESC, the default: newest "
                             "first), the filename (case-insensitive), the duration (assets without one, images and "
                             "unprobed files, count as shortest) or the size in bytes; equal keys by id.")
class AssetSort(Enum):
    DATE_DESC = "date_desc"
    DATE_ASC = "date_asc"
    NAME_ASC = "name_asc"
    NAME_DESC = "name_desc"
    DURATION_ASC = "duration_asc"
    DURATION_DESC = "duration_desc"
    SIZE_ASC = "size_asc"
    SIZE_DESC = "size_desc"


@strawberry.input(description="Give presetId (one output) or templateId (an output template: several outputs).")
class CreateJobInput:
    source_id: strawberry.ID
    preset_id: strawberry.ID | None = None
    template_id: strawberry.ID | None = strawberry.field(
        default=None, description="An output template: one job, several outputs (a streaming package, files).")
    trim_start: float | None = strawberry.field(default=None, description="In point, seconds.")
    trim_end: float | None = strawberry.field(default=None, description="Out point, seconds.")
    accurate_trim: bool | None = strawberry.field(
        default=None, description="Frame-accurate cut (re-encode); copy presets cut at keyframes."
    )
    output_name: str | None = None
    priority: int = 0
    chunked: bool | None = strawberry.field(
        default=None,
        description="Encode in GOP-aligned chunks in parallel: true forces, false forbids, null lets MPR decide.",
    )
    trim_mode: TrimMode | None = strawberry.field(
        default=None, description="KEYFRAME, SMART or ACCURATE; null: KEYFRAME for copy presets, ACCURATE otherwise."
    )


@strawberry.input(description="A preset's encoding choices; checked by backend.media.presets.validate_preset.")
class PresetInput:
    name: str
    kind: str
    container: str
    description: str = ""
    video_codec: str = ""
    crf: int | None = None
    video_bitrate: int | None = None
    speed_preset: str = ""
    max_width: int | None = None
    max_height: int | None = None
    fps: float | None = None
    audio_codec: str = ""
    audio_bitrate: int | None = None
    channels: int | None = None
    sample_rate: int | None = None
    loudness_target: float | None = strawberry.field(
        default=None, description="Normalise the sound to this integrated loudness, LUFS (-36..-5; e.g. -23, -16, -14).")
    true_peak_ceiling: float | None = strawberry.field(
        default=None, description="True-peak ceiling of the normalised sound, dBTP (-9..0, default -1).")


@strawberry.input(description="Preset fields to change; omitted fields stay as they are.")
class PresetUpdateInput:
    name: str | None = strawberry.UNSET
    kind: str | None = strawberry.UNSET
    container: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    video_codec: str | None = strawberry.UNSET
    crf: int | None = strawberry.UNSET
    video_bitrate: int | None = strawberry.UNSET
    speed_preset: str | None = strawberry.UNSET
    max_width: int | None = strawberry.UNSET
    max_height: int | None = strawberry.UNSET
    fps: float | None = strawberry.UNSET
    audio_codec: str | None = strawberry.UNSET
    audio_bitrate: int | None = strawberry.UNSET
    channels: int | None = strawberry.UNSET
    sample_rate: int | None = strawberry.UNSET
    loudness_target: float | None = strawberry.UNSET
    true_peak_ceiling: float | None = strawberry.UNSET


@strawberry.input(description="One output of a template: a role and a preset (an existing preset by id, "
                               "or the preset's fields inline); a storyboard takes only an interval.")
class TemplateOutputInput:
    role: str = strawberry.field(description="rendition | file | poster | storyboard")
    preset_id: strawberry.ID | None = None
    preset: PresetInput | None = None
    interval: float | None = strawberry.field(default=None, description="Storyboard: seconds between thumbnails.")


@strawberry.input(description="An output template; checked by backend.media.templates.validate_template.")
class TemplateInput:
    name: str
    outputs: list[TemplateOutputInput]
    description: str = ""
    segment_seconds: float = 4.0
    packaging: str = "hls+dash"


@strawberry.input(description="Template fields to change; omitted fields stay as they are.")
class TemplateUpdateInput:
    name: str | None = strawberry.UNSET
    outputs: list[TemplateOutputInput] | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    segment_seconds: float | None = strawberry.UNSET
    packaging: str | None = strawberry.UNSET


def given(obj) -> dict:
    """The fields of an input object that the client actually sent."""
    return {k: v for k, v in vars(obj).items() if v is not strawberry.UNSET}


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def clean_display_name(value) -> str:
    if value is None:
        raise DomainError("INVALID_INPUT", "filename cannot be null; type a name")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise DomainError("INVALID_INPUT", "filename cannot be empty; type a name")
    if _has_control(text):
        raise DomainError("INVALID_INPUT", "filename contains control characters")
    if len(text) > MAX_FILENAME:
        raise DomainError("INVALID_INPUT", f"filename is longer than {MAX_FILENAME} characters")
    return text


def clean_tags(values) -> list[str]:
    tags: list[str] = []
    for raw in values or []:
        tag = unicodedata.normalize("NFC", raw).strip()
        if not tag:
            continue
        if _has_control(tag):
            raise DomainError("INVALID_INPUT", f"tag {raw!r} contains control characters")
        if len(tag) > MAX_TAG_LENGTH:
            raise DomainError("INVALID_INPUT", f"tag {tag[:20]!r}… is longer than {MAX_TAG_LENGTH} characters")
        if tag not in tags:
            tags.append(tag)
            if len(tags) > MAX_TAGS:  # refuse at once: `not in` over a huge list is quadratic
                raise DomainError("INVALID_INPUT", f"at most {MAX_TAGS} tags per asset")
    return tags


def clean_comments(value) -> str:
    text = value or ""
    if len(text) > MAX_COMMENTS:
        raise DomainError("INVALID_INPUT", f"comments are longer than {MAX_COMMENTS} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        raise DomainError("INVALID_INPUT", "comments contain control characters")
    return text


@strawberry.input(description="One clip of a sequence: start..end seconds of the asset sourceId.")
class SequenceClipInput:
    source_id: strawberry.ID
    start: float
    end: float


@strawberry.enum(description="Timeline interchange formats: OpenTimelineIO JSON, CMX 3600 EDL, Final Cut Pro X "
                             "XML, Final Cut Pro 7 / Premiere XML.")
class SequenceFormat(Enum):
    OTIO = "otio"
    EDL = "edl"
    FCPXML = "fcpxml"
    XML = "xml"
