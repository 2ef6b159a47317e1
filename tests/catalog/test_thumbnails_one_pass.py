"""Ingest's poster + filmstrip (backend.media.thumbnails.make_thumbnails): one decoding pass draws the
same pictures as make_poster + make_filmstrip; longer sources with short GOPs are seeked, each tile
showing the keyframe just before its instant; long GOPs get the one pass instead of slow seeks."""
from __future__ import annotations

import subprocess

from backend.media import thumbnails
import pytest

from backend.media.binaries import ffmpeg_path
from backend.media.clips import generate_clip
from backend.media.probe import keyframes_before, probe


def pixels_md5(jpg) -> str:
    out = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(jpg), "-f", "md5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


async def test_one_pass_matches_separate_runs(catalog_clips, tmp_path):
    for name in ("av", "av2", "video_only"):
        src = catalog_clips[name]
        info = probe(src)
        assert (await thumbnails.plan_thumbnails(src, info, 12)).one_pass
        strip = await thumbnails.make_thumbnails(src, tmp_path / "p1.jpg", tmp_path / "f1.jpg", info)
        await thumbnails.make_poster(src, tmp_path / "p2.jpg", info)
        strip2 = await thumbnails.make_filmstrip(src, tmp_path / "f2.jpg", info)
        assert strip == strip2
        assert pixels_md5(tmp_path / "p1.jpg") == pixels_md5(tmp_path / "p2.jpg"), name
        assert pixels_md5(tmp_path / "f1.jpg") == pixels_md5(tmp_path / "f2.jpg"), name


@pytest.fixture(scope="module")
def gop_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gops")
    return {gop: generate_clip(folder / f"gop{gop}.mp4", duration=12, width=640, height=360, fps=30, gop=gop)
            for gop in (15, 900)}


async def test_keyframes_before(gop_clips):
    assert await keyframes_before(gop_clips[15], [0.2, 0.5, 3.74, 11.9]) == [0.0, 0.5, 3.5, 11.5]
    assert await keyframes_before(gop_clips[900], [0.2, 6.0, 11.9]) == [0.0, 0.0, 0.0]


async def test_short_gops_are_seeked_to_nearby_keyframes(gop_clips, tmp_path, monkeypatch):
    monkeypatch.setattr(thumbnails, "OPEN_PIXELS", 1_000_000)  # as if the clip were much longer
    src = gop_clips[15]
    info = probe(src)
    plan = await thumbnails.plan_thumbnails(src, info, 12)
    span = info.duration / 12
    assert not plan.one_pass and len(plan.tile_keyframes) == 12
    for i, key in enumerate(plan.tile_keyframes):
        instant = (i + 0.5) * span
        assert key is not None and 0 <= instant - key <= span / 2 and round(key * 2) == key * 2, (i, key)
    assert len(set(plan.tile_keyframes)) == 12  # every tile its own picture, in order
    assert list(plan.tile_keyframes) == sorted(plan.tile_keyframes)
    strip = await thumbnails.make_thumbnails(src, tmp_path / "p.jpg", tmp_path / "f.jpg", info)
    assert strip.frames == 12 and probe(tmp_path / "f.jpg").video.width == 12 * strip.tile_width
    assert probe(tmp_path / "p.jpg").video.width == thumbnails.POSTER_WIDTH


async def test_a_long_gop_is_decoded_once_not_seeked_twelve_times(gop_clips, monkeypatch, tmp_path):
    monkeypatch.setattr(thumbnails, "OPEN_PIXELS", 1_000_000)
    src = gop_clips[900]
    info = probe(src)
    assert (await thumbnails.plan_thumbnails(src, info, 12)).one_pass
    strip = await thumbnails.make_thumbnails(src, tmp_path / "p.jpg", tmp_path / "f.jpg", info)
    assert strip.frames == 12 and (tmp_path / "p.jpg").stat().st_size > 0


async def test_remote_sources_keep_exact_seeks_without_a_keyframe_lookup(gop_clips, monkeypatch):
    """Over HTTP (S3) requests cost more than decoding: no lookup, no whole-file pass for big files."""
    monkeypatch.setattr(thumbnails, "OPEN_PIXELS", 1_000_000)
    info = probe(gop_clips[15])  # 640x360, 12 s: 83 MP in one pass
    unreachable = "http://127.0.0.1:9/clip.mp4"  # the plan must not touch it
    assert (await thumbnails.plan_thumbnails(unreachable, info, 12)).one_pass  # small: one pass
    monkeypatch.setattr(thumbnails, "REMOTE_ONE_PASS_MAX_PIXELS", 10_000_000)
    plan = await thumbnails.plan_thumbnails(unreachable, info, 12)
    assert not plan.one_pass and plan.tile_keyframes == () and plan.poster_keyframe is None
