"""Fixtures for job tests: storages on the test media root, seeded presets, ready assets from generated clips."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.catalog.ingest import ingest_key
from backend.catalog.presets import seed_builtin_presets
from backend.catalog.tables import TranscodePreset
from backend.media.clips import generate_clip
from backend.storage import open_storages


@pytest.fixture(scope="session")
def clip_library(clips_dir) -> dict[str, Path]:
    """Clips generated once per session; tests copy them into their own media root."""
    return {
        "small": generate_clip(clips_dir / "small.mp4", duration=4.0, width=320, height=240, fps=25, gop=25),
        "hd": generate_clip(clips_dir / "hd.mp4", duration=2.0, width=1920, height=1080, fps=25, gop=25),
        "long": generate_clip(clips_dir / "long.mp4", duration=30.0, width=640, height=360, fps=25, gop=50),
        # MPEG-TS starts its clock at 1.4 s: keyframe times must be read relative to that start
        "ts": generate_clip(clips_dir / "gop2.ts", duration=8.0, width=320, height=240, fps=25, gop=50),
    }


@pytest.fixture
def storages(settings):
    return open_storages(settings)


@pytest.fixture
async def presets(db) -> dict[str, int]:
    await seed_builtin_presets()
    return {row["name"]: row["id"] for row in await TranscodePreset.select(TranscodePreset.id, TranscodePreset.name)}


@pytest.fixture
def add_asset(settings, storages, clip_library):
    async def add(name: str = "small", key: str | None = None) -> dict:
        key = key or f"{name}.mp4"
        dest = settings.in_root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip_library[name], dest)
        row = await ingest_key(storages, key, "in")
        assert row.status == "ready", row.error_message
        return row.to_dict()

    return add
