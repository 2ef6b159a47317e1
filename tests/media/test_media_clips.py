"""lavfi clip generation (tests, `mpr demo`) and the binaries it runs."""
from __future__ import annotations

import pytest

from backend.media import binaries
from backend.media.clips import ClipError, generate_clip, make_demo_clips
from backend.media.probe import probe


def test_binaries_and_env_override(monkeypatch, tmp_path):
    assert binaries.ffmpeg_path().endswith(("ffmpeg", "ffmpeg-linux-x64"))
    assert binaries.ffprobe_path() != binaries.ffmpeg_path()
    assert binaries.ffmpeg_version()
    monkeypatch.setenv("MPR_FFPROBE", str(tmp_path / "nope"))
    with pytest.raises(binaries.BinaryNotFound, match="MPR_FFPROBE"):
        binaries.ffprobe_path()
    monkeypatch.setenv("MPR_FFMPEG", "/bin/true")
    assert binaries.ffmpeg_path() == "/bin/true"


def test_generate_clip_options(tmp_path):
    p = generate_clip(tmp_path / "m.mkv", duration=1, width=160, height=90, fps=30, pattern="mandelbrot",
                      vcodec="libx264", acodec="libopus", channels=1, gop=10)
    info = probe(p)
    assert (info.video.width, info.video.height, info.video.fps) == (160, 90, 30.0)
    assert (info.audio.codec, info.audio.channels) == ("opus", 1)
    assert info.duration == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError):
        generate_clip(tmp_path / "x.mp4", video=False, audio=False)
    with pytest.raises(ClipError, match="could not generate"):
        generate_clip(tmp_path / "x.mp4", vcodec="nope")


@pytest.mark.slow
def test_demo_clips(tmp_path):
    paths = make_demo_clips(tmp_path / "demo folder")
    assert len(paths) == 3
    infos = [probe(p) for p in paths]
    assert [(i.video.width, i.video.height) for i in infos] == [(1280, 720), (1920, 1080), (640, 360)]
    assert all(i.audio is not None and i.duration >= 8 for i in infos)
