"""A long rendition cut into parts (backend/pipeline/ladder_plan.py `part_layout`, the AWS ladder's
Map items) and joined again before packaging (`ladder_steps.run_package`): the plan's part
boundaries fall on segment multiples, short sources and audio stay whole, the layout survives
to_dict/from_dict and is checked there; and with real FFmpeg the package made from parts is the
package made from whole renditions — same frames, keyframes, segments and audio.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import m3u8
import pytest

from backend.media.chunking import grid_index, stream_stats
from backend.media.clips import generate_clip
from backend.media.command import Trim
from backend.media.presets import PresetSpec
from backend.media.probe import probe
from backend.media.templates import TemplateOutput, TemplateSpec, validate_template
from backend.pipeline import JobSpec, Location, NullReporter
from backend.pipeline.ladder_plan import LadderPlan, part_layout, rendition_part
from backend.pipeline.ladder_steps import run_package, run_step
from tests.streaming.package_checks import keyframe_starts, segment_bytes, decodes

NTSC = 30000 / 1001
SEG = 2.0


def _grid(fps: float, seconds: float) -> list[float]:
    return [round(k / fps, 6) for k in range(round(seconds * fps))]


def test_parts_start_on_segment_multiples_and_cover_every_frame_once():
    times = _grid(25.0, 60.0)  # 1500 frames
    layout = part_layout(times, 0.0, 60.0, SEG, 4)
    assert [(p.part, p.parts, p.first, p.frames) for p in layout] == \
        [(0, 4, 0, 400), (1, 4, 400, 400), (2, 4, 800, 400), (3, 4, 1200, 300)]  # 16 s = 8 segments each
    assert all(times[p.first] % SEG == 0 and p.offset == 0 for p in layout)
    # each reads from half a frame before its first frame to half a frame after its last (FFmpeg
    # counts the length from the first frame it keeps); the last to the end of the range
    assert layout[0].seek == 0.0 and layout[-1].length == pytest.approx(60.0 - times[1200], abs=1e-6)
    assert all(b.seek == round((times[b.first - 1] + times[b.first]) / 2, 6) for b in layout[1:])
    assert all(p.length == pytest.approx((p.frames - 0.5) / 25, abs=2e-6) for p in layout[:-1])
    assert sum(p.frames for p in layout) == 1500 and layout[-1].last and not layout[0].last

    # 29.97 fps: a part starts on the first frame at/after its segment instant, `offset` after it
    times = _grid(NTSC, 30.0)
    layout = part_layout(times, 0.0, 30.0, SEG, 3)
    assert [p.first for p in layout] == [0, 300, 600]  # 10 s each: frames 300 (10.01 s) and 600 (20.02 s)
    assert [p.offset for p in layout] == [0.0, 0.01, 0.02]
    # a trim: frames counted from the in point's first frame, the first part reads from the in point
    layout = part_layout(times, 3.3, 21.3, SEG, 2)
    first = next(i for i, t in enumerate(times) if t >= 3.3)
    assert layout[0].seek == 3.3 and layout[1].first == 300
    assert layout[-1].length == pytest.approx(times[first] + 18.0 - times[first + 300], abs=1e-6)
    assert round(times[first + 300] - times[first], 3) >= 10.0 > round(times[first + 299] - times[first], 3)
    assert sum(p.frames for p in layout) == sum(1 for t in times if 3.3 <= t < 21.3)


def test_short_sources_stay_whole_and_parts_are_capped_by_segments():
    assert part_layout(_grid(25.0, 2.0), 0.0, 2.0, SEG, 4) == ()  # one segment: nothing to split
    assert part_layout(_grid(25.0, 20.0), 0.0, 20.0, SEG, 1) == ()
    # asked for 16 parts of a 6 s source: one segment each, 3 parts
    layout = part_layout(_grid(25.0, 6.0), 0.0, 6.0, SEG, 16)
    assert [(p.first, p.frames) for p in layout] == [(0, 50), (50, 50), (100, 50)]
    # 7 s in 3 parts: 2.33 s rounds up to whole segments, 4 s, which 2 parts cover
    layout = part_layout(_grid(25.0, 7.0), 0.0, 7.0, SEG, 3)
    assert [(p.first, p.frames) for p in layout] == [(0, 100), (100, 75)]


def _template(seg: float = SEG) -> TemplateSpec:
    def rung(height: int, width: int, kbps: int, fps: float | None = None) -> TemplateOutput:
        return TemplateOutput("rendition", PresetSpec(
            f"{height}p", "video", "mp4", video_codec="libx264", video_bitrate=kbps, speed_preset="veryfast",
            max_width=width, max_height=height, fps=fps, audio_codec="aac", audio_bitrate=64, channels=2))

    return validate_template(TemplateSpec("parts", (rung(180, 320, 300), rung(90, 160, 120)), segment_seconds=seg))


@pytest.fixture(scope="module")
def ntsc(clips_dir) -> Path:
    return generate_clip(clips_dir / "ladder-parts-ntsc.mp4", duration=10.5, width=320, height=180, fps=NTSC)


@pytest.fixture(scope="module")
def pal(clips_dir) -> Path:
    return generate_clip(clips_dir / "ladder-parts-25.mp4", duration=10.5, width=320, height=180, fps=25)


def test_the_plan_records_parts_checks_them_and_weighs_them_by_frames(ntsc):
    info = probe(ntsc)
    trim = Trim(0.4, 9.9)
    plan = LadderPlan.make(_template(), info, trim, parts={0: 3, 1: 2}, index=grid_index(info))
    renditions = [s for s in plan.steps if s["step"] == "rendition"]
    assert [(s["index"], s.get("part")) for s in renditions] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, None)]
    assert plan.summary()["rendition_parts"] == [3, 2, 1] and plan.summary()["steps"] == 6
    assert [p.first for p in plan.parts(0)] == [0, 120, 240]  # 9.5 s / 3 -> 4 s parts (2 segments)
    assert [p.first for p in plan.parts(1)] == [0, 180]  # 9.5 s / 2 -> 6 s parts
    assert plan.parts(2) == () and rendition_part(renditions[-1]) is None
    assert LadderPlan.from_dict(plan.to_dict()) == plan
    assert sum(plan.weight(s) for s in plan.steps) == pytest.approx(1.0)
    assert sum(plan.weight(s) for s in renditions[:3]) == pytest.approx(plan.weight(renditions[-1]))

    for broken in ({"frames": 1}, {"first": 121}, {"seek": 0.1}, {"length": 0}, {"parts": 4}):
        data = plan.to_dict()
        data["steps"][1].update(broken)
        with pytest.raises(ValueError, match="parts of rendition 0"):
            LadderPlan.from_dict(data)
    data = plan.to_dict()
    data["steps"].append({"step": "rendition", "index": 0, "name": "180p"})
    with pytest.raises(ValueError, match="rendition 0 has a whole step beside"):
        LadderPlan.from_dict(data)
    data = plan.to_dict()
    data["steps"].append(dict(data["steps"][5]))  # the audio track twice
    with pytest.raises(ValueError, match="audio rendition 2 is encoded whole"):
        LadderPlan.from_dict(data)
    # no frame index, or one part asked: the steps of before
    assert LadderPlan.make(_template(), info, trim, parts={0: 3}).steps == LadderPlan.make(_template(), info, trim).steps


async def _package(spec: JobSpec, src: Path, work: Path) -> tuple[Path, list[dict]]:
    plan = LadderPlan.from_dict(spec.plan)
    renditions: dict[int, list[Path]] = {}
    for n, step in enumerate(plan.steps):
        out = work / f"step-{n}"
        result = await run_step(spec, step, src, out, NullReporter(), info=probe(src))
        renditions.setdefault(step["index"], []).append(out / result["files"][0])
    records, playback, _ = await run_package(spec, renditions, work / "pkg", NullReporter())
    assert playback == "master.m3u8"
    return work / "pkg", records


@pytest.mark.parametrize("clip, start, end, keys", [
    # 29.97 fps: segments do not hold whole frames (parts get an offset); a trim between frames
    ("ntsc", 0.4, 9.9, [0.0, 2.002, 4.004, 6.006, 8.008]),
    # 25 fps: every cut, the in and out points included, lands exactly on a frame
    ("pal", 1.0, 9.0, [0.0, 2.0, 4.0, 6.0]),
])
async def test_a_package_from_parts_is_the_package_from_whole_renditions(clip, start, end, keys, request, tmp_path):
    src = request.getfixturevalue(clip)
    info = probe(src)
    fps = info.video.fps
    template = _template()
    trim = Trim(start, end)
    spec = JobSpec(source=Location(area="in", key="src.mp4"), output=Location(area="out", key="pkg/"),
                   preset=template.primary_preset.to_dict(), trim_start=start, trim_end=end, ladder=template.to_dict())
    whole = LadderPlan.make(template, info, trim)
    parted = LadderPlan.make(template, info, trim, parts={0: 3, 1: 2}, index=grid_index(info))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert [len(parted.parts(0)), len(parted.parts(1))] == [2 if clip == "pal" else 3, 2]
    pkg_a, rec_a = await _package(replace(spec, plan=whole.to_dict()), src, tmp_path / "a")
    pkg_b, rec_b = await _package(replace(spec, plan=parted.to_dict()), src, tmp_path / "b")
    # the parts were joined (and removed) before the package was cut
    assert sorted(p.name for p in (tmp_path / "b" / "step-0").iterdir()) == ["rendition-0.mp4"]

    master_a, master_b = m3u8.load(str(pkg_a / "master.m3u8")), m3u8.load(str(pkg_b / "master.m3u8"))
    starts = keyframe_starts(pkg_b, master_b)
    assert starts == keyframe_starts(pkg_a, master_a)
    assert starts[0] == keys and all(s == starts[0] for s in starts)
    frames = sum(1 for t in grid_index(info).times if start - 1e-9 <= t < end - 1e-9)
    for variant_a, variant_b in zip(master_a.playlists + master_a.media, master_b.playlists + master_b.media):
        media_a, media_b = m3u8.load(str(pkg_a / variant_a.uri)), m3u8.load(str(pkg_b / variant_b.uri))
        assert [s.duration for s in media_b.segments] == [s.duration for s in media_a.segments]
        assert all(s.duration <= SEG + 1 / fps + 1e-6 for s in media_b.segments)
        assert all(decodes(d) == "" for d in segment_bytes(pkg_b, media_b))
    for a, b in zip(rec_a, rec_b):
        assert (a["name"], a["segments"], a["duration"]) == (b["name"], b["segments"], b["duration"])
    # every frame of the trim, once: the joined renditions hold the whole ones' frames
    for index in (0, 1):
        step = next(n for n, s in enumerate(parted.steps) if s["index"] == index)  # where its parts were joined
        joined = stream_stats(tmp_path / "b" / f"step-{step}" / f"rendition-{index}.mp4")
        one = stream_stats(tmp_path / "a" / f"step-{index}" / f"rendition-{index}.mp4")
        assert joined.video_frames == one.video_frames == frames
        assert joined.keyframes == one.keyframes
