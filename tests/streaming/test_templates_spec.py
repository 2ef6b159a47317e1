"""Output templates checked like presets, and the JobSpec's ladder section (old specs still parse)."""
from __future__ import annotations

import dataclasses

import pytest

from backend.media.command import Trim
from backend.media.ladder import fit_ladder
from backend.media.presets import PresetSpec
from backend.media.probe import AudioInfo, MediaInfo, VideoInfo
from backend.media.templates import (BUILTIN_TEMPLATES, TemplateError, TemplateOutput, TemplateSpec, builtin_template,
                                     entry_file, validate_template)
from backend.pipeline import JobSpec, Location, SpecError

H264 = PresetSpec("r", "video", "mp4", video_codec="libx264", video_bitrate=800, max_height=360,
                  audio_codec="aac", audio_bitrate=96)


def info(width=1280, height=720, audio=True) -> MediaInfo:
    return MediaInfo("mov,mp4", 10.0, 1000, video=VideoInfo("h264", width, height, 25.0),
                     audio=AudioInfo("aac", 2, 48000) if audio else None)


def test_builtins_are_valid_and_say_what_they_make():
    assert [t.name for t in BUILTIN_TEMPLATES] == ["Web ABR", "Mobile ABR", "Audio ABR", "Archive"]
    for t in BUILTIN_TEMPLATES:
        assert validate_template(t) == t
    web = builtin_template("Web ABR")
    assert [(p.max_height, p.audio_bitrate) for p in web.renditions] == [(1080, 128), (720, 128), (480, 128), (360, 128)]
    assert entry_file(web) == "master.m3u8" and entry_file(builtin_template("Archive")) == "archive.mp4"


@pytest.mark.parametrize("change, field", [
    (dict(outputs=()), "outputs"),
    (dict(name="  "), "name"),
    (dict(segment_seconds=0.5), "segment_seconds"),
    (dict(packaging="smooth"), "packaging"),
    (dict(outputs=(TemplateOutput("rendition", dataclasses.replace(H264, max_height=None)),)), "outputs[0].preset.max_height"),
    (dict(outputs=(TemplateOutput("rendition", dataclasses.replace(H264, video_bitrate=None, crf=23)),)),
     "outputs[0].preset.video_bitrate"),
    (dict(outputs=(TemplateOutput("rendition", dataclasses.replace(H264, crf=99)),)), "outputs[0].preset.crf"),
    (dict(outputs=(TemplateOutput("rendition", dataclasses.replace(H264, video_codec="libx265")),)),
     "outputs[0].preset.video_codec"),
    (dict(outputs=(TemplateOutput("poster", H264),)), "outputs[0].preset"),
    (dict(outputs=(TemplateOutput("storyboard", None, 0.1),)), "outputs[0].interval"),
    (dict(outputs=(TemplateOutput("thumbnail", H264),)), "outputs[0].role"),
    (dict(outputs=(TemplateOutput("rendition", H264), TemplateOutput("rendition", H264))), "outputs"),
])
def test_invalid_templates_name_the_field(change, field):
    base = TemplateSpec("T", (TemplateOutput("rendition", H264),))
    with pytest.raises(TemplateError) as err:
        validate_template(dataclasses.replace(base, **change))
    assert err.value.field == field


def test_rungs_above_the_source_are_skipped_not_upscaled():
    ladder = fit_ladder(builtin_template("Web ABR"), info(1280, 720), Trim(1.0, 9.0))
    assert [(r.name, r.width, r.height) for r in ladder.video] == [("720p", 1280, 720), ("480p", 854, 480),
                                                                   ("360p", 640, 360)]
    assert [name for name, _ in ladder.skipped] == ["1080p"]
    assert [r.name for r in ladder.audio] == ["audio 128k"] and ladder.audio[0].index == 3
    assert ladder.length == 8.0 and ladder.storyboard.width == 160
    silent = fit_ladder(builtin_template("Mobile ABR"), info(audio=False))
    assert silent.audio == ()
    with pytest.raises(ValueError, match="no audio"):
        fit_ladder(builtin_template("Audio ABR"), info(audio=False))


def test_job_spec_carries_the_template_and_old_specs_still_parse():
    template = validate_template(builtin_template("Mobile ABR"))
    spec = JobSpec(Location(area="in", key="a.mp4"), Location(area="out", key="a-mobile-abr/"),
                   template.primary_preset.to_dict(), 0.0, 4.0, ladder=template.to_dict(),
                   trim_mode="accurate")  # a v2 spec states its trim mode, so the round trip is exact
    again = JobSpec.from_dict(spec.to_dict())
    assert again == spec and again.template == template
    old = spec.to_dict()
    del old["ladder"]
    assert JobSpec.from_dict(old).ladder is None and "ladder" not in JobSpec.from_dict(old).to_dict()
    broken = spec.to_dict()
    broken["ladder"]["outputs"][0]["preset"]["video_bitrate"] = None
    with pytest.raises(SpecError, match="ladder"):
        JobSpec.from_dict(broken)
