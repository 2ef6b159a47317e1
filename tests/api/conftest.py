"""Fixtures for the API tests: the app on the `db` database (SQLite and PostgreSQL), a GraphQL
helper, seeded presets and ready assets from one generated clip.

The app runs in Litestar's AsyncTestClient (its own event loop in a thread), so no asyncpg pool.
Tests that need a real socket (websocket subscription, fuzz) use `live_server` (uvicorn in a thread).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from backend.api.app import create_app
from backend.catalog.ingest import ingest_key
from backend.catalog.presets import seed_builtin_presets
from backend.catalog.templates import seed_builtin_templates
from backend.catalog.tables import OutputTemplate, TranscodePreset
from backend.media.clips import generate_clip
from backend.storage import open_storages

from api_helpers import GQL, TOKEN, LiveServer, free_port  # noqa: F401

@pytest.fixture(scope="session")
def api_clip(clips_dir) -> Path:
    return generate_clip(clips_dir / "api-small.mp4", duration=2.0, width=320, height=240, fps=25, gop=25)


@pytest.fixture
def api_settings(settings, db):
    assert settings.api_token == TOKEN
    return settings.with_(database_url=db)


@pytest.fixture
def storages(api_settings):
    return open_storages(api_settings)


@pytest.fixture
async def presets(db) -> dict[str, int]:
    await seed_builtin_presets()
    return {r["name"]: r["id"] for r in await TranscodePreset.select(TranscodePreset.id, TranscodePreset.name)}


@pytest.fixture
async def templates(db) -> dict[str, int]:
    await seed_builtin_templates()
    return {r["name"]: r["id"] for r in await OutputTemplate.select(OutputTemplate.id, OutputTemplate.name)}


@pytest.fixture
def add_asset(api_settings, storages, api_clip):
    async def add(key: str = "clip.mp4") -> dict:
        dest = api_settings.in_root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(api_clip, dest)
        row = await ingest_key(storages, key, "in")
        assert row.status == "ready", row.error_message
        return row.to_dict()

    return add


@pytest.fixture
async def client(api_settings):
    app = create_app(api_settings, run_jobs=False, db_pool=False)
    async with AsyncTestClient(app=app) as c:
        c.app = app
        yield c


@pytest.fixture
def gql(client) -> GQL:
    return GQL(client)


@pytest.fixture
def live_server():
    """live_server(app[, port]) -> LiveServer started on `port` (default: a free loopback port);
    stopped at teardown. A browser test passes the port its app's settings name (origin checks)."""
    started: list[LiveServer] = []

    def start(app, port: int | None = None) -> LiveServer:
        srv = LiveServer(app, port or free_port())
        srv.start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
