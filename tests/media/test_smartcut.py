"""Smart cut on real FFmpeg: H.264 (x264 with B-frames, 2 s and 10 s GOPs, closed and open GOP)
and HEVC sources in MP4 and MPEG-TS, in/out points on a keyframe, one frame after one and one
frame before one. Every run is verified by the runner itself (decode, frame count, copied packets
bit-identical, SSIM of the edges, A/V offset); the tests check the frame count and the first and
last frames again independently (decoded from the start, no seeking) and that the plan is what
the keyframes call for.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backend.media.probe import probe
from backend.media.smartcut import SmartCutError, plan_smartcut, read_stream
from backend.media.smartcut_verify import frame_count
from backend.pipeline import JobSpec, Location, NullReporter, SpecError
from backend.pipeline.spec import SPEC_VERSION
from backend.pipeline.smartcut import run_smartcut
from smartcut_sources import gray_frame, make_source, mean_abs_diff

FPS = 25
F = 1 / FPS
# keyframes every 2 s (frames 0, 50, 100, 150): in around frame 50, out around frame 150 (on a
# keyframe / one frame after one / one frame before one), as times of those frames in the source
# (an MPEG-TS video clock starts 21 ms after its audio)
POINTS = {"on": (50, 150), "after": (51, 151), "before": (49, 149)}
FAST = [("h264-gop2-mp4", "on"), ("h264-gop2-mp4", "after"), ("h264-gop2-mp4", "before"),
        ("h264-gop2-ts", "after"), ("hevc-gop2-ts", "before")]
SLOW = [("h264-gop2-ts", "on"), ("h264-gop2-ts", "before"), ("hevc-gop2-ts", "on"), ("hevc-gop2-ts", "after"),
        ("hevc-gop2-mp4", "on"), ("hevc-gop2-mp4", "after"), ("hevc-gop2-mp4", "before")]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smartcut-sources")
    return lambda name: make_source(folder, name)


def smart_spec(start: float, end: float, container: str = "mp4") -> JobSpec:
    return JobSpec(source=Location(area="in", key="src"), output=Location(area="out", key=f"cut.{container}"),
                   preset={"name": "Trim only (stream copy)", "kind": "copy", "container": container},
                   trim_start=start, trim_end=end, accurate=True, trim_mode="smart")


def cut(src: Path, dst: Path, start: float, end: float, container: str = "mp4"):
    return asyncio.run(run_smartcut(smart_spec(start, end, container), src, dst, NullReporter(), info=probe(src)))


def check_edges(src: Path, dst: Path, first: int, frames: int) -> None:
    """The output's first and last frames are the source's frames at the in and out points."""
    assert frame_count(dst) == frames
    for out_index, src_index in ((0, first), (frames - 1, first + frames - 1)):
        diff = mean_abs_diff(gray_frame(dst, out_index), gray_frame(src, src_index))
        assert diff < 2.0, (out_index, src_index, diff)
        if out_index == 0:  # and not its neighbour: the test pattern moves every frame
            assert mean_abs_diff(gray_frame(dst, 0), gray_frame(src, src_index + 1)) > diff


# (head s, tail s, copied s): in after 2.0 re-encodes up to the keyframe at 4.0; out before 6.0
# re-encodes from the keyframe at 4.0 up to the out point
EDGES = {"on": (0.0, 0.0, 4.0), "after": (2.0 - F, F, 2.0), "before": (F, 2.0 - F, 2.0)}


def expected(where: str) -> tuple[int, int, float, float, float]:
    first, last = POINTS[where]
    return (first, last - first, *EDGES[where])


def times(src: Path, where: str) -> tuple[float, float]:
    frames = read_stream(src).frames
    return tuple(frames[i] for i in POINTS[where])


@pytest.mark.parametrize("name,where", FAST + [pytest.param(*c, marks=pytest.mark.slow) for c in SLOW],
                         ids=[f"{n}-{w}" for n, w in FAST + SLOW])
def test_smart_cut_is_frame_exact_and_copies_the_middle(sources, tmp_path, name, where):
    src = sources(name)
    start, end = times(src, where)
    first, frames, head, tail, copied = expected(where)
    result = cut(src, tmp_path / "cut.mp4", start, end)
    plan = result.plan
    assert plan.mode == "smart", plan.fallback
    assert plan.frames == frames and plan.first == first
    assert plan.head_seconds == pytest.approx(head, abs=1e-3)
    assert plan.tail_seconds == pytest.approx(tail, abs=1e-3)
    assert plan.copy_seconds == pytest.approx(copied, abs=1e-3)
    assert result.checks["copied_frames"] == round(plan.copy_seconds * FPS)
    assert result.checks["min_ssim"] is None or result.checks["min_ssim"] >= 0.98
    assert 0 <= result.checks["audio_offset_ms"] < 1024 / 48  # within one AAC frame
    check_edges(src, tmp_path / "cut.mp4", first, frames)


@pytest.mark.slow
def test_ten_second_gop_copies_to_the_end_and_reencodes_the_head(sources, tmp_path):
    src = sources("h264-gop10-mp4")
    result = cut(src, tmp_path / "cut.mkv", F, 12.0, "mkv")
    assert result.plan.mode == "smart", result.plan.fallback
    assert result.plan.head_seconds == pytest.approx(10.0 - F, abs=1e-3)
    assert result.plan.copy_seconds == pytest.approx(2.0, abs=1e-3) and result.plan.tail_seconds == 0
    check_edges(src, tmp_path / "cut.mkv", 1, 299)


def test_ten_second_gop_without_two_keyframes_in_range_falls_back(sources, tmp_path):
    src = sources("h264-gop10-mp4")
    result = cut(src, tmp_path / "cut.mp4", 1.0, 3.0)
    assert result.plan.mode == "reencode" and "nothing to copy" in result.plan.fallback
    assert "nothing to copy" in result.note()
    check_edges(src, tmp_path / "cut.mp4", 25, 50)


def test_open_gop_h264_falls_back_to_a_verified_reencode(sources, tmp_path):
    src = sources("h264-open-mp4")
    stream = read_stream(src)
    start, end = times(src, "after")
    result = cut(src, tmp_path / "cut.mp4", start, end)
    if stream.leading:  # x264's open GOP: keyframes with leading pictures
        assert result.plan.mode == "reencode" and "open GOP" in result.plan.fallback
    else:
        assert result.plan.mode == "smart"
    check_edges(src, tmp_path / "cut.mp4", 51, 100)


def test_open_gop_hevc_falls_back_to_a_verified_reencode(sources, tmp_path):
    # x265's open GOP: CRA keyframes with RASL leading pictures, which reference the GOP before
    src = sources("hevc-open-mp4")
    stream = read_stream(src)
    assert stream.leading, "x265 open-gop=1 made no keyframe with leading pictures"
    start, end = times(src, "after")
    result = cut(src, tmp_path / "cut.mp4", start, end)
    assert result.plan.mode == "reencode" and "open GOP" in result.plan.fallback
    check_edges(src, tmp_path / "cut.mp4", 51, 100)


def test_plan_reads_keyframes_and_describes_the_cut(sources):
    stream = read_stream(sources("h264-gop2-mp4"))
    assert sorted(stream.keyframes) == [0, 50, 100, 150]
    plan = plan_smartcut(stream, 2.0 - F, 6.0 + F, "mp4")  # an MP4 clock: frame n at n/25 s
    assert plan.describe() == "re-encodes 0.04 s at the start and 0.04 s at the end, copies 4.0 s"
    assert plan_smartcut(stream, 2.0, 6.0, "mp4").describe() == "copies 4.0 s"
    assert plan_smartcut(stream, 2.0, 6.0, "webm").mode == "reencode"
    with pytest.raises(SmartCutError):
        plan_smartcut(stream, 9.0, 9.5, "mp4")


def test_job_spec_carries_the_trim_mode_and_reads_version_1():
    spec = smart_spec(1.0, 2.0)
    data = spec.to_dict()
    assert data["version"] == SPEC_VERSION and data["trim"]["mode"] == "smart"
    assert JobSpec.from_dict(data).smart
    old = {**data, "version": 1, "trim": {"start": 1.0, "end": 2.0, "accurate": False}}
    assert JobSpec.from_dict(old).mode == "keyframe"
    with pytest.raises(SpecError, match="stream-copy"):
        JobSpec.from_dict({**data, "preset": {"name": "x", "kind": "video", "container": "mp4",
                                              "video_codec": "libx264"}})
    with pytest.raises(SpecError, match="trim.mode"):
        JobSpec.from_dict({**data, "trim": {"start": 1.0, "end": 2.0, "mode": "fast"}})
