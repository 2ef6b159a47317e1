"""A transaction whose PostgreSQL connection is terminated under it leaves the engine usable.

Deterministic counterpart of the connection storm in test_fault_ffmpeg_and_db.py: the backend
of an open transaction is killed, the transaction fails, and the same asyncio task (like an
executor's claim loop) can query and open transactions again; the small pool does not leak.
"""
from __future__ import annotations

import asyncio

import pytest
from asyncpg.exceptions import AdminShutdownError, ConnectionDoesNotExistError, InterfaceError

from backend.catalog import db as catalog_db
from backend.catalog.engine import engine_from_url
from backend.catalog.tables import JobTransition, TranscodeJob

from dbmigrate import migrate_async
from mpr_app import drop_database, new_database, terminate_backends

pytestmark = pytest.mark.slow


async def test_terminated_transaction_leaves_the_engine_usable(tmp_path):
    url = await new_database("postgres", tmp_path)
    dbname = url.rsplit("/", 1)[1]
    engine = engine_from_url(url)
    try:
        await migrate_async(url, tmp_path)
        catalog_db.bind_engine(engine)
        await engine.start_connection_pool(min_size=1, max_size=2)
        for _ in range(4):  # more failures than the pool has connections: none may leak
            # the server's "terminating connection" message, the closed socket if that came first, or
            # asyncpg refusing the rollback on the closed connection: every one about the connection
            with pytest.raises((AdminShutdownError, ConnectionDoesNotExistError, InterfaceError),
                               match="(?i)connection"):
                async with engine.transaction():
                    await TranscodeJob.count()
                    assert await terminate_backends(dbname) >= 1
                    await asyncio.sleep(0.2)
                    await JobTransition.count()
            assert engine.current_transaction.get() is None
            assert await asyncio.wait_for(TranscodeJob.count(), 10) == 0  # same task, fresh connection
        async with engine.transaction():
            assert await asyncio.wait_for(JobTransition.count(), 10) == 0
    finally:
        await engine.close_connection_pool()
        await drop_database(url)
