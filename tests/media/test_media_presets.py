"""Preset validation: every builtin passes unchanged; everything outside the allowlists is refused
with a message that says what to change."""
from __future__ import annotations

from dataclasses import fields, replace

import pytest

from backend.catalog.tables import TranscodePreset
from backend.media.presets import (
    BUILTIN_PRESETS,
    PresetError,
    PresetSpec,
    builtin_preset,
    is_keyframe_copy,
    output_extension,
    summarize,
    validate_preset,
)

REQUIRED = {"H.264 1080p", "H.264 720p", "H.264 480p", "H.265 1080p", "VP9 720p WebM", "AV1 720p",
            "AAC audio", "MP3 audio", "Trim only (stream copy)", "Poster JPEG", "GIF preview",
            "WebP preview"}

X264 = builtin_preset("H.264 720p")
VP9 = builtin_preset("VP9 720p WebM")
AV1 = builtin_preset("AV1 720p")
MP3 = builtin_preset("MP3 audio")
AAC = builtin_preset("AAC audio")
COPY = builtin_preset("Trim only (stream copy)")
GIF = builtin_preset("GIF preview")
JPG = builtin_preset("Poster JPEG")


def test_library_has_the_required_presets():
    names = [p.name for p in BUILTIN_PRESETS]
    assert REQUIRED <= set(names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("spec", BUILTIN_PRESETS, ids=lambda p: p.name)
def test_every_builtin_validates_unchanged(spec):
    assert validate_preset(spec) == spec
    assert summarize(spec)
    assert output_extension(spec) == "." + spec.container


def test_field_names_match_the_table_columns():
    columns = {c._meta.name for c in TranscodePreset._meta.columns}
    assert {f.name for f in fields(PresetSpec)} <= columns


@pytest.mark.parametrize(
    "base, changes, field, message",
    [
        (X264, {"crf": 70}, "crf", "crf must be between 0 and 51 for libx264, got 70"),
        (X264, {"crf": -1}, "crf", "between 0 and 51"),
        (VP9, {"crf": 64}, "crf", "crf must be between 0 and 63 for libvpx-vp9, got 64"),
        (X264, {"crf": "20"}, "crf", "whole number"),
        (X264, {"crf": True}, "crf", "whole number"),
        (X264, {"max_height": 721}, "max_height", "even number of pixels, got 721 (try 720)"),
        (X264, {"max_height": 5000}, "max_height", "between 16 and 4320"),
        (X264, {"max_width": 8}, "max_width", "between 16 and 7680"),
        (X264, {"fps": 0}, "fps", "between 1 and 120"),
        (X264, {"fps": 240}, "fps", "between 1 and 120"),
        (X264, {"video_bitrate": 10}, "video_bitrate", "between 50 and 200000"),
        (X264, {"audio_bitrate": 16}, "audio_bitrate", "between 32 and 512"),
        (X264, {"audio_bitrate": 640}, "audio_bitrate", "between 32 and 512"),
        (X264, {"channels": 3}, "channels", "choose one of: 1, 2, 6"),
        (X264, {"sample_rate": 44000}, "sample_rate", "44000 is not allowed"),
        (VP9, {"sample_rate": 44100}, "sample_rate", "for libopus"),
        (MP3, {"channels": 6}, "channels", "for libmp3lame"),
        (X264, {"container": "avi"}, "container", "choose one of: mp4, mov, mkv, webm"),
        (X264, {"video_codec": "libvpx-vp9"}, "video_codec", "not allowed in mp4"),
        (X264, {"audio_codec": "libopus"}, "audio_codec", "not allowed in mp4"),
        (VP9, {"audio_codec": "aac"}, "audio_codec", "not allowed in webm"),
        (X264, {"video_codec": ""}, "video_codec", "video_codec is required"),
        (X264, {"speed_preset": "fastest"}, "speed_preset", "ultrafast, superfast"),
        (VP9, {"speed_preset": "medium"}, "speed_preset", "realtime, good"),
        (AV1, {"speed_preset": "14"}, "speed_preset", "not allowed for libsvtav1"),
        (X264, {"audio_codec": "", "audio_bitrate": 128}, "audio_bitrate", "must be empty"),
        (X264, {"kind": "stream"}, "kind", "video, audio, copy, image"),
        (X264, {"name": "  "}, "name", "must not be empty"),
        (AAC, {"crf": 20}, "crf", "audio presets have no video"),
        (AAC, {"container": "mp4"}, "container", "m4a, mp3, ogg, opus"),
        (AAC, {"audio_codec": ""}, "audio_codec", "audio_codec is required"),
        (COPY, {"video_codec": "libx264"}, "video_codec", "keeps the source streams"),
        (COPY, {"max_height": 720}, "max_height", "keeps the source streams"),
        (COPY, {"container": "gif"}, "container", "mp4, mkv, mov, webm"),
        (GIF, {"crf": 10}, "crf", "image presets"),
        (GIF, {"audio_codec": "aac"}, "audio_codec", "no sound"),
        (GIF, {"fps": 60}, "fps", "between 1 and 30"),
        (GIF, {"video_codec": "mjpeg"}, "video_codec", "not allowed in gif"),
        (JPG, {"fps": 10}, "fps", "single frame"),
    ],
)
def test_refusals_say_what_to_change(base, changes, field, message):
    with pytest.raises(PresetError) as err:
        validate_preset(replace(base, **changes))
    assert err.value.field == field
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_aliases_and_case_are_normalised():
    spec = validate_preset(replace(X264, video_codec="H264", container="MP4", audio_codec="aac",
                                   speed_preset="Medium"))
    assert (spec.video_codec, spec.container, spec.speed_preset) == ("libx264", "mp4", "medium")
    assert validate_preset(replace(VP9, video_codec="vp9", audio_codec="opus")).audio_codec == "libopus"


def test_custom_presets_validate():
    ok = [
        PresetSpec("mkv hevc", "video", "mkv", video_codec="libx265", crf=28, speed_preset="fast",
                   audio_codec="libopus", audio_bitrate=96, channels=6, sample_rate=48000),
        PresetSpec("bitrate", "video", "mov", video_codec="libx264", video_bitrate=2500, fps=30),
        PresetSpec("opus", "audio", "opus", audio_codec="libopus", audio_bitrate=64, channels=1),
        PresetSpec("svt", "video", "webm", video_codec="libsvtav1", crf=40, speed_preset="12",
                   audio_codec="libopus"),
        PresetSpec("webp", "image", "webp", max_width=320, fps=10),
        PresetSpec("copy mkv", "copy", "mkv"),
    ]
    for spec in ok:
        assert validate_preset(spec).name == spec.name
    assert validate_preset(ok[4]).video_codec == "webp"


def test_dict_round_trip_ignores_unknown_keys():
    d = {**X264.to_dict(), "id": 7, "builtin": True, "created_at": None, "speed_preset": None}
    spec = PresetSpec.from_dict(d)
    assert spec == replace(X264, speed_preset="")
    assert PresetSpec.from_dict(X264.to_dict()) == X264


def test_helpers():
    assert is_keyframe_copy(COPY) and not is_keyframe_copy(X264)
    assert output_extension(builtin_preset("Poster JPEG")) == ".jpg"
    assert output_extension(AAC) == ".m4a"
    assert "stream copy" in summarize(COPY)
    assert summarize(X264).startswith("H.264 CRF 23")
    assert "max 480 px high" in summarize(replace(X264, max_width=None, max_height=480))
    assert "max 640 px wide" in summarize(replace(X264, max_width=640, max_height=None))
    assert "∞" not in summarize(replace(X264, max_width=None, max_height=480))
    with pytest.raises(KeyError):
        builtin_preset("nope")
