"""Retrying a database operation across transient failures.

A PostgreSQL connection terminated under us (`pg_terminate_backend`, a restart, a network blip)
or a busy SQLite file must not fail a job whose FFmpeg work is fine: the operation is tried again
on a fresh connection with a short backoff. Operations passed here must be safe to repeat
(conditional updates are).
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Awaitable, Callable, TypeVar

log = logging.getLogger("mpr.catalog.retry")
T = TypeVar("T")


def _transient_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [ConnectionError, OSError, sqlite3.OperationalError]
    try:
        import asyncpg

        types += [
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.OperatorInterventionError,  # includes AdminShutdown (terminated backend)
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.TooManyConnectionsError,
            asyncpg.exceptions.InterfaceError,
            # a pooled connection whose backend was terminated mid-operation: "cannot switch to
            # state N; another operation is in progress" (the pool drops it; the retry gets another)
            asyncpg.exceptions._base.InternalClientError,
        ]
    except ImportError:  # pragma: no cover - asyncpg ships with piccolo[postgres]
        pass
    return tuple(types)


TRANSIENT = _transient_types()


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc) or "busy" in str(exc)
    return isinstance(exc, TRANSIENT)


async def with_retry(op: Callable[[], Awaitable[T]], *, attempts: int = 6, first_delay: float = 0.1, what: str = "query") -> T:
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return await op()
        except Exception as exc:  # noqa: BLE001
            if attempt == attempts or not is_transient(exc):
                raise
            log.warning("%s failed (%s: %s); retrying in %.1f s", what, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")
