"""Binding the catalog tables to an engine, creating a database, running migrations.

The app normally gets its engine from `piccolo_conf.DB`; tests and tools that need another
database (a fresh PostgreSQL test database, a temporary SQLite file) call `bind_engine`.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from piccolo.apps.user.tables import BaseUser
from piccolo.engine.base import Engine
from piccolo.table import create_db_tables
from piccolo_api.session_auth.tables import SessionsBase

from backend.catalog.tables import ALL_TABLES, MediaAsset, engine_ddl

AUTH_TABLES = (BaseUser, SessionsBase)


def bind_engine(engine: Engine) -> None:
    """Point every table MPR uses (catalog + admin auth) at `engine`."""
    for table in (*ALL_TABLES, *AUTH_TABLES):
        table._meta.db = engine


def current_engine() -> Engine:
    return ALL_TABLES[0]._meta.db


async def keep_session(connection) -> None:
    """The pool's `reset`: nothing beyond what asyncpg always does on release (roll back a
    transaction left open, drop listeners). asyncpg's default also sends `SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release: one round trip
    per query or transaction (6 of the ~20 per job of the local executor, issue 20) to undo
    session state MPR never sets — no SET, LISTEN, advisory lock or cursor outside a transaction
    on a pooled connection. Whoever adds such state must reset it where it is set."""


@contextlib.asynccontextmanager
async def connection_pool(engine: Engine, max_size: int) -> AsyncIterator[None]:
    """Run the block with an asyncpg pool on `engine` when it is PostgreSQL (nothing on SQLite),
    so every query borrows a connection instead of opening one (`keep_session`: released without
    the reset query)."""
    from piccolo.engine.postgres import PostgresEngine

    if not isinstance(engine, PostgresEngine):
        yield
        return
    await engine.start_connection_pool(min_size=min(2, max_size), max_size=max_size, reset=keep_session)
    try:
        yield
    finally:
        await engine.close_connection_pool()


async def create_tables(engine: Engine | None = None) -> None:
    """Create all tables if missing (benches); the app and the test suite use the migrations (`mpr migrate`)."""
    if engine is not None:
        bind_engine(engine)
    await create_db_tables(*AUTH_TABLES, *ALL_TABLES, if_not_exists=True)
    for statement in engine_ddl(MediaAsset._meta.db):
        await MediaAsset.raw(statement)
    await never_reuse_ids(current_engine())


async def never_reuse_ids(engine: Engine) -> list[str]:
    """SQLite: AUTOINCREMENT on every table's id (backend.catalog.sqlite_ids); PostgreSQL's
    sequences never go back already. Returns the tables rebuilt."""
    from piccolo.engine.sqlite import SQLiteEngine

    from backend.catalog.sqlite_ids import ensure_autoincrement

    if not isinstance(engine, SQLiteEngine):
        return []
    return await asyncio.to_thread(ensure_autoincrement, engine.path)


async def run_migrations() -> None:
    """Apply every pending migration of every app (same as `piccolo migrations forwards all`), then
    make sure SQLite never reuses an id (`never_reuse_ids`)."""
    import os
    import sys

    from piccolo.apps.migrations.commands.forwards import forwards

    from backend.config import REPO_ROOT

    # piccolo finds its config by module name; the `mpr` script does not run from the repo root
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
    await forwards(app_name="all")
    await never_reuse_ids(current_engine())  # after every migration, so new tables are covered too


async def create_postgres_database(url: str, name: str) -> None:
    import asyncpg

    from backend.catalog.engine import postgres_config

    cfg = postgres_config(url)
    cfg["database"] = "postgres"
    conn = await asyncpg.connect(**cfg)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_postgres_database(url: str, name: str) -> None:
    import asyncpg

    from backend.catalog.engine import postgres_config

    cfg = postgres_config(url)
    cfg["database"] = "postgres"
    conn = await asyncpg.connect(**cfg)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()
