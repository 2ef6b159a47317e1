"""serve_api: the real server process (uvicorn, asyncpg pool on PostgreSQL) answers /healthz and GraphQL."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from api_helpers import AUTH, TOKEN, free_port
from backend.config import REPO_ROOT

SERVE = "from backend.api.server import serve_api; from backend.config import Settings; " \
        "serve_api(Settings.from_env(), run_jobs=False)"


async def test_serve_api(api_settings, presets):
    from piccolo.apps.user.tables import BaseUser

    await BaseUser.delete(force=True)
    port = free_port()
    env = {**os.environ, "MPR_DATABASE_URL": api_settings.database_url, "MPR_API_TOKEN": TOKEN,
           "MPR_ADMIN_PASSWORD": "", "MPR_PORT": str(port), "MPR_HOST": "127.0.0.1",
           "MPR_MEDIA_ROOT": str(api_settings.media_root), "MPR_DATA_DIR": str(api_settings.data_dir),
           "MPR_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-c", SERVE], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.status_code == 200
        assert health.json()["database"] == ("postgresql" if api_settings.is_postgres else "sqlite")
        for _ in range(20):  # several requests through the pool
            resp = httpx.post(f"{base}/graphql", json={"query": "{ presets { name } jobs { nodes { id } } }"},
                              headers=AUTH, timeout=10)
            assert resp.status_code == 200 and len(resp.json()["data"]["presets"]) == len(presets)
        assert httpx.post(f"{base}/graphql", json={"query": "{ presets { name } }"}, timeout=10).status_code == 401
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    # no admin password configured: the generated one is printed once
    assert "MPR admin user created: admin / " in out, out
    assert "Traceback" not in out, out
