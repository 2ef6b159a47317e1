"""Fixtures for the fault tests: generated clips (once per session) and real MPR app processes
(`mpr api` with the local executor) on a fresh SQLite file or PostgreSQL database, one per module.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from backend.media.clips import generate_clip

from mpr_app import finish_app, start_app


@pytest.fixture(scope="session")
def fault_clips(clips_dir) -> dict[str, Path]:
    folder = clips_dir / "faults"
    folder.mkdir(exist_ok=True)
    return {
        # long enough that a job is still encoding when the test strikes (a few seconds on 2 cores)
        "medium": generate_clip(folder / "medium.mp4", duration=20.0, width=640, height=360, fps=25, gop=50),
        "small": generate_clip(folder / "small.mp4", duration=2.0, width=320, height=240, fps=25, gop=25),
        # the cheapest real job: a stream-copy trim of one second of 64x64
        "tiny": generate_clip(folder / "tiny.mp4", duration=1.0, width=64, height=64, fps=25, gop=25),
    }


@pytest.fixture(scope="module")
async def pg_app(tmp_path_factory, fault_clips):
    """One app on a fresh PostgreSQL database for the tests of a module (asyncpg pool, 2 workers)."""
    app = await start_app(tmp_path_factory.mktemp("pg-app"), "postgres",
                          {"medium.mp4": fault_clips["medium"], "small.mp4": fault_clips["small"]})
    try:
        yield app
    finally:
        await finish_app(app)
