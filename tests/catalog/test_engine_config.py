"""postgres_config: what asyncpg is asked for, from MPR_DATABASE_URL."""
from __future__ import annotations

import asyncpg

from backend.catalog.engine import CONNECT_TIMEOUT_S, postgres_config
from pgtest import PG_ADMIN_URL


def test_loopback_skips_tls_negotiation_and_sslmode_is_honoured():
    local = postgres_config("postgres://mpr:p%40ss@127.0.0.1:5433/media")
    assert local == {"host": "127.0.0.1", "port": 5433, "user": "mpr", "password": "p@ss", "database": "media",
                     "timeout": CONNECT_TIMEOUT_S, "ssl": False}
    remote = postgres_config("postgres://mpr@db.internal/media")
    assert "ssl" not in remote and remote["port"] == 5432  # asyncpg's own default ('prefer')
    assert postgres_config("postgres://mpr@db.internal/media?sslmode=require")["ssl"] == "require"
    assert postgres_config("postgres://mpr@localhost/media?sslmode=disable")["database"] == "media"


async def test_the_arguments_connect_to_the_real_server():
    conn = await asyncpg.connect(**postgres_config(PG_ADMIN_URL))
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert conn.get_server_pid() > 0
    finally:
        await conn.close()
