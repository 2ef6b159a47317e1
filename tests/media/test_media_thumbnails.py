"""Poster and filmstrip: sizes, rotation, short and still sources; no full decode."""
from __future__ import annotations

import pytest

from backend.media.probe import probe
from backend.media.thumbnails import ThumbnailError, make_filmstrip, make_poster


async def test_poster_is_320_wide_and_keeps_aspect(clip_1080, out_dir):
    info = probe(clip_1080)
    dst = await make_poster(clip_1080, out_dir / "poster.jpg", info)
    v = probe(dst).video
    assert (v.codec, v.width, v.height) == ("mjpeg", 320, 180)


async def test_poster_at_time_and_small_source(clip_av, out_dir):
    info = probe(clip_av)
    dst = await make_poster(clip_av, out_dir / "p.jpg", info, at=2.5)
    assert (probe(dst).video.width, probe(dst).video.height) == (320, 240)
    # a time past the end still gives a picture (clamped to the last frames)
    dst = await make_poster(clip_av, out_dir / "late.jpg", info, at=99)
    assert dst.stat().st_size > 0


async def test_filmstrip_dimensions(clip_av, out_dir):
    info = probe(clip_av)
    strip = await make_filmstrip(clip_av, out_dir / "strip.jpg", info, frames=12, tile_width=160)
    assert (strip.frames, strip.tile_width, strip.tile_height) == (12, 160, 120)
    v = probe(out_dir / "strip.jpg").video
    assert (v.width, v.height) == (12 * 160, 120) == (strip.width, strip.tile_height)


async def test_filmstrip_of_rotated_and_short_clips(clip_rotated, clip_odd_px, out_dir):
    strip = await make_filmstrip(clip_rotated, out_dir / "r.jpg", probe(clip_rotated), frames=6, tile_width=90)
    assert (strip.tile_width, strip.tile_height) == (90, 120)  # portrait display 240x320
    # 1 s clip, 16 tiles: the last instants repeat (clamped before the end), the sprite is still complete
    strip = await make_filmstrip(clip_odd_px, out_dir / "o.jpg", probe(clip_odd_px), frames=16, tile_width=64)
    v = probe(out_dir / "o.jpg").video
    assert (v.width, v.height) == (16 * 64, strip.tile_height) and strip.tile_height == 48


async def test_poster_from_url_style_awkward_name(weird_clips, out_dir):
    src = weird_clips["-starts-with-dash.mp4"]
    dst = await make_poster(src, out_dir / "a:b.jpg", probe(src))
    assert dst.exists()


async def test_audio_only_has_no_pictures(clip_audio_only, out_dir):
    info = probe(clip_audio_only)
    with pytest.raises(ThumbnailError, match="no video"):
        await make_poster(clip_audio_only, out_dir / "p.jpg", info)
    with pytest.raises(ThumbnailError):
        await make_filmstrip(clip_audio_only, out_dir / "s.jpg", info)


async def test_filmstrip_frames_range(clip_av, out_dir):
    with pytest.raises(ValueError):
        await make_filmstrip(clip_av, out_dir / "s.jpg", probe(clip_av), frames=0)
