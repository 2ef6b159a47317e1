"""Piccolo's SQLite engine with one kept connection for the statements run outside a transaction.

Piccolo 1.38 opens a new aiosqlite connection for every such statement: a new thread, the file
opened, its WAL index mapped, `PRAGMA foreign_keys` — ~1.5 CPU-ms and 2–3 ms of wall time each,
against ~0.2 ms on an open connection (a stream-copy job through the local executor made ~9 of
them, issue 20). Here they run one after the other on one connection the engine keeps, in its own
thread, with Piccolo's connection settings: autocommit as before (each statement commits when it
ends; no read snapshot outlives it). Transactions keep Piccolo's way: a connection of their own.

The kept connection follows the file: when the path's file is replaced or removed (a test database
made again), the next statement opens a new one. An engine that is dropped closes its connection.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sqlite3
import weakref
from typing import Any, Optional

from piccolo.engine.sqlite import SQLiteEngine as _PiccoloSQLiteEngine
from piccolo.engine.sqlite import dict_factory


class _Kept:
    """The engine's connection and the file it was opened on; used from the engine's thread only."""

    def __init__(self) -> None:
        self.connection: sqlite3.Connection | None = None
        self.file: tuple | None = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except sqlite3.Error:
                pass
        self.connection, self.file = None, None


def _file_id(database: str) -> tuple | None:
    try:
        st = os.stat(database)
    except OSError:
        return None
    return (database, st.st_dev, st.st_ino)


def _shut(worker: concurrent.futures.ThreadPoolExecutor, kept: _Kept) -> None:
    try:
        worker.submit(kept.close)
        worker.shutdown(wait=False)
    except RuntimeError:  # interpreter shutting down: the process takes the connection with it
        pass


class SQLiteEngine(_PiccoloSQLiteEngine):
    def __init__(self, path: str = "piccolo.sqlite", **connection_kwargs) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mpr-sqlite")
        self._kept = _Kept()
        weakref.finalize(self, _shut, self._worker, self._kept)

    def _connection(self) -> sqlite3.Connection:
        database = str(self.connection_kwargs["database"])
        file = _file_id(database)
        kept = self._kept
        if kept.connection is None or file is None or file != kept.file:
            kept.close()
            connection = sqlite3.connect(**{**self.connection_kwargs, "check_same_thread": False})
            connection.row_factory = dict_factory
            connection.execute("PRAGMA foreign_keys = 1")
            kept.connection, kept.file = connection, _file_id(database)
        return kept.connection

    def _execute(self, query: str, args: list) -> list:
        connection = self._connection()
        try:
            cursor = connection.execute(query, args)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            if connection.in_transaction:  # autocommit: only a statement that opened one itself
                connection.commit()

    async def _run_in_new_connection(
        self,
        query: str,
        args: Optional[list[Any]] = None,
        query_type: str = "generic",
        table=None,
    ):
        if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING: Piccolo's way
            return await super()._run_in_new_connection(query, args, query_type, table)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._execute, query, list(args or []))
