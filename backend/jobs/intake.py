"""Files in, rules applied: the one path from "a file is in the input storage" to "its asset is
registered and the matching rules' jobs are queued".

`scan_and_apply` (the `scanMediaFolder` mutation, `mpr scan`, the watcher's reconciling listing)
and `ingest_and_apply` (one key: the watched folder, a bucket event) call the catalog's ingest
(`backend.catalog.ingest.scan` / `ingest_changed`, never a copy of it) and then
`backend.jobs.rules.apply_rules` for each asset that was probed now and is ready. An unchanged
file is not probed again and fires nothing.
"""
from __future__ import annotations

import logging

from backend.catalog.ingest import ScanResult, ingest_changed, scan
from backend.catalog.statuses import READY
from backend.config import Settings
from backend.jobs.rules import Firing, apply_rules
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.intake")


async def apply_safely(settings: Settings, storages: Storages, asset_id: int) -> list[Firing]:
    """`apply_rules`, logged instead of raised: a rule's trouble never undoes a registration."""
    try:
        return await apply_rules(settings, storages, asset_id)
    except Exception:
        log.exception("applying rules to asset %s failed", asset_id)
        return []


async def scan_and_apply(settings: Settings, storages: Storages, prefix: str = "", **kwargs) -> ScanResult:
    """`scan` the input area, then apply the rules to every asset it probed."""
    result = await scan(storages, prefix, **kwargs)
    for asset_id in result.ingested_ids:
        await apply_safely(settings, storages, asset_id)
    return result


async def ingest_and_apply(settings: Settings, storages: Storages, key: str) -> tuple[dict | None, list[Firing]]:
    """Register one key of the input area if new or changed, and apply the rules when it was probed
    now and is ready. Returns ({"id", "status"} of its asset or None when skipped/gone, the firings)."""
    row, ingested = await ingest_changed(storages, key)
    if row is None:
        return None, []
    asset_id, status = (row.id, row.status) if ingested else (row["id"], row["status"])
    fired = await apply_safely(settings, storages, asset_id) if ingested and status == READY else []
    return {"id": asset_id, "status": status}, fired
