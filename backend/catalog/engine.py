"""Build a Piccolo engine from a database URL (`sqlite:///path` or `postgres://user@host:port/db`)."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

from backend.catalog.pg_engine import PostgresEngine


def postgres_config(url: str) -> dict:
    parsed = urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username) if parsed.username else "postgres",
        "password": unquote(parsed.password) if parsed.password else None,
        "database": (parsed.path or "/postgres").lstrip("/") or "postgres",
    }


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
        path.parent.mkdir(parents=True, exist_ok=True)
        _use_wal(path)
        return SQLiteEngine(path=str(path))
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config=postgres_config(url))  # Piccolo's, with transactions that survive lost connections
    raise ValueError(f"MPR_DATABASE_URL must start with sqlite:/// or postgres://, got {url!r}")
