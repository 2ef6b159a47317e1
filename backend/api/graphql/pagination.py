"""Cursor pagination over a table ordered by id, newest first (stable: ids never change), or by
a sort key with the id as tie-break (`Order`: the assets' name/duration/size sorts).

A cursor is an opaque base64 of "<kind>:<id>" for the id order; the next page is `id < that id`.
For a keyed order it is "<kind>:<order name>:<id>:<key as JSON>" (the key the database computed
for the last row), and the next page is `(key, id)` past that pair in the order's direction (a
row-value seek on the order's index); a cursor from another order is refused. Page size is `first` (default 20), capped at MAX_PAGE.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Order:
    """A keyed order: `key` is an SQL expression over the row that is never NULL (COALESCE it),
    `name` goes into the cursor; ties break on the id in the same direction."""
    name: str
    key: str
    descending: bool
    key_type: type = int  # what the key decodes to (int also passes for float)


def encode_keyed_cursor(kind: str, order: Order, row_id: int, key) -> str:
    text = f"{kind}:{order.name}:{row_id}:{json.dumps(key)}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_keyed_cursor(kind: str, order: Order, cursor: str) -> tuple[int, object]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, name, number, key = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 3)
        if prefix != kind or name != order.name:
            raise ValueError(prefix)
        key = json.loads(key)
        allowed = (int, float) if order.key_type is float else (order.key_type,)
        if not isinstance(key, allowed) or isinstance(key, bool):
            raise ValueError(key)
        key = order.key_type(key)
        return int(number), key
    except (ValueError, UnicodeError):
        raise DomainError("INVALID_INPUT", f"'after' is not a cursor from this {kind} list in this sort order") from None


def _past(order: Order, last_key, last_id: int) -> QueryString:
    """Rows after (last_key, last_id) in the order, as a row-value comparison that PostgreSQL seeks
    in the order's index (tables.LIBRARY_ORDER_DDL) to that pair, plus the same bound on the key
    alone, which SQLite seeks (it uses no row value over an expression index); the old
    `key > x OR (key = x AND id > y)` read the index from its start, a page deeper each time."""
    op = "<" if order.descending else ">"
    if order.key == '"id"':
        return QueryString(f'"id" {op} {{}}', last_id)
    return QueryString(f'({order.key}) {op}= {{}} AND (({order.key}), "id") {op} ({{}}, {{}})',
                       last_key, last_key, last_id)


def ordered_page_query(table, where: list, size: int, order: Order, after: tuple[int, object] | None = None
                       ) -> QueryString:
    """The SELECT of one page in a keyed order: `size` rows (ask one more to learn if there is a
    next page) past `after` = (last id, last key), with the key as "_sort_key"."""
    parts = [clause.querystring for clause in where]
    if after:
        parts.append(_past(order, after[1], after[0]))
    sql = f'SELECT *, ({order.key}) AS "_sort_key" FROM "{table._meta.tablename}"'
    if parts:
        sql += " WHERE " + " AND ".join("({})" for _ in parts)
    way = "DESC" if order.descending else "ASC"
    return QueryString(sql + f' ORDER BY ({order.key}) {way}, "id" {way} LIMIT {{}}', *parts, size)


def id_page_query(table, where: list, size: int, before_id: int | None = None) -> QueryString:
    """The SELECT of one page newest first (the id order): `size` rows with ids below `before_id`."""
    parts = [clause.querystring for clause in where]
    if before_id is not None:
        parts.append(QueryString('"id" < {}', before_id))
    sql = f'SELECT * FROM "{table._meta.tablename}"'
    if parts:
        sql += " WHERE " + " AND ".join("({})" for _ in parts)
    return QueryString(sql + ' ORDER BY "id" DESC LIMIT {}', *parts, size)


async def fetch_ordered_page(table, kind: str, where: list, first: int | None, after: str | None,
                             order: Order) -> tuple[list[dict], list[str], bool]:
    """Like fetch_page in a keyed order; (rows, their cursors, has_next)."""
    size = page_size(first)
    seek = decode_keyed_cursor(kind, order, after) if after else None
    if size == 0:
        return [], [], False
    rows = await table.raw("{}", ordered_page_query(table, where, size + 1, order, seek))
    has_next = len(rows) > size
    rows = rows[:size]
    cursors = [encode_keyed_cursor(kind, order, r["id"], r.pop("_sort_key")) for r in rows]
    return rows, cursors, has_next


async def fetch_page(table, kind: str, where: list, first: int | None, after: str | None) -> tuple[list[dict], bool]:
    """Rows of `table` matching every clause in `where`, newest first, after the cursor; (rows, has_next).

    The clauses are Piccolo `Where`/`WhereRaw` objects, composed into one plain SELECT (Piccolo's
    select() builder costs more CPU than the query on this hot path)."""
    size = page_size(first)
    before_id = decode_cursor(kind, after) if after else None
    if size == 0:
        return [], False
    rows = await table.raw("{}", id_page_query(table, where, size + 1, before_id))
    return rows[:size], len(rows) > size


def counter(table, where: list) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        query = table.count()
        for clause in where:
            query = query.where(clause)
        return await query

    return count
