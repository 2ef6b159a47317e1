"""The audio of chunked jobs on real FFmpeg: AAC encoded in segments with pre-roll joins into a
track with exactly a whole encode's samples and no discontinuity at the joins (a continuous sine
source, where a click or a wrong overlap is measurable); a source whose audio already matches the
preset is copied, packet for packet; the join writes the MP4 index in front in one pass.
"""
from __future__ import annotations

import array
import asyncio
import math
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from backend.media import audio_joins
from backend.media.audio_joins import check_audio_joins, discontinuity
from backend.media.binaries import ffmpeg_path
from backend.media.chunking import AAC_FRAME, audio_mode, plan_chunks, plan_parts, read_frame_index
from backend.media.chunking.audio import PREROLL_PACKETS
from backend.media.chunking.commands import audio_command
from backend.media.clips import generate_clip
from backend.media.command import Trim
from backend.media.presets import PresetSpec, validate_preset
from backend.media.probe import probe
from backend.media.runner import run_ffmpeg
from backend.media.verify import VerificationError, verify_output
from backend.pipeline import chunked as pipeline
from backend.pipeline.chunked import encode_chunks

SPEC = validate_preset(PresetSpec(
    "chunked audio test", "video", "mp4", video_codec="libx264", crf=28, speed_preset="ultrafast",
    audio_codec="aac", audio_bitrate=96, channels=2,
))
TRIM = Trim(1.013, 18.7)  # an in point between samples' multiples of 1024, an odd length


@pytest.fixture(scope="module")
def sine_src(media_dir) -> Path:
    """20 s of 320x180 video with a continuous 440 Hz sine (48 kHz stereo AAC, 128 kbit/s)."""
    return generate_clip(media_dir / "chunk-audio-sine.mp4", duration=20, width=320, height=180, fps=25, gop=50)


@pytest.fixture(scope="module")
def sine_info(sine_src):
    return probe(sine_src)


def plan_for(src, info, spec=SPEC, trim=TRIM, part_seconds=5.0):
    return plan_chunks(info, spec, trim, index=read_frame_index(src), target_seconds=4.0, max_concurrency=2,
                       audio_part_seconds=part_seconds)


async def whole_audio(plan, info, src, dst) -> Path:
    """The reference: the same range's audio encoded once, whole."""
    argv = audio_command(replace(plan.audio, mode="whole", ext=".m4a"), info, src, dst)
    await run_ffmpeg(argv, duration=plan.join.duration, output=dst)
    return dst


# ------------------------------------------------------------------ planning

def test_parts_cover_a_whole_encodes_packets():
    samples, packets, parts = plan_parts(1.013, 3601.013, 48000, 300.0)
    assert samples == 3600 * 48000 and packets == math.ceil(samples / AAC_FRAME) + 1
    assert len(parts) == 12 and parts[0].offset == 0 and parts[0].skip == 0
    assert sum(p.keep for p in parts) == packets
    for before, after in zip(parts, parts[1:]):
        assert after.first_packet == before.first_packet + before.keep  # contiguous, no packet twice
        assert after.skip == PREROLL_PACKETS and after.offset % AAC_FRAME == 0
        # the first kept packet's MDCT covers samples from (first-1)*1024: inside the part's input
        assert after.offset <= (after.first_packet - 1) * AAC_FRAME - AAC_FRAME
        # the last kept packet's covers samples up to (first+keep)*1024: inside the input too
        assert before.offset + before.samples >= (before.first_packet + before.keep) * AAC_FRAME
    assert parts[-1].offset + parts[-1].samples == samples


def test_audio_mode_decisions(sine_info):
    assert sine_info.audio.bit_rate and sine_info.audio.codec == "aac"
    matching = replace(SPEC, audio_bitrate=128)
    assert audio_mode(matching, sine_info, whole_range=True)[0] == "copy"
    assert audio_mode(matching, sine_info, whole_range=False)[0] == "segments"  # a trimmed range
    assert audio_mode(SPEC, sine_info, whole_range=True)[0] == "segments"  # 128 kbit/s source, 96 asked
    mode, why = audio_mode(replace(SPEC, sample_rate=44100), sine_info, whole_range=False)
    assert mode == "whole" and "resampling" in why
    assert audio_mode(replace(SPEC, container="webm", audio_codec="libopus", video_codec="libvpx-vp9"),
                      sine_info, whole_range=False)[0] == "whole"
    assert audio_mode(replace(SPEC, channels=1, audio_bitrate=128), sine_info, whole_range=True)[0] == "segments"


def test_short_ranges_are_encoded_whole(sine_src, sine_info):
    plan = plan_for(sine_src, sine_info, part_seconds=300.0)
    assert plan.audio.mode == "whole" and len(plan.audio_parts) == 1 and plan.audio_joins() == []


# ------------------------------------------------------------------ the joined track

@pytest.fixture(scope="module")
def segmented(sine_src, sine_info, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chunked-audio")
    plan = plan_for(sine_src, sine_info)
    out = folder / "joined.mp4"

    async def make():
        result = await encode_chunks(plan, sine_src, out, None, 2)
        ref = await whole_audio(plan, sine_info, sine_src, folder / "whole.m4a")
        return result, ref

    result, ref = asyncio.run(make())
    return plan, out, result, ref


def test_segmented_audio_is_sample_exact_and_click_free(segmented, sine_info):
    plan, out, result, ref = segmented
    assert plan.audio.mode == "segments" and len(plan.audio_parts) >= 3
    assert plan.summary()["audio"].startswith(f"encoded in {len(plan.audio_parts)} segments")
    report = check_audio_joins(out, plan.audio_joins(), expected_samples=plan.audio.samples, reference=ref)
    # exactly the range's samples, as the container says and as both decode
    assert report.samples == plan.audio.samples == round((TRIM.end - TRIM.start) * 48000)
    assert report.decoded_samples == report.reference_samples
    assert len(report.joins) == len(plan.audio_parts) - 1
    for join in report.joins:
        assert join.discontinuity_db <= -60.0, join
        assert join.deviation_db <= report.deviation_elsewhere_db + audio_joins.DEVIATION_MARGIN_DB, join
    verify_output(out, SPEC, TRIM, sine_info)  # the check every job's output gets
    assert result.stats.video_frames == plan.total_frames


def test_joined_mp4_has_its_index_in_front(segmented):
    plan, out, *_ = segmented
    argv = plan.join_command("list.ffconcat", "x.mp4", "a.aac")
    assert "-moov_size" in argv and "+faststart" not in argv
    head = out.read_bytes()[:64]
    assert b"moov" in head  # written in place: no second pass moves it there


def test_a_wrong_overlap_is_caught(sine_src, sine_info, tmp_path, monkeypatch):
    """Parts without pre-roll (the priming packet kept at each join): the decoder overlaps a
    packet of silence-primed MDCT with the previous part's: the check must see it."""
    plan = plan_for(sine_src, sine_info)
    broken = tuple(p if p.index == 0 else replace(p, offset=p.offset + PREROLL_PACKETS * AAC_FRAME, skip=0,
                                                   samples=p.samples - PREROLL_PACKETS * AAC_FRAME)
                   for p in plan.audio_parts)
    plan = replace(plan, audio_parts=broken)
    monkeypatch.setattr(pipeline, "verify_audio", lambda plan, dst: None)  # see what it lets through
    out = tmp_path / "broken.mp4"

    async def make():
        await encode_chunks(plan, sine_src, out, None, 2)
        return await whole_audio(plan, sine_info, sine_src, tmp_path / "whole.m4a")

    ref = asyncio.run(make())
    report = check_audio_joins(out, plan.audio_joins(), expected_samples=plan.audio.samples, reference=ref,
                               raise_on_failure=False)
    problems = report.problems(plan.audio.samples)
    assert problems and all("departs from the reference" in p or "discontinuity" in p for p in problems)
    with pytest.raises(VerificationError):
        check_audio_joins(out, plan.audio_joins(), reference=ref)


def test_a_step_at_a_join_is_a_discontinuity():
    rate, f = 48000, 440.0
    wave = [0.125 * math.sin(2 * math.pi * f * n / rate) for n in range(9600)]
    smooth = array.array("f", wave)
    assert 20 * math.log10(max(discontinuity(smooth, 1, 4800), 1e-9)) <= -60.0
    dropped = array.array("f", wave[:4800] + wave[4803:])  # three samples lost at the join
    assert 20 * math.log10(discontinuity(dropped, 1, 4800)) > -60.0
    stereo = array.array("f", [v for s in wave[:4800] + [x + 0.01 for x in wave[4800:]] for v in (s, s)])
    assert 20 * math.log10(discontinuity(stereo, 2, 4800)) > -45.0  # a step of 0.01 (-40 dBFS) in both channels


async def test_matching_source_audio_is_copied(sine_src, sine_info, tmp_path):
    spec = replace(SPEC, audio_bitrate=128)
    plan = plan_for(sine_src, sine_info, spec=spec, trim=Trim())
    assert plan.audio.mode == "copy" and len(plan.audio_parts) == 1 and plan.audio_joins() == []
    out = tmp_path / "copied.mp4"
    result = await encode_chunks(plan, sine_src, out, None, 2)
    assert result.stats.video_frames == plan.total_frames == 500

    def audio_md5(path) -> str:
        argv = [ffmpeg_path(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-c", "copy", "-f", "md5", "-"]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()

    assert audio_md5(out) == audio_md5(sine_src)  # the source's packets, untouched
    assert abs(result.stats.audio_duration - result.stats.video_duration) <= 0.05
