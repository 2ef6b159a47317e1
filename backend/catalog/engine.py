"""Build a Piccolo engine from a database URL (`sqlite:///path` or `postgres://user@host:port/db`)."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

from backend.catalog.files import private_file, secure_data_dir
from backend.catalog.pg_engine import PostgresEngine


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CONNECT_TIMEOUT_S = 10.0  # a connection attempt that hangs fails (and is retried) instead of stalling a job


def postgres_config(url: str) -> dict:
    """asyncpg connection arguments from a postgres:// URL. `?sslmode=` is honoured; without it a
    loopback server is reached without the TLS negotiation (asyncpg's default 'prefer' asks for
    TLS on every new connection first), any other host with asyncpg's default."""
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    cfg: dict = {
        "host": host,
        "port": parsed.port or 5432,
        "user": unquote(parsed.username) if parsed.username else "postgres",
        "password": unquote(parsed.password) if parsed.password else None,
        "database": (parsed.path or "/postgres").lstrip("/") or "postgres",
        "timeout": CONNECT_TIMEOUT_S,
    }
    sslmode = (parse_qs(parsed.query).get("sslmode") or [""])[-1]
    if sslmode:
        cfg["ssl"] = sslmode
    elif host in LOOPBACK_HOSTS:
        cfg["ssl"] = False
    return cfg


def _use_wal(path: Path) -> None:
    """Write-ahead logging: readers (the API) never wait for the executor's writes, and each
    commit costs one fsync instead of several. The mode is stored in the file, so once is enough."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def engine_from_url(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.parent.exists():
            secure_data_dir(path.parent)  # a new data folder is private (0700)
        private_file(path)  # 0600, before SQLite creates it world-readable
        _use_wal(path)
        return SQLiteEngine(path=str(path))
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config=postgres_config(url))  # Piccolo's, with transactions that survive lost connections
    raise ValueError(f"MPR_DATABASE_URL must start with sqlite:/// or postgres://, got {url!r}")
