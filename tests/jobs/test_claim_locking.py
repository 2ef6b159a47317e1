"""On PostgreSQL a claim skips a queued row another claimer holds (`FOR UPDATE SKIP LOCKED`) and
takes the next one, instead of waiting for it. Another session holds the first row's lock here,
so the check is deterministic and fast (the cross-process version is in the slow set)."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest

from backend.jobs import service
from backend.jobs.claim import claim_next

from skips import engine_specific


async def test_a_claim_skips_a_row_another_claimer_holds(db, settings, storages, presets, add_asset):
    if not db.startswith("postgres"):
        engine_specific("row locks with SKIP LOCKED are a PostgreSQL property; SQLite serialises the whole UPDATE")
    asset = await add_asset("small")
    first, second = [await service.create_job(settings, storages, source_id=asset["id"],
                                              preset_id=presets["H.264 480p"]) for _ in range(2)]
    other = await asyncpg.connect(db)
    try:
        holding = other.transaction()
        await holding.start()
        await other.execute("SELECT id FROM transcode_job WHERE id = $1 FOR UPDATE", first["id"])
        claimed = await asyncio.wait_for(claim_next("local", "w1"), 10)  # without SKIP LOCKED: waits
        assert claimed is not None and claimed["id"] == second["id"]
        await holding.rollback()
    finally:
        await other.close()
    assert (await claim_next("local", "w2"))["id"] == first["id"]  # released: now it is taken
