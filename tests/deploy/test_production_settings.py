"""Production settings: `mpr up`/`mpr api` refuse to listen beyond loopback without an API token
and an admin password, and MPR_DB_POOL_SIZE sizes the asyncpg pool the app opens on PostgreSQL.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backend.api.app import create_app
from backend.cli import _check_exposure
from backend.config import REPO_ROOT, Settings
from skips import engine_specific


def _cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MPR_")}
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=REPO_ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "mpr.example.com"])
@pytest.mark.parametrize("token,password", [(None, None), ("t0ken", None), (None, "pa55word")])
def test_refuses_non_loopback_without_both_secrets(host, token, password):
    with pytest.raises(SystemExit) as refused:
        _check_exposure(Settings(host=host, api_token=token, admin_password=password))
    assert "MPR_API_TOKEN" in str(refused.value) and "MPR_ADMIN_PASSWORD" in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_secrets(host):
    _check_exposure(Settings(host=host))


def test_non_loopback_with_both_secrets_is_allowed():
    _check_exposure(Settings(host="0.0.0.0", api_token="t0ken", admin_password="pa55word"))


@pytest.mark.parametrize("command", ["up", "api"])
def test_cli_refuses_before_touching_anything(command, tmp_path):
    """The real command line: exit status 1 and the reason, before a database or folder is touched."""
    data = tmp_path / "data"
    done = _cli([command, "--host", "0.0.0.0", "--port", "8123"], MPR_DATA_DIR=str(data),
                MPR_DATABASE_URL=f"sqlite:///{data / 'mpr.sqlite'}", MPR_MEDIA_ROOT=str(tmp_path / "media"),
                MPR_API_TOKEN="only-the-token")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refusing to bind 0.0.0.0" in done.stderr
    assert not data.exists() and not (tmp_path / "media").exists()
    done = _cli([command], MPR_HOST="0.0.0.0", MPR_DATA_DIR=str(data), MPR_ADMIN_PASSWORD="only-the-password")
    assert done.returncode == 1 and "refusing to bind 0.0.0.0" in done.stderr


def test_pool_size_setting(monkeypatch):
    monkeypatch.setenv("MPR_DB_POOL_SIZE", "7")
    monkeypatch.setenv("MPR_WORKERS", "2")
    assert Settings.from_env().db_pool_size == 7 and Settings.from_env().pool_max_size == 7
    monkeypatch.setenv("MPR_DB_POOL_SIZE", "0")
    assert Settings.from_env().pool_max_size == 6  # automatic: workers + 4
    monkeypatch.delenv("MPR_DB_POOL_SIZE")
    assert Settings.from_env().with_(workers=1).pool_max_size == 5
    monkeypatch.setenv("MPR_DB_POOL_SIZE", "many")
    with pytest.raises(ValueError, match="MPR_DB_POOL_SIZE"):
        Settings.from_env()
    with pytest.raises(ValueError, match="MPR_DB_POOL_SIZE"):
        Settings(db_pool_size=-1).pool_max_size


def test_serve_passes_the_pool_size_to_the_ui_process():
    from backend.serve import settings_env

    assert settings_env(Settings(db_pool_size=9))["MPR_DB_POOL_SIZE"] == "9"


async def test_app_opens_a_pool_of_the_configured_size(settings, db):
    if not db.startswith("postgres"):
        engine_specific("the asyncpg connection pool exists on PostgreSQL only")
    app = create_app(settings.with_(database_url=db, db_pool_size=3), run_jobs=False, db_pool=True)
    async with app.lifespan():
        pool = app.state.engine.pool
        assert pool is not None and pool.get_max_size() == 3 and pool.get_min_size() == 2
        app_small = create_app(settings.with_(database_url=db, db_pool_size=1), run_jobs=False, db_pool=True)
    async with app_small.lifespan():
        assert app_small.state.engine.pool.get_max_size() == 1 and app_small.state.engine.pool.get_min_size() == 1


async def test_connection_pool_for_workers(settings, db):
    """`mpr worker` wraps its runtime in catalog.db.connection_pool: a pool on PostgreSQL, nothing on SQLite."""
    from backend.catalog.db import connection_pool, current_engine
    from backend.catalog.tables import TranscodePreset

    engine = current_engine()
    async with connection_pool(engine, 3):
        if db.startswith("postgres"):
            assert engine.pool is not None and engine.pool.get_max_size() == 3
        else:
            assert getattr(engine, "pool", None) is None
        assert await TranscodePreset.count() >= 0
    assert getattr(engine, "pool", None) is None
