"""The streaming package a ladder job writes, read back with real parsers (m3u8, mpegdash) and
checked with FFmpeg: keyframe-aligned segments at the same instants in every rendition, segment
durations within target + 1 frame, BANDWIDTH within 10 % of the measured peak, every segment
decodes, HLS and DASH list the same renditions, rungs above the source skipped (not upscaled).
"""
from __future__ import annotations

from pathlib import Path

import m3u8
import pytest

from backend.media.clips import generate_clip
from backend.media.probe import probe
from backend.media.templates import builtin_template, validate_template
from backend.pipeline import JobSpec, Location, NullReporter
from backend.pipeline.ladder import run_ladder
from tests.streaming.package_checks import dash_and_hls_agree, decodes, keyframe_starts, segment_bytes

FPS = 25


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """854x480, 9 s, 25 fps, H.264 + AAC: "Mobile ABR" keeps 480p and 240p and skips 720p."""
    folder = tmp_path_factory.mktemp("ladder-src")
    return generate_clip(folder / "src.mp4", duration=9, width=854, height=480, fps=FPS)


def spec_for(template_name: str, start: float = 0.5, end: float = 8.5) -> JobSpec:
    template = validate_template(builtin_template(template_name))
    return JobSpec(source=Location(area="in", key="src.mp4"), output=Location(area="out", key="pkg/"),
                   preset=template.primary_preset.to_dict(), trim_start=start, trim_end=end,
                   ladder=template.to_dict())


@pytest.fixture(scope="module")
async def mobile(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("mobile-pkg")
    result = await run_ladder(spec_for("Mobile ABR"), source, out, NullReporter(), info=probe(source))
    return out, result


async def test_ladder_keeps_rungs_the_source_can_fill_and_says_why_it_skipped(mobile):
    out, result = mobile
    by_name = {o["name"]: o for o in result.outputs}
    assert by_name["720p"]["status"] == "skipped" and "not upscaled" in by_name["720p"]["reason"]
    assert by_name["480p"]["status"] == by_name["240p"]["status"] == "succeeded"
    assert (by_name["480p"]["width"], by_name["480p"]["height"]) == (854, 480)
    assert "skipped 720p" in result.note()
    assert result.playback == "master.m3u8" and (out / "manifest.mpd").is_file()
    assert {"master.m3u8", "manifest.mpd", "storyboard.vtt", "storyboard-001.jpg"} <= set(result.files)


async def test_segments_start_with_keyframes_at_the_same_instants_in_every_rendition(mobile):
    out, _ = mobile
    master = m3u8.load(str(out / "master.m3u8"))
    assert len(master.playlists) == 2
    starts = keyframe_starts(out, master)
    assert len(starts[0]) >= 2
    assert all(times == starts[0] for times in starts), starts


async def test_segment_durations_stay_within_the_target_plus_one_frame(mobile):
    out, _ = mobile
    master = m3u8.load(str(out / "master.m3u8"))
    for variant in master.playlists:
        media = m3u8.load(str(out / variant.uri))
        assert media.target_duration == 4
        assert all(seg.duration <= 4.0 + 1.0 / FPS + 1e-6 for seg in media.segments)
        assert sum(seg.duration for seg in media.segments) == pytest.approx(8.0, abs=1.0 / FPS)


async def test_declared_bandwidth_is_within_ten_percent_of_the_measured_peak(mobile):
    out, _ = mobile
    master = m3u8.load(str(out / "master.m3u8"))
    audio = m3u8.load(str(out / master.media[0].uri))

    def peak(playlist: m3u8.M3U8) -> float:
        return max((out / s.uri).stat().st_size * 8 / s.duration for s in playlist.segments)

    audio_peak = peak(audio)
    for variant in master.playlists:
        info = variant.stream_info
        measured = peak(m3u8.load(str(out / variant.uri))) + audio_peak
        assert abs(info.bandwidth - measured) <= 0.10 * measured, (variant.uri, info.bandwidth, measured)
        assert info.average_bandwidth and info.average_bandwidth <= info.bandwidth
        assert info.codecs.startswith("avc1.") and "mp4a.40.2" in info.codecs
        assert info.frame_rate == pytest.approx(FPS)
        assert info.resolution[1] in (480, 240)


async def test_every_segment_of_every_rendition_decodes(mobile):
    out, _ = mobile
    master = m3u8.load(str(out / "master.m3u8"))
    uris = [v.uri for v in master.playlists] + [m.uri for m in master.media]
    assert len(uris) == 3
    for uri in uris:
        for n, data in enumerate(segment_bytes(out, m3u8.load(str(out / uri)))):
            assert decodes(data) == "", f"{uri} segment {n}"


async def test_dash_and_hls_list_the_same_renditions(mobile):
    out, _ = mobile
    dash_and_hls_agree(out, m3u8.load(str(out / "master.m3u8")))


async def test_storyboard_cues_point_into_the_sprite_sheet(mobile):
    out, _ = mobile
    text = (out / "storyboard.vtt").read_text()
    assert text.startswith("WEBVTT")
    cues = [line for line in text.splitlines() if "#xywh=" in line]
    assert len(cues) == 4  # 8 s, one thumbnail every 2 s
    assert cues[1] == "storyboard-001.jpg#xywh=160,0,160,90"
    from PIL import Image

    with Image.open(out / "storyboard-001.jpg") as sheet:
        assert sheet.size == (5 * 160, 5 * 90)


async def test_audio_only_ladder_has_one_variant_per_bitrate(source, tmp_path):
    result = await run_ladder(spec_for("Audio ABR", 0.0, 6.0), source, tmp_path, NullReporter(), info=probe(source))
    master = m3u8.load(str(tmp_path / "master.m3u8"))
    assert not (tmp_path / "manifest.mpd").exists()  # "Audio ABR" is HLS only
    assert [v.stream_info.codecs for v in master.playlists] == ["mp4a.40.2", "mp4a.40.2"]
    low, high = sorted(v.stream_info.bandwidth for v in master.playlists)
    assert 55_000 < low < 90_000 < high < 160_000
    assert [o["name"] for o in result.outputs] == ["aac-64k", "aac-128k"]
