"""The intermediate a sequence is rendered into before a template's outputs are made from it: its
size follows the template's largest output and never the other way (never upscaled past the
largest clip), and the two stages of such a job share one progress line (real FFmpeg, lavfi clips)."""
from __future__ import annotations

import pytest

from backend.media.clips import generate_clip
from backend.media.mezzanine import AUDIO_ONLY_HEIGHT, mezzanine_preset
from backend.media.presets import PresetSpec
from backend.media.probe import probe
from backend.media.sequence import canvas_for
from backend.media.templates import TemplateOutput, TemplateSpec, builtin_template, validate_template
from backend.pipeline import JobSpec, Location
from backend.pipeline.ladder import run_ladder
from backend.pipeline.sequence_ladder import render_intermediate, sequence_share
from backend.pipeline.spec import SequenceClip, SequenceSpec


def template(name: str) -> TemplateSpec:
    return validate_template(builtin_template(name))


def test_the_intermediate_is_as_large_as_the_templates_largest_output_and_no_larger():
    web = mezzanine_preset(template("Web ABR"))
    assert (web.kind, web.video_codec, web.crf, web.container) == ("video", "libx264", 14, "mp4")
    assert (web.max_width, web.max_height) == (1920, 1080)
    assert (mezzanine_preset(template("Mobile ABR")).max_height) == 720
    archive = mezzanine_preset(template("Archive"))  # its file keeps the source's size: so does the intermediate
    assert (archive.max_width, archive.max_height) == (None, None)
    assert mezzanine_preset(template("Audio ABR")).max_height == AUDIO_ONLY_HEIGHT
    surround = validate_template(TemplateSpec("5.1", (TemplateOutput("file", PresetSpec(
        "surround", "video", "mp4", video_codec="libx264", max_height=480, audio_codec="aac", channels=6)),)))
    assert mezzanine_preset(surround).channels == 6


def test_the_canvas_follows_the_largest_clip_never_upscaled(tmp_path):
    big = probe(generate_clip(tmp_path / "big.mp4", duration=0.5, width=1920, height=1080, fps=25))
    small = probe(generate_clip(tmp_path / "small.mp4", duration=0.5, width=640, height=360, fps=25))
    mobile = mezzanine_preset(template("Mobile ABR"))
    assert (canvas_for(mobile, [big, small]).width, canvas_for(mobile, [big, small]).height) == (1280, 720)
    assert (canvas_for(mobile, [small]).width, canvas_for(mobile, [small]).height) == (640, 360)


class Recorder:
    def __init__(self):
        self.fractions: list[float] = []

    def progress(self, fraction, fps=None, speed=None, eta=None):
        self.fractions.append(fraction)

    def should_stop(self):
        return None

    def heartbeat(self):
        return None


async def test_the_two_stages_share_one_progress_line(tmp_path):
    paths = [generate_clip(tmp_path / "a.mp4", duration=2, width=320, height=180, fps=25),
             generate_clip(tmp_path / "b.mp4", duration=2, width=256, height=144, fps=25, audio=False)]
    infos = [probe(p) for p in paths]
    tpl = validate_template(TemplateSpec("Tiny", (
        TemplateOutput("rendition", PresetSpec("180p", "video", "mp4", video_codec="libx264", video_bitrate=200,
                                               max_height=180, audio_codec="aac", audio_bitrate=64,
                                               speed_preset="ultrafast")),
        TemplateOutput("storyboard", None, 1.0)), segment_seconds=1.0))
    preset = mezzanine_preset(tpl)
    clips = tuple(SequenceClip(Location(area="in", key=p.name), 0.2, 1.4, i.to_dict(), source_id=n + 1)
                  for n, (p, i) in enumerate(zip(paths, infos)))
    spec = JobSpec.from_dict(JobSpec(source=clips[0].input, output=Location(area="out", key="tiny/"),
                                     preset=preset.to_dict(), trim_mode="accurate", ladder=tpl.to_dict(),
                                     sequence=SequenceSpec(clips, canvas_for(preset, infos).to_dict())).to_dict())
    reporter = Recorder()
    first = await render_intermediate(spec, paths, tmp_path / "work", reporter, concurrency=1)
    assert first.share == pytest.approx(sequence_share(spec)) and 0 < first.share < 1
    assert first.sequence.clip_frames == [30, 30] and (first.info.video.width, first.info.video.height) == (320, 180)
    seen = len(reporter.fractions)
    result = await run_ladder(first.spec, first.path, tmp_path / "out", first.rest(reporter), info=first.info)
    assert result.playback == "master.m3u8"
    before, after = reporter.fractions[:seen], reporter.fractions[seen:]
    assert before and max(before) <= first.share + 1e-9  # the sequence stage stays within its share
    assert all(first.share - 1e-9 <= f < 1.0 for f in after)  # the template's (FFmpeg may report none this short)
    rest = first.rest(reporter)
    rest.progress(0.0), rest.progress(0.5)
    assert reporter.fractions[-2:] == pytest.approx([first.share, first.share + 0.5 * (1 - first.share)])
    assert first.record()["mode"] == "sequence+template" and first.record()["intermediate"]["height"] == 180
