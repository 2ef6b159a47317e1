"""Clips for the catalog tests, generated once per session with lavfi, and a helper to lay out a media folder."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.media.clips import generate_clip
from backend.storage import open_storages


@pytest.fixture(scope="session")
def catalog_clips(clips_dir) -> dict[str, Path]:
    """name -> file: good clips (A/V mp4, video-only mkv, audio-only m4a) and broken ones."""
    folder = clips_dir / "catalog"
    folder.mkdir(exist_ok=True)
    clips = {
        "av": generate_clip(folder / "av.mp4", duration=2.0, extra_args=("-movflags", "+faststart")),
        "av2": generate_clip(folder / "av2.mp4", duration=3.0, width=320, height=180, pattern="smptebars"),
        "video_only": generate_clip(folder / "video_only.mkv", duration=2.0, audio=False),
        "audio_only": generate_clip(folder / "audio_only.m4a", duration=2.0, video=False),
    }
    # moov atom at the end (no faststart): cutting it off leaves no index at all
    data = clips["av2"].read_bytes()
    (folder / "truncated_nomoov.mp4").write_bytes(data[: len(data) // 2])
    clips["truncated_nomoov"] = folder / "truncated_nomoov.mp4"
    # index at the front: the index promises data that is not there
    data = clips["av"].read_bytes()
    (folder / "truncated_faststart.mp4").write_bytes(data[: len(data) // 2])
    clips["truncated_faststart"] = folder / "truncated_faststart.mp4"
    (folder / "text.mp4").write_text("this is a text file pretending to be a video\n" * 20)
    clips["text"] = folder / "text.mp4"
    (folder / "empty.mp4").write_bytes(b"")
    clips["empty"] = folder / "empty.mp4"
    return clips


@pytest.fixture
def storages(settings):
    return open_storages(settings)


@pytest.fixture
def place(settings, catalog_clips):
    """place(clip_name, key) copies a session clip into the input folder under `key`."""

    def _place(name: str, key: str) -> Path:
        dest = settings.in_root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(catalog_clips[name], dest)
        return dest

    return _place

