"""Piccolo's PostgreSQL engine with transactions that clean up after a lost connection.

Piccolo 1.38's `PostgresTransaction` leaves two things behind when its connection dies under it
(`pg_terminate_backend`, a server restart, a network cut):
  - `__aenter__`: if BEGIN fails, the pooled connection it acquired is never released;
  - `__aexit__`: if ROLLBACK/COMMIT fails, the connection is not released AND the engine's
    `current_transaction` context variable still names the dead transaction, so every later
    query of that asyncio task (an executor's claim loop runs for the process's lifetime) is
    sent to the dead connection: "connection is closed" / "released back to the pool" forever.
Here a failed BEGIN or a failed end drops the connection (the pool replaces it) and restores
the context variable, so the next query — or `backend.catalog.retry`'s next try — starts clean.
"""
from __future__ import annotations

import contextlib

from piccolo.engine.postgres import PostgresEngine as _PiccoloPostgresEngine
from piccolo.engine.postgres import PostgresTransaction as _PiccoloPostgresTransaction


class PostgresTransaction(_PiccoloPostgresTransaction):
    def _drop_connection(self) -> None:
        connection = getattr(self, "connection", None)
        if connection is not None:
            with contextlib.suppress(Exception):  # already released or closed: nothing to do
                connection.terminate()  # a pooled one goes back to the pool as a fresh slot

    def _forget(self) -> None:
        var = self.engine.current_transaction
        if var.get() is self:
            try:
                var.reset(self.context)
            except ValueError:  # entered in another context: clear it here at least
                var.set(None)

    async def __aenter__(self):
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            self.transaction = self.connection.transaction()
            await self.begin()
        except BaseException:
            self._drop_connection()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent is not None:
            return exception is None
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        except BaseException:
            self._drop_connection()
            self._forget()
            raise


class PostgresEngine(_PiccoloPostgresEngine):
    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return PostgresTransaction(engine=self, allow_nested=allow_nested)
