"""Shared fixtures: settings on temporary folders, the catalog on SQLite AND PostgreSQL, generated clips.

`db` is parametrized: every test that asks for it runs once on SQLite and once on a PostgreSQL
database that this session creates on 127.0.0.1:5432 and drops at the end. Both are built by
`mpr migrate` (the real Piccolo migrations, tests/dbmigrate.py), never by `create_tables`: the
suite runs on the schema users get.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from backend.catalog import db as catalog_db
from backend.catalog.engine import engine_from_url
from backend.catalog.tables import ALL_TABLES
from backend.config import Settings
from backend.jobs.executors.local import LocalExecutor

from dbmigrate import migrate_async
from pgtest import PG_ADMIN_URL, pg_url

# CI=true fails the run on a skip that is not an allowed, engine-specific one (tests/skips.py)
from skips import pytest_collectreport, pytest_runtest_logreport, pytest_sessionfinish, pytest_terminal_summary  # noqa: F401,E402


@pytest.fixture(scope="session")
def clips_dir(tmp_path_factory) -> Path:
    """A session-wide folder for generated media that many tests reuse (see tests/media_factory.py)."""
    return tmp_path_factory.mktemp("clips")


@pytest.fixture
def settings(tmp_path) -> Settings:
    media = tmp_path / "media"
    for sub in ("in", "out", "thumbs"):
        (media / sub).mkdir(parents=True)
    return Settings.from_env().with_(
        media_root=media,
        data_dir=tmp_path / "data",
        workers=2,
        stall_seconds=20,
        api_token="test-token",
        callback_secret="test-callback-secret",
        admin_password="test-admin-password",
        allowed_hosts="testserver.local",  # the Host Litestar's AsyncTestClient sends
        watch_input=False,  # tests that want the watched folder turn it on (tests/jobs/test_watch_folder.py)
    )


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def db_engine(request, tmp_path_factory):
    """(engine, url) with the tables built by the migrations; parametrized over both engines.

    PostgreSQL gets a database of its own, created here and dropped when the tests of that
    parametrization are done.
    """
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("db")
        url = f"sqlite:///{folder / 'catalog.sqlite'}"
        await migrate_async(url, folder)
        engine = engine_from_url(url)
        catalog_db.bind_engine(engine)
        yield engine, url
        return
    name = f"mpr_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await catalog_db.create_postgres_database(PG_ADMIN_URL, name)
    url = pg_url(name)
    engine = engine_from_url(url)
    try:
        await migrate_async(url, tmp_path_factory.mktemp("db"))
        catalog_db.bind_engine(engine)
        yield engine, url
    finally:
        await catalog_db.drop_postgres_database(PG_ADMIN_URL, name)


@pytest.fixture
async def db(db_engine, monkeypatch):
    """The catalog, bound to the engine of this parametrization, emptied before each test.

    Every LocalExecutor a test starts is stopped at teardown if the test did not stop it (a failed
    assertion skips the test's own stop): a leftover executor would claim the later tests' jobs in
    the same database with this test's deleted folders."""
    engine, url = db_engine
    catalog_db.bind_engine(engine)
    for table in reversed(ALL_TABLES):
        await table.delete(force=True)
    started = []
    real_start = LocalExecutor.start

    async def start(self):
        started.append(self)
        await real_start(self)

    monkeypatch.setattr(LocalExecutor, "start", start)
    yield url
    for executor in started:
        if not executor._stopping:
            await executor.stop()
