"""The one-pass poster + filmstrip that ingest uses (backend.media.thumbnails.make_thumbnails) draws the
same pictures as make_poster + make_filmstrip, and leaves big sources to those seeking functions."""
from __future__ import annotations

import subprocess

from backend.media import thumbnails
from backend.media.binaries import ffmpeg_path
from backend.media.probe import probe


def pixels_md5(jpg) -> str:
    out = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(jpg), "-f", "md5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


async def test_one_pass_matches_separate_runs(catalog_clips, tmp_path):
    for name in ("av", "av2", "video_only"):
        src = catalog_clips[name]
        info = probe(src)
        assert thumbnails.one_pass_worthwhile(info)
        strip = await thumbnails.make_thumbnails(src, tmp_path / "p1.jpg", tmp_path / "f1.jpg", info)
        await thumbnails.make_poster(src, tmp_path / "p2.jpg", info)
        strip2 = await thumbnails.make_filmstrip(src, tmp_path / "f2.jpg", info)
        assert strip == strip2
        assert pixels_md5(tmp_path / "p1.jpg") == pixels_md5(tmp_path / "p2.jpg"), name
        assert pixels_md5(tmp_path / "f1.jpg") == pixels_md5(tmp_path / "f2.jpg"), name


async def test_big_sources_use_the_seeking_functions(catalog_clips, tmp_path, monkeypatch):
    calls = []
    real_poster, real_strip = thumbnails.make_poster, thumbnails.make_filmstrip

    async def poster(*a, **kw):
        calls.append("poster")
        return await real_poster(*a, **kw)

    async def strip(*a, **kw):
        calls.append("filmstrip")
        return await real_strip(*a, **kw)

    monkeypatch.setattr(thumbnails, "ONE_PASS_MAX_PIXELS", 1000)
    monkeypatch.setattr(thumbnails, "make_poster", poster)
    monkeypatch.setattr(thumbnails, "make_filmstrip", strip)
    info = probe(catalog_clips["av"])
    result = await thumbnails.make_thumbnails(catalog_clips["av"], tmp_path / "p.jpg", tmp_path / "f.jpg", info, frames=5)
    assert calls == ["poster", "filmstrip"]
    assert result.frames == 5 and (tmp_path / "p.jpg").stat().st_size > 0
