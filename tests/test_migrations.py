"""`mpr migrate` builds the schema from the migrations on both engines, and is idempotent."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid

import pytest
from asyncpg.exceptions import UniqueViolationError

from backend.catalog import db as catalog_db
from backend.config import REPO_ROOT

from pgtest import PG_ADMIN_URL, pg_url


def migrate(url: str, data_dir) -> str:
    env = {**os.environ, "MPR_DATABASE_URL": url, "MPR_DATA_DIR": str(data_dir)}
    out = subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


async def check_schema(url: str) -> None:
    from piccolo.querystring import QueryString as QS

    from backend.catalog.engine import engine_from_url

    engine = engine_from_url(url)
    tables = {"media_asset", "transcode_preset", "transcode_job", "job_transition", "piccolo_user", "sessions"}
    for name in tables:
        rows = await engine.run_querystring(QS(f"SELECT COUNT(*) AS n FROM {name}"))
        assert rows[0]["n"] >= 0
    presets = await engine.run_querystring(QS("SELECT COUNT(*) AS n FROM transcode_preset WHERE builtin"))
    assert presets[0]["n"] >= 12
    insert = "INSERT INTO media_asset (filename, storage_area, storage_key) VALUES ('a', 'in', 'a.mp4')"
    await engine.run_querystring(QS(insert))
    with pytest.raises((sqlite3.IntegrityError, UniqueViolationError), match="(?i)unique"):
        await engine.run_querystring(QS(insert))  # one asset per stored object


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_migrate_from_scratch_twice(kind, tmp_path):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        migrate(url, tmp_path)
        second = migrate(url, tmp_path)
        await check_schema(url)
    else:
        name = f"mpr_mig_{uuid.uuid4().hex[:8]}"
        await catalog_db.create_postgres_database(PG_ADMIN_URL, name)
        try:
            url = pg_url(name)
            migrate(url, tmp_path)
            second = migrate(url, tmp_path)
            await check_schema(url)
        finally:
            await catalog_db.drop_postgres_database(PG_ADMIN_URL, name)
    assert "builtin presets changed: 0" in second
