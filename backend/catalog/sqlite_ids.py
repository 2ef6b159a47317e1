"""Ids are never reused on SQLite: every table's integer primary key gets AUTOINCREMENT.

Piccolo declares a `Serial` primary key as `"id" INTEGER PRIMARY KEY` on SQLite. Such a key is
the rowid, which SQLite picks as max(rowid) + 1: delete the newest job and the next job gets its
id again, and whatever still names the old one (a captured callback, a bookmarked link, an audit
entry) then names the new one. With AUTOINCREMENT SQLite remembers the largest id ever handed
out (in `sqlite_sequence`) and never goes below it. PostgreSQL's sequences never go back either.

SQLite cannot add AUTOINCREMENT to an existing table, so `ensure_autoincrement` rebuilds each
table that lacks it, the way SQLite's documentation prescribes for schema changes: foreign-key
enforcement off, then in one transaction create the new table under a temporary name, copy the
rows (ids included), drop the old table, rename the new one, recreate its indexes, and check
the foreign keys before committing. It is idempotent and runs after every `mpr migrate`
(`backend.catalog.db.run_migrations`), so tables added by later migrations are covered too.
An upgraded database starts counting from its largest id at upgrade time: ids deleted before
that, above the largest remaining one, cannot be known and may be given out once more.
"""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

_PK = re.compile(r'("id"\s+INTEGER\s+PRIMARY\s+KEY)(?!\s+AUTOINCREMENT)', re.IGNORECASE)
TMP_PREFIX = "_mpr_rebuild_"


def _candidates(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, CREATE TABLE sql) of the tables whose "id" is a rowid key without AUTOINCREMENT."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [(name, sql) for name, sql in rows
            if sql and _PK.search(sql) and "AUTOINCREMENT" not in sql.upper()]


def missing_autoincrement(path: str | Path) -> list[str]:
    """Names of the tables of the SQLite file `path` that would reuse ids."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        return [name for name, _ in _candidates(conn)]
    finally:
        conn.close()


def _rebuild(conn: sqlite3.Connection, name: str, sql: str) -> None:
    extras = [row[0] for row in conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        (name,))]
    tmp = TMP_PREFIX + name
    new_sql = _PK.sub(r"\1 AUTOINCREMENT", sql, count=1)
    head = re.compile(r'^\s*CREATE\s+TABLE\s+(?:"' + re.escape(name) + r'"|' + re.escape(name) + r')(?=\s|\()',
                      re.IGNORECASE)
    new_sql, renamed = head.subn(f'CREATE TABLE "{tmp}"', new_sql, count=1)
    if not renamed:
        raise RuntimeError(f"cannot read the definition of table {name!r}: {sql[:200]}")
    conn.execute(f'DROP TABLE IF EXISTS "{tmp}"')
    conn.execute(new_sql)
    conn.execute(f'INSERT INTO "{tmp}" SELECT * FROM "{name}"')  # same definition: same column order
    conn.execute(f'DROP TABLE "{name}"')
    conn.execute(f'ALTER TABLE "{tmp}" RENAME TO "{name}"')
    for statement in extras:
        conn.execute(statement)


def ensure_autoincrement(path: str | Path) -> list[str]:
    """Give every table of the SQLite file `path` an AUTOINCREMENT id; returns the rebuilt tables."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        if not _candidates(conn):
            return []
        conn.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction; dropping a parent must not cascade
        conn.execute("BEGIN IMMEDIATE")
        try:
            todo = _candidates(conn)  # again, under the write lock
            before = set(conn.execute("PRAGMA foreign_key_check").fetchall())
            for name, sql in todo:
                _rebuild(conn, name, sql)
            broken = set(conn.execute("PRAGMA foreign_key_check").fetchall()) - before
            if broken:
                raise RuntimeError(f"rebuilding the tables for AUTOINCREMENT broke foreign keys: {sorted(broken)[:5]}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return [name for name, _ in todo]
    finally:
        conn.close()
