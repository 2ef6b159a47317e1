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
_making: set[int] = set()  # output assets whose thumbnails this process is making


async def register_output(storages: Storages, key: str, info: MediaInfo, *, thumbnails: str = "background",
                          start_after: asyncio.Future | None = None) -> int:
    """Create the asset row for output `key`; thumbnails: 'background' | 'now' | 'none'. Returns the asset id.

    `start_after`: background thumbnails wait for this future (the local executor resolves it once
    the job's success is stored, so their FFmpeg does not compete with the job's last steps); a
    result of False (the output is not wanted after all) skips them.

    Registering an output that already has its row (a duplicated AWS success callback, or a retry
    after an insert whose answer was lost) returns that row, and makes its thumbnails if it has
    none and nobody here is making them: a lost answer must not leave the output without pictures.
    """
    obj = await storages.output.stat(key)
    row = MediaAsset(
        filename=posixpath.basename(key)[:512], storage_area="out", storage_key=key,
        size=obj.size if obj else info.size, mtime=obj.mtime if obj else 0.0, etag=(obj.etag if obj else "")[:128],
    )
    apply_media(row, info)
    try:
        await row.save()
    except Exception:
        # one asset per stored object (unique location index): that row is this output's asset
        existing = await MediaAsset.objects().where(
            (MediaAsset.storage_area == "out") & (MediaAsset.storage_key == key)
        ).first()
        if existing is None:
            raise
        if existing.poster_key or existing.id in _making:
            return existing.id
        row = existing
    await _schedule(storages, row, info, thumbnails, start_after)
    return row.id


async def _schedule(storages: Storages, row: MediaAsset, info: MediaInfo, thumbnails: str,
                    start_after: asyncio.Future | None = None) -> None:
    if thumbnails == "none" or info.video is None:
        return
    _making.add(row.id)
    if thumbnails == "now":
        await _thumbnails(storages, row, info)
    else:
        task = asyncio.create_task(_thumbnails(storages, row, info, start_after))
        _background.add(task)
        task.add_done_callback(_background.discard)


async def _thumbnails(storages: Storages, row: MediaAsset, info: MediaInfo,
                      start_after: asyncio.Future | None = None) -> None:
    try:
        if start_after is not None and await asyncio.shield(start_after) is False:
            return
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
    finally:
        _making.discard(row.id)


async def wait_for_thumbnails(timeout: float = 30.0) -> None:
    """Let background thumbnail tasks finish (tests, shutdown)."""
    if _background:
        await asyncio.wait(list(_background), timeout=timeout)
