"""Ingest: turn stored files into `MediaAsset` rows — stat, probe, poster + filmstrip, status.

`ingest_key` registers (or refreshes) one key of one storage area; `scan` walks the input area,
registers new files, re-probes changed ones and leaves unchanged ones alone, probing a few at a
time. `ingest_changed` is the one-key form of that decision (the watched folder and bucket events
call it); `mark_missing` records that a key's file went away. A file that is not usable media still gets a row, with status 'error' and the reason —
except with `refuse=True` (uploads): a file that is no media at all, or a source over the limits
of backend.media.limits (pixels, duration), raises IngestRefused and leaves no row. Probe and
thumbnail runs hold one of the process's ingest slots (a bounded number at once).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import posixpath
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from backend.catalog.analysis import analyze_asset, drop_analysis
from backend.catalog.assetinfo import media_info_from_asset
from backend.catalog.presets import preset_spec_from_row, seed_builtin_presets
from backend.catalog.statuses import ERROR, MISSING, PENDING, READY
from backend.catalog import webhooks
from backend.catalog.tables import MediaAsset
from backend.media import limits
from backend.media.analysis import Pictures, can_make_pictures
from backend.media.probe import MediaInfo, NotMediaError, ProbeError, probe_async
from backend.media.thumbnails import make_poster, make_thumbnails
from backend.storage import ObjectInfo, Storage, StorageError, Storages, safe_key

__all__ = [
    "IngestRefused",
    "ScanResult",
    "ingest_changed",
    "ingest_key",
    "mark_missing",
    "needs_ingest",
    "media_info_from_asset",
    "preset_spec_from_row",
    "register_upload",
    "scan",
    "seed_builtin_presets",
    "skip_reason",
]

log = logging.getLogger(__name__)

FILMSTRIP_FRAMES = 12
FILMSTRIP_TILE_WIDTH = 160
# files still being written by a browser, a downloader or a copy tool
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".filepart", "~")
# an error that says nothing about the file (ffprobe missing, a bug): the next scan tries again
RETRY_MARK = "could not ingest (retried on next scan): "

# metadata columns and their "unknown" values, reset when a file turns out not to be media
_METADATA_DEFAULTS: dict[str, Any] = {
    "duration": None, "container": "", "video_codec": "", "audio_codec": "", "width": None,
    "height": None, "frame_rate": None, "bitrate": None, "audio_channels": None,
    "audio_sample_rate": None, "rotation": 0, "pix_fmt": "", "reorder_delay": None,
}


class IngestRefused(Exception):
    """An upload that is not kept: `code` NOT_MEDIA (no audio/video/picture) or SOURCE_TOO_LARGE."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


class _KeyLocks:
    """One asyncio.Lock per (area, key) while anyone uses it: no two ingests of a key at once."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._users: dict[tuple[str, str], int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, name: tuple[str, str]):
        lock = self._locks.setdefault(name, asyncio.Lock())
        self._users[name] = self._users.get(name, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[name] -= 1
            if not self._users[name]:
                del self._users[name], self._locks[name]


_key_locks = _KeyLocks()


@dataclass
class ScanResult:
    """Counts of one scan. `errors` counts files probed in this scan that ended with status 'error'
    (they are also in `added` or `updated`). `asset_ids`: every asset the listed files map to, in
    listing order; `ingested_ids` those this scan probed. `skipped`: keys left out (dotfiles, partial downloads, unusable names)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    asset_ids: list[int] = field(default_factory=list)
    ingested_ids: list[int] = field(default_factory=list)  # the assets probed in this scan (new or changed)
    skipped: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ row <-> MediaInfo
def apply_media(row: MediaAsset, info: MediaInfo) -> None:
    """Copy probed metadata onto an asset row and mark it ready (also used for job outputs)."""
    v, a = info.video, info.audio
    row.duration = info.duration
    row.container = info.format_name[:128]
    row.bitrate = info.bit_rate
    row.video_codec = v.codec if v else ""
    row.width = v.width if v else None
    row.height = v.height if v else None
    row.frame_rate = v.fps if v else None
    row.rotation = v.rotation if v else 0
    row.pix_fmt = v.pix_fmt if v else ""
    row.reorder_delay = v.reorder_delay if v else None
    row.audio_codec = a.codec if a else ""
    row.audio_channels = a.channels if a else None
    row.audio_sample_rate = a.sample_rate if a else None
    row.status = READY
    row.error_message = ""


def _apply_error(row: MediaAsset, reason: str) -> None:
    for name, value in _METADATA_DEFAULTS.items():
        setattr(row, name, value)
    row.status = ERROR
    row.error_message = reason


# ------------------------------------------------------------------------------ thumbnails
async def _drop_thumbs(storages: Storages, row: MediaAsset) -> None:
    for attr in ("poster_key", "filmstrip_key"):
        key = getattr(row, attr)
        if key:
            try:
                await storages.thumbs.delete(key)
            except StorageError as exc:
                log.warning("could not delete thumbnail %r: %s", key, exc)
            setattr(row, attr, "")
    row.filmstrip_frames = 0


async def make_thumbs(storages: Storages, source: str, row: MediaAsset, info: MediaInfo, *,
                      analyze: bool = False) -> str:
    """Poster (+ filmstrip for moving pictures) into the thumbs area; returns a note on failure.

    With `analyze`, also the analysis (waveform, markers, loudness): for a video in the same FFmpeg
    pass as the pictures (it decodes every frame anyway), else in a pass of its own."""
    if analyze and can_make_pictures(info):
        tmp = Path(tempfile.mkdtemp(prefix="mpr-thumbs-"))
        try:
            pictures = Pictures(tmp / "poster.jpg", tmp / "filmstrip.jpg", FILMSTRIP_FRAMES, FILMSTRIP_TILE_WIDTH)
            strip = await analyze_asset(storages, row, source, info, pictures)
            if strip is not None:
                try:
                    await _store_thumbs(storages, row, tmp, strip.frames)
                    return ""
                except Exception as exc:  # storage trouble: the usual way below says what went wrong
                    log.warning("storing thumbnails of asset %s failed: %s", row.id, exc)
        finally:
            await asyncio.to_thread(shutil.rmtree, tmp, True)
        return await make_thumbs(storages, source, row, info)  # measured; pictures the usual way
    note = await _make_thumbs(storages, source, row, info)
    if analyze:
        await analyze_asset(storages, row, source, info)
    return note


async def _store_thumbs(storages: Storages, row: MediaAsset, folder: Path, frames: int) -> None:
    poster_key, strip_key = f"{row.id}/poster.jpg", f"{row.id}/filmstrip.jpg"
    await storages.thumbs.put_file(folder / "poster.jpg", poster_key, "image/jpeg")
    row.poster_key = poster_key
    await storages.thumbs.put_file(folder / "filmstrip.jpg", strip_key, "image/jpeg")
    row.filmstrip_key, row.filmstrip_frames = strip_key, frames


async def _make_thumbs(storages: Storages, source: str, row: MediaAsset, info: MediaInfo) -> str:
    if info.video is None:
        await _drop_thumbs(storages, row)
        return ""
    tmp = Path(tempfile.mkdtemp(prefix="mpr-thumbs-"))
    try:
        poster_key = f"{row.id}/poster.jpg"
        try:
            if info.is_image:  # a still picture: a poster, no filmstrip
                await make_poster(source, tmp / "poster.jpg", info)
                await _drop_thumbs(storages, row)
                await storages.thumbs.put_file(tmp / "poster.jpg", poster_key, "image/jpeg")
                row.poster_key = poster_key
                return ""
            strip = await make_thumbnails(  # one ffmpeg run for both when the source is small
                source, tmp / "poster.jpg", tmp / "filmstrip.jpg", info,
                frames=FILMSTRIP_FRAMES, tile_width=FILMSTRIP_TILE_WIDTH,
            )
            await _store_thumbs(storages, row, tmp, strip.frames)
        except Exception as exc:  # a missing picture must not make a playable file unusable
            log.warning("thumbnails for asset %s failed: %s", row.id, exc)
            await _drop_thumbs(storages, row)  # no stale pictures of an earlier version of the file
            return f"no thumbnails: {getattr(exc, 'message', None) or exc}"
        return ""
    finally:
        await asyncio.to_thread(shutil.rmtree, tmp, True)


# ------------------------------------------------------------------------------ one key
async def _find_row(area: str, key: str) -> MediaAsset | None:
    return (
        await MediaAsset.objects()
        .where((MediaAsset.storage_area == area) & (MediaAsset.storage_key == key))
        .order_by(MediaAsset.id)
        .first()
    )


async def ingest_key(storages: Storages, key: str, area: str = "in", *, info: ObjectInfo | None = None,
                     refuse: bool = False, analyze: bool = True) -> MediaAsset:
    """Create or refresh the MediaAsset for `key` in `area`, probe it, make its thumbnails and
    (with `analyze`) measure it: waveform, scene cuts, black and silence ranges, loudness.

    Returns the saved row: status 'ready', or 'error' with a readable `error_message` when the file
    is not usable media (the row is kept either way). Raises StorageError if `key` is refused or
    nothing is stored under it. `info` (from a listing) saves a stat call. With `refuse`, a file
    that is no media at all or over the source limits raises IngestRefused instead and the key's
    row is deleted (the caller owns the key; removing the stored file is its job).
    """
    storage: Storage = storages.get(area)
    key = safe_key(key)
    async with _key_locks.hold((area, key)):
        obj = info if info is not None else await storage.stat(key)
        if obj is None:
            raise StorageError(f"no object {key!r} in {area!r} storage")
        row = await _find_row(area, key)
        if row is None:
            row = MediaAsset(
                filename=posixpath.basename(key)[:512], storage_area=area, storage_key=key,
                size=obj.size, mtime=obj.mtime, etag=obj.etag[:128], status=PENDING,
            )
            await row.save()
        row.size, row.mtime, row.etag = obj.size, obj.mtime, obj.etag[:128]
        row.status = PENDING
        refused: IngestRefused | None = None
        async with limits.ingest_slot():
            try:
                source = storage.probe_source(key)
                media = await probe_async(source)
                problem = limits.source_problem(media)
                if problem:
                    raise _OverLimits(problem)
            except (ProbeError, _OverLimits) as exc:
                if refuse and isinstance(exc, (NotMediaError, _OverLimits)):
                    refused = IngestRefused("NOT_MEDIA" if isinstance(exc, NotMediaError) else "SOURCE_TOO_LARGE",
                                            str(exc))
                _apply_error(row, str(exc))
                await _drop_thumbs(storages, row)
                await drop_analysis(storages, row)
            except Exception as exc:  # environment trouble or a bug: keep the row, say so, retry later
                log.exception("ingest of %s:%s failed", area, key)
                _apply_error(row, f"{RETRY_MARK}{exc}")
            else:
                apply_media(row, media)
                row.error_message = await make_thumbs(storages, source, row, media, analyze=analyze)
                if not analyze and row.analysis_version:  # the file changed: the old measurements are wrong now
                    await drop_analysis(storages, row)
        if refused is not None:  # the caller owns this key (an upload's fresh name): no row stays
            await MediaAsset.delete().where(MediaAsset.id == row.id)
            raise refused
        await row.save()
    await webhooks.asset_settled(row.to_dict())  # asset.ready / asset.error (queued, never raises)
    return row


class _OverLimits(Exception):
    """A probed source beyond MPR_MAX_PIXELS / MPR_MAX_DURATION (str: the reason)."""


async def register_upload(storages: Storages, key: str) -> MediaAsset:
    """Register a file just written into the input area (upload, `mpr demo`)."""
    return await ingest_key(storages, key, "in")


# ------------------------------------------------------------------------------ scan
def skip_reason(key: str) -> str | None:
    """Why a listed key is not registered (None: register it). Junk with a media name is NOT
    skipped: it becomes an 'error' asset so a person sees why it is unusable."""
    try:
        if safe_key(key) != key:  # e.g. an S3 key "a//b.mp4": it could not be addressed again
            return "name is not a plain relative path"
    except StorageError as exc:
        return str(exc)
    if any(part.startswith(".") for part in key.split("/")):
        return "hidden file"
    if key.lower().endswith(PARTIAL_SUFFIXES):
        return "partial download"
    return None


def needs_ingest(row: dict, obj: ObjectInfo) -> bool:
    """Whether a listed object differs from what its row recorded (or the row's ingest must be retried)."""
    return (
        row["size"] != obj.size
        or abs((row["mtime"] or 0.0) - obj.mtime) > 1e-6
        or (row["etag"] or "") != obj.etag[:128]
        or row["status"] in (PENDING, MISSING)  # a previous ingest was interrupted; the file is back
        or (row["status"] == ERROR and (row["error_message"] or "").startswith(RETRY_MARK))
    )


_ROW_COLUMNS = (MediaAsset.id, MediaAsset.storage_key, MediaAsset.size, MediaAsset.mtime, MediaAsset.etag,
                MediaAsset.status, MediaAsset.error_message)


async def ingest_changed(storages: Storages, key: str, *, analyze: bool = True) -> tuple[MediaAsset | dict | None, bool]:
    """Register `key` of the input area if it is new or changed since its row was written, as `scan`
    decides for each listed file. Returns (row, ingested): the fresh MediaAsset and True, the
    unchanged row (a dict) and False, or (None, False) when the key is skipped or gone."""
    if skip_reason(key):
        return None, False
    obj = await storages.input.stat(key)
    if obj is None:
        return None, False
    row = await MediaAsset.select(*_ROW_COLUMNS).where(
        (MediaAsset.storage_area == "in") & (MediaAsset.storage_key == key)).order_by(MediaAsset.id).first()
    if row is not None and not needs_ingest(row, obj):
        return row, False
    return await ingest_key(storages, key, "in", info=obj, analyze=analyze), True


async def mark_missing(key: str, area: str = "in") -> int | None:
    """The file of `key` went away: its asset (if any) becomes 'missing' (jobs and outputs stay).
    Returns the asset's id, or None when no asset had that key or it was missing already."""
    async with _key_locks.hold((area, key)):
        row = await _find_row(area, key)
        if row is None or row.status == MISSING:
            return None
        await MediaAsset.update({MediaAsset.status: MISSING, MediaAsset.error_message: "the file is gone"}).where(
            MediaAsset.id == row.id)
        return row.id


async def input_rows() -> dict[str, dict]:
    """key → row (the columns `needs_ingest` reads) of every input asset; the oldest row wins."""
    rows = await MediaAsset.select(*_ROW_COLUMNS).where(MediaAsset.storage_area == "in").order_by(MediaAsset.id)
    by_key: dict[str, dict] = {}
    for r in rows:
        by_key.setdefault(r["storage_key"], r)  # oldest row wins should duplicates ever exist
    return by_key


async def scan(storages: Storages, prefix: str = "", concurrency: int = 4, *, analyze: bool = True,
               on_listed: Callable[[int], None] | None = None,
               on_probed: Callable[[str, int | None, str], None] | None = None) -> ScanResult:
    """Register new and re-probe changed files of the input area under `prefix` (≤ `concurrency` at once).

    For live progress (`backend.jobs.scans`): `on_listed(n)` is called once with the number of files
    to probe, then `on_probed(key, asset_id, error)` as each is done — `error` is '' for a usable file,
    else why it is not (the asset's error message, or the failure when no row could be written)."""
    objs = await storages.input.list(prefix)
    by_key = await input_rows()

    result = ScanResult()
    ids: dict[str, int] = {}
    todo: list[tuple[ObjectInfo, bool]] = []  # (object, is_new)
    for obj in objs:
        if skip_reason(obj.key):
            result.skipped.append(obj.key)
            continue
        row = by_key.get(obj.key)
        if row is None or needs_ingest(row, obj):
            todo.append((obj, row is None))
        else:
            result.unchanged += 1
            ids[obj.key] = row["id"]
    if on_listed is not None:
        on_listed(len(todo))

    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(obj: ObjectInfo, is_new: bool) -> None:
        async with sem:
            try:
                asset = await ingest_key(storages, obj.key, "in", info=obj, analyze=analyze)
            except Exception as exc:
                log.exception("scan: %s failed", obj.key)
                result.errors += 1
                if on_probed is not None:
                    on_probed(obj.key, None, f"could not be registered: {exc}"[:500])
                return
        ids[obj.key] = asset.id
        result.ingested_ids.append(asset.id)
        if is_new:
            result.added += 1
        else:
            result.updated += 1
        if asset.status == ERROR:
            result.errors += 1
        if on_probed is not None:
            on_probed(obj.key, asset.id, (asset.error_message or "not usable media") if asset.status == ERROR else "")

    await asyncio.gather(*(one(obj, new) for obj, new in todo))
    result.asset_ids = [ids[o.key] for o in objs if o.key in ids]
    return result
