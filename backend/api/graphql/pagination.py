"""Cursor pagination over a table ordered by id, newest first (stable: ids never change).

A cursor is an opaque base64 of "<kind>:<id>"; the next page is `id < that id`. Page size is
`first` (default 20), capped at MAX_PAGE.
"""
from __future__ import annotations

import base64
from typing import Awaitable, Callable

from piccolo.querystring import QueryString

from backend.jobs.errors import DomainError

DEFAULT_PAGE = 20
MAX_PAGE = 100


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, _, number = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        if prefix != kind:
            raise ValueError(prefix)
        return int(number)
    except (ValueError, UnicodeError):
        raise DomainError("INVALID_INPUT", f"'after' is not a cursor from this {kind} list") from None


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise DomainError("INVALID_INPUT", "'first' must be 0 or more")
    return min(first, MAX_PAGE)


async def fetch_page(table, kind: str, where: list, first: int | None, after: str | None) -> tuple[list[dict], bool]:
    """Rows of `table` matching every clause in `where`, newest first, after the cursor; (rows, has_next).

    The clauses are Piccolo `Where`/`WhereRaw` objects, composed into one plain SELECT (Piccolo's
    select() builder costs more CPU than the query on this hot path)."""
    size = page_size(first)
    parts = [clause.querystring for clause in where]
    if after:
        parts.append(QueryString('"id" < {}', decode_cursor(kind, after)))
    if size == 0:
        return [], False
    sql = f'SELECT * FROM "{table._meta.tablename}"'
    if parts:
        sql += " WHERE " + " AND ".join("({})" for _ in parts)
    rows = await table.raw(sql + ' ORDER BY "id" DESC LIMIT {}', *parts, size + 1)
    return rows[:size], len(rows) > size


def counter(table, where: list) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        query = table.count()
        for clause in where:
            query = query.where(clause)
        return await query

    return count
