"""The analysis pass on a clip with known content: cuts, black and silence ranges within a frame,
loudness as FFmpeg's own ebur128 reports it, peaks of the tone and of the silence."""
from __future__ import annotations

import re
import subprocess
from dataclasses import replace

import pytest

from backend.media.analysis import (PEAKS_PER_SECOND, AnalysisError, analysis_argv, analyze, decode_peaks,
                                    encode_peaks, measure_loudness)
from backend.media.binaries import ffmpeg_path
from backend.media.clips import TONE_AMPLITUDE, generate_clip, generate_marked_clip, marked_shots
from backend.media.probe import probe

FRAME = 1 / 25


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    path = generate_marked_clip(tmp_path_factory.mktemp("analysis") / "marked.mp4")
    return path, probe(path)


def ffmpeg_ebur128(path) -> tuple[float, float, float]:
    """(I, LRA, true peak) as FFmpeg's ebur128 filter reports them, run on its own."""
    out = subprocess.run([ffmpeg_path(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
                          "-af", "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True,
                         timeout=120).stderr
    summary = out[out.rindex("Summary:"):]
    grab = lambda key: float(re.search(rf"{key}:\s+(-?[\d.]+)", summary).group(1))  # noqa: E731
    return grab("I"), grab("LRA"), grab("Peak")


async def test_known_clip_yields_cuts_black_silence_and_loudness(marked):
    path, info = marked
    truth = marked_shots()
    result = await analyze(path, info)
    assert len(result.scene_cuts) == len(truth["cuts"]), result.scene_cuts
    for got, want in zip(result.scene_cuts, truth["cuts"]):
        assert abs(got - want) <= FRAME, (result.scene_cuts, truth["cuts"])
    assert len(result.black_ranges) == 1
    for got, want in zip(result.black_ranges[0], truth["black"][0]):
        assert abs(got - want) <= FRAME, result.black_ranges
    assert len(result.silence_ranges) == 1
    for got, want in zip(result.silence_ranges[0], truth["silence"][0]):
        assert abs(got - want) <= FRAME, result.silence_ranges
    integrated, lra, peak = ffmpeg_ebur128(path)
    assert abs(result.loudness.integrated - integrated) <= 0.1
    assert abs(result.loudness.range - lra) <= 0.1
    assert abs(result.loudness.true_peak - peak) <= 0.1
    assert result.loudness.threshold < result.loudness.integrated
    assert result.keyframes == (0.0, 2.0, 4.0, 6.0)  # the clip has a GOP of 2 s
    assert result.notes == []


async def test_peaks_follow_the_tone_and_the_silence(marked):
    path, info = marked
    rate, pairs = decode_peaks((await analyze(path, info)).peaks)
    assert rate == PEAKS_PER_SECOND
    assert abs(len(pairs) - info.duration * rate) <= 3
    full = round(TONE_AMPLITUDE * 127)
    tone = pairs[50:250]  # 0.5 .. 2.5 s
    assert all(abs(hi - full) <= 2 and abs(lo + full) <= 2 for lo, hi in tone), tone[:5]
    assert all(lo == hi == 0 for lo, hi in pairs[320:480])  # 3.2 .. 4.8 s: digital silence


def _plain_peaks(pcm: bytes, window: int) -> list[tuple[int, int]]:
    """min and max of each window of u8 samples, as signed bytes (±127): the reduction spelled out."""
    chunks = [pcm[i:i + window] for i in range(0, len(pcm), window)]
    return [(max(min(c) - 128, -127), min(max(c) - 128, 127)) for c in chunks]


@pytest.mark.parametrize("window", [1, 7, 441, 480])
def test_peak_reduction_is_the_min_and_max_of_each_window(window):
    import random
    from backend.media.analysis import _PeakReducer
    rng = random.Random(window)
    pcm = bytes(rng.randrange(256) for _ in range(window * 1500 + window // 2))  # a short last window
    reducer = _PeakReducer(window)
    at = 0
    while at < len(pcm):  # uneven pieces, as a pipe hands them out
        step = rng.choice((1, 300, 4096, 70_000))
        reducer.feed(pcm[at:at + step])
        at += step
    body = reducer.finish()
    assert list(zip(body[0::2], body[1::2])) == _plain_peaks(pcm, window)


async def test_stored_peaks_are_those_of_the_mono_8_bit_mix(marked):
    path, info = marked
    pcm = subprocess.run([ffmpeg_path(), "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
                          "-af", "aformat=sample_fmts=u8:channel_layouts=mono", "-f", "u8", "-"],
                         capture_output=True, timeout=120, check=True).stdout
    rate, pairs = decode_peaks((await analyze(path, info)).peaks)
    assert pairs == _plain_peaks(pcm, info.audio.sample_rate // rate)


def test_peaks_file_round_trip_and_refusals():
    from array import array
    data = encode_peaks(array("b", [-3, 4, -127, 127]))
    assert decode_peaks(data) == (PEAKS_PER_SECOND, [(-3, 4), (-127, 127)])
    for bad in (b"", b"MPRPEAK1", data[:-1], b"NOTPEAKS" + data[8:]):
        with pytest.raises(ValueError):
            decode_peaks(bad)


async def test_video_only_and_audio_only_sources(tmp_path):
    video = generate_clip(tmp_path / "v.mp4", duration=1.0, audio=False)
    result = await analyze(video, probe(video))
    assert (result.peaks, result.loudness, result.silence_ranges) == (b"", None, ())
    audio = generate_clip(tmp_path / "a.m4a", duration=1.0, video=False)
    result = await analyze(audio, probe(audio))
    assert result.loudness is not None and result.scene_cuts == () and result.peaks.startswith(b"MPRPEAK1")
    info = probe(audio)
    with pytest.raises(AnalysisError):
        analysis_argv(audio, replace(info, audio=None))


async def test_a_broken_file_raises_analysis_error(tmp_path, marked):
    path, info = marked
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 4096)
    with pytest.raises(AnalysisError):
        await analyze(broken, info)
    with pytest.raises(AnalysisError):
        measure_loudness(broken)


async def test_the_pass_can_make_the_poster_and_filmstrip_too(marked, tmp_path):
    from PIL import Image

    from backend.media.analysis import Pictures
    from backend.media.thumbnails import make_thumbnails

    path, info = marked
    result = await analyze(path, info, pictures=Pictures(tmp_path / "p.jpg", tmp_path / "f.jpg", frames=8))
    assert result.pictures is not None and result.pictures.frames == 8 and result.scene_cuts
    alone = await make_thumbnails(path, tmp_path / "p2.jpg", tmp_path / "f2.jpg", info, frames=8)
    assert result.pictures == alone  # the same shapes as make_thumbnails makes
    with Image.open(tmp_path / "f.jpg") as strip, Image.open(tmp_path / "f2.jpg") as other:
        assert strip.size == other.size == (8 * alone.tile_width, alone.tile_height)
    with Image.open(tmp_path / "p.jpg") as poster, Image.open(tmp_path / "p2.jpg") as other:
        assert poster.size == other.size


async def test_pictures_of_a_source_without_video_are_refused(tmp_path):
    from backend.media.analysis import Pictures, can_make_pictures

    audio = generate_clip(tmp_path / "a.m4a", duration=1.0, video=False)
    info = probe(audio)
    assert not can_make_pictures(info)
    with pytest.raises(AnalysisError):
        await analyze(audio, info, pictures=Pictures(tmp_path / "p.jpg", tmp_path / "f.jpg"))


async def test_the_pass_is_bounded_in_time(marked):
    from backend.media.analysis import TIMEOUT_MAX_SECONDS, pass_timeout

    path, info = marked
    assert pass_timeout(info) < pass_timeout(replace(info, duration=3600)) <= TIMEOUT_MAX_SECONDS
    assert pass_timeout(replace(info, duration=10 ** 9)) == TIMEOUT_MAX_SECONDS
    with pytest.raises(AnalysisError, match="longer than"):
        await analyze(path, info, timeout=0.001)


async def test_a_cancelled_pass_leaves_no_ffmpeg_behind(marked):
    import asyncio

    import psutil

    path, info = marked
    me = psutil.Process()
    task = asyncio.create_task(analyze(path, info))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not any("ffmpeg" in c.name() for c in me.children()) and not task.done() and loop.time() < deadline:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not [c for c in me.children() if "ffmpeg" in c.name() and c.status() != psutil.STATUS_ZOMBIE]
