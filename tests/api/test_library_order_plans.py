"""The library's sorted pages read their rows off an index on both engines (issue 23: a library
of 100,000 assets): the first page of every sort and a page after a cursor, with the area filter
the UI sends and without it, are planned as an index scan in the order's direction, never a sort
of the whole table, and a cursor page seeks to its key instead of reading the index from its start.

The plans are the engines' own (EXPLAIN QUERY PLAN / EXPLAIN) of the exact SQL the `assets` query
runs (`pagination.ordered_page_query`, `id_page_query`), on a migrated database of 20,000 assets
with statistics; how fast that is, is measured by bench/ui.py, not asserted here.
"""
from __future__ import annotations

import pytest
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString as QS

from backend.api.graphql.filters import asset_filters
from backend.api.graphql.pagination import id_page_query, ordered_page_query
from backend.api.graphql.queries import ASSET_ORDERS
from backend.catalog.tables import MediaAsset

ROWS = 20_000
CURSOR_KEYS = {str: "clip 5", float: 150.0, int: 2000}  # a last row's key in the middle of each order


async def _seed(engine) -> None:
    """ROWS assets in one statement (names, sizes, durations spread; every tenth an output), then statistics."""
    postgres = isinstance(engine, PostgresEngine)
    numbers = f"generate_series(1, {ROWS}) AS n(i)" if postgres else "n"
    prefix = "" if postgres else f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) "
    await engine.run_querystring(QS(
        prefix + "INSERT INTO media_asset (filename, storage_area, storage_key, size, duration) "
        f"SELECT 'Clip ' || (i * 7919 % {ROWS}), CASE WHEN i % 10 = 0 THEN 'out' ELSE 'in' END, 'plan/' || i, "
        f"i * 13 % 5000, CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 300) * 1.5 END FROM {numbers}"))
    await engine.run_querystring(QS("ANALYZE"))


async def _plan(engine, query: QS) -> str:
    postgres = isinstance(engine, PostgresEngine)
    rows = await engine.run_querystring(QS(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + "{}", query))
    return "\n".join(str(row["QUERY PLAN"] if postgres else row["detail"]) for row in rows)


def _assert_index_order(plan: str, postgres: bool, seek: bool) -> None:
    """An index scan delivers the order (no sort step); with `seek`, the cursor bound is an index condition."""
    if postgres:
        assert "Index Scan" in plan and "Sort" not in plan and "Seq Scan" not in plan, plan
        if seek:
            assert "Index Cond" in plan and ("ROW(" in plan or "id >" in plan or "id <" in plan), plan
    else:
        assert "TEMP B-TREE" not in plan, plan
        assert "USING INDEX" in plan or "USING INTEGER PRIMARY KEY" in plan or plan.strip() == "SCAN media_asset", plan
        if seek:
            assert any(bound in plan for bound in (">?", "<?")), plan


@pytest.mark.parametrize("area", ["in", None])
async def test_sorted_pages_and_cursor_pages_use_an_index(db, area):
    engine = MediaAsset._meta.db
    postgres = isinstance(engine, PostgresEngine)
    await _seed(engine)
    where = asset_filters(None, None, area)
    for sort, order in ASSET_ORDERS.items():
        first = await _plan(engine, ordered_page_query(MediaAsset, where, 101, order))
        _assert_index_order(first, postgres, seek=False)
        last_key = 5000 if order.key == '"id"' else CURSOR_KEYS[order.key_type]
        after = await _plan(engine, ordered_page_query(MediaAsset, where, 101, order, (5000, last_key)))
        _assert_index_order(after, postgres, seek=True)
        if order.key != '"id"':  # the order's own index, not the primary key filtered and sorted
            assert "media_asset_" in first and "media_asset_" in after and "pkey" not in first, (sort, first)
    newest = await _plan(engine, id_page_query(MediaAsset, where, 101))  # DATE_DESC, the default
    _assert_index_order(newest, postgres, seek=False)
    _assert_index_order(await _plan(engine, id_page_query(MediaAsset, where, 101, 5000)), postgres, seek=True)
