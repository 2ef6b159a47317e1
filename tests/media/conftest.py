"""Clips for the media tests, generated once per session with lavfi (small: ≤ 3 s, mostly 320x240).

`bad_files` holds inputs ffprobe would wave through or fail on unhelpfully: a zero-byte file,
text named .mp4, and MP4s cut in half with the moov atom at the front and at the end.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.media.clips import generate_clip
from backend.media.probe import probe

WEIRD_NAMES = ("my clip é 日本.mp4", "-starts-with-dash.mp4", "has:colon.mp4", "50% done #1.mp4")


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media-clips")


@pytest.fixture(scope="session")
def clip_av(media_dir) -> Path:
    """320x240, 3 s, 25 fps, H.264 + AAC, a keyframe every second, moov at the front."""
    return generate_clip(media_dir / "av.mp4", duration=3, gop=25, extra_args=("-movflags", "+faststart"))


@pytest.fixture(scope="session")
def clip_av_moov_end(media_dir) -> Path:
    return generate_clip(media_dir / "av-moov-end.mp4", duration=3, gop=25)


@pytest.fixture(scope="session")
def clip_1080(media_dir) -> Path:
    return generate_clip(media_dir / "hd.mp4", duration=2, width=1920, height=1080, pattern="smptebars")


@pytest.fixture(scope="session")
def clip_1080_moving(media_dir) -> Path:
    """1920x1080, 2 s, testsrc2 (every frame differs: animated WebP keeps one frame per frame)."""
    return generate_clip(media_dir / "hd-moving.mp4", duration=2, width=1920, height=1080)


@pytest.fixture(scope="session")
def clip_odd(media_dir) -> Path:
    """1918x1078: not a standard size, not a multiple of 16."""
    return generate_clip(media_dir / "odd.mp4", duration=1, width=1918, height=1078, audio=False)


@pytest.fixture(scope="session")
def clip_odd_px(media_dir) -> Path:
    """321x241: odd numbers of pixels (4:4:4, since 4:2:0 needs even sizes)."""
    return generate_clip(media_dir / "odd-px.mp4", duration=1, width=321, height=241, audio=False,
                         extra_args=("-vf", "scale=321:241", "-pix_fmt", "yuv444p"))


@pytest.fixture(scope="session")
def clip_rotated(media_dir) -> Path:
    """Stored 320x240, display matrix says turn 90° clockwise (a phone's portrait video)."""
    return generate_clip(media_dir / "rotated.mp4", duration=2, rotation=90)


@pytest.fixture(scope="session")
def clip_webm(media_dir) -> Path:
    return generate_clip(media_dir / "vp9.webm", duration=2, vcodec="libvpx-vp9", acodec="libopus")


@pytest.fixture(scope="session")
def clip_audio_only(media_dir) -> Path:
    return generate_clip(media_dir / "audio.m4a", duration=2, video=False)


@pytest.fixture(scope="session")
def clip_video_only(media_dir) -> Path:
    return generate_clip(media_dir / "silent.mp4", duration=2, audio=False)


@pytest.fixture(scope="session")
def info_av(clip_av):
    return probe(clip_av)


@pytest.fixture(scope="session")
def weird_clips(media_dir, clip_av) -> dict[str, Path]:
    folder = media_dir / "weird"
    folder.mkdir()
    out = {}
    for name in WEIRD_NAMES:
        path = folder / name
        os.link(clip_av, path)
        out[name] = path
    return out


def _cut(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture(scope="session")
def bad_files(media_dir, clip_av, clip_av_moov_end, clip_webm) -> dict[str, Path]:
    folder = media_dir / "bad"
    folder.mkdir()
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    text = folder / "notes.mp4"
    text.write_text("This is not a video.\nJust some notes someone renamed.\n" * 20)
    return {
        "empty": empty,
        "text": text,
        "truncated_moov_front": _cut(clip_av, folder / "cut-front.mp4"),
        "truncated_moov_end": _cut(clip_av_moov_end, folder / "cut-end.mp4"),
        "truncated_webm": _cut(clip_webm, folder / "cut.webm"),
    }


@pytest.fixture
def out_dir(tmp_path) -> Path:
    return tmp_path
