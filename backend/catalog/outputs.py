"""Registering a job's verified output as a new `MediaAsset` in the output area.

The output was probed during verification, so its metadata is stored at once and the job can
be marked succeeded without waiting; poster and filmstrip are made in the background.
"""
from __future__ import annotations

import asyncio
import logging
import posixpath

from backend.catalog.ingest import apply_media, make_thumbs
from backend.catalog.tables import MediaAsset
from backend.media.probe import MediaInfo
from backend.storage import Storages

log = logging.getLogger("mpr.catalog.outputs")
_background: set[asyncio.Task] = set()


async def register_output(storages: Storages, key: str, info: MediaInfo, *, thumbnails: str = "background") -> int:
    """Create the asset row for output `key`; thumbnails: 'background' | 'now' | 'none'. Returns the asset id."""
    obj = await storages.output.stat(key)
    row = MediaAsset(
        filename=posixpath.basename(key)[:512], storage_area="out", storage_key=key,
        size=obj.size if obj else info.size, mtime=obj.mtime if obj else 0.0, etag=(obj.etag if obj else "")[:128],
    )
    apply_media(row, info)
    try:
        await row.save()
    except Exception:
        # one asset per stored object (unique location index): a concurrent registration of the same
        # output got there first (a duplicated AWS success callback): that row is this output's asset
        existing = await MediaAsset.select(MediaAsset.id).where(
            (MediaAsset.storage_area == "out") & (MediaAsset.storage_key == key)
        ).first()
        if existing is None:
            raise
        return existing["id"]
    if thumbnails == "now":
        await _thumbnails(storages, row, info)
    elif thumbnails == "background":
        task = asyncio.create_task(_thumbnails(storages, row, info))
        _background.add(task)
        task.add_done_callback(_background.discard)
    return row.id


async def _thumbnails(storages: Storages, row: MediaAsset, info: MediaInfo) -> None:
    try:
        note = await make_thumbs(storages, storages.output.probe_source(row.storage_key), row, info)
        await MediaAsset.update(
            {
                MediaAsset.poster_key: row.poster_key,
                MediaAsset.filmstrip_key: row.filmstrip_key,
                MediaAsset.filmstrip_frames: row.filmstrip_frames,
            }
        ).where(MediaAsset.id == row.id)
        if note:
            log.warning("output asset %s: %s", row.id, note)
    except Exception:  # noqa: BLE001 - a missing thumbnail never fails a job
        log.exception("thumbnails for output asset %s failed", row.id)


async def wait_for_thumbnails(timeout: float = 30.0) -> None:
    """Let background thumbnail tasks finish (tests, shutdown)."""
    if _background:
        await asyncio.wait(list(_background), timeout=timeout)
