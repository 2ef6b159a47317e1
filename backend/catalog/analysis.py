"""Analysis results in the catalog: run `backend.media.analysis` for an asset, keep the waveform
file in the thumbs area and the markers and loudness on the `MediaAsset` row, and a background
backfill for assets analysed by no (or an older) version of the pass.

The backfill is bounded (one asset at a time, at most `batch` per round, a pause between rounds)
and resumable: its queue is the `analysis_version` column, so a restart carries on where it
stopped. A failed analysis is recorded (`analysis_error`) with the current version, so a broken
file is not retried in a loop; a changed file is analysed again by the ingest that notices it.
"""
from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from backend.catalog.assetinfo import media_info_from_asset
from backend.catalog.statuses import READY
from backend.catalog.tables import MediaAsset
from backend.media.analysis import ANALYSIS_VERSION, AnalysisError, Pictures, analyze
from backend.media.probe import MediaInfo
from backend.media.thumbnails import FilmstripInfo
from backend.storage import StorageError, Storages

log = logging.getLogger(__name__)

WAVEFORM_CONTENT_TYPE = "application/octet-stream"
BACKFILL_BATCH = 4
BACKFILL_PAUSE_SECONDS = 2.0
BACKFILL_IDLE_SECONDS = 30.0

ANALYSIS_COLUMNS = ("waveform_key", "scene_cuts", "keyframes", "black_ranges", "silence_ranges", "loudness_integrated",
                    "loudness_threshold", "loudness_range", "loudness_true_peak", "analysis_version",
                    "analysis_error")


async def drop_analysis(storages: Storages, row: MediaAsset) -> None:
    """Forget an asset's analysis (file not media any more, or about to be measured again)."""
    if row.waveform_key:
        try:
            await storages.thumbs.delete(row.waveform_key)
        except StorageError as exc:
            log.warning("could not delete waveform %r: %s", row.waveform_key, exc)
    row.waveform_key = ""
    row.scene_cuts, row.keyframes, row.black_ranges, row.silence_ranges = [], [], [], []
    row.loudness_integrated = row.loudness_threshold = row.loudness_range = row.loudness_true_peak = None
    row.analysis_version = 0
    row.analysis_error = ""


async def analyze_asset(storages: Storages, row: MediaAsset, source: str, info: MediaInfo,
                        pictures: Pictures | None = None) -> FilmstripInfo | None:
    """Measure `source` (the asset's bytes) and put the results on `row` (not saved); a failure is
    recorded in `analysis_error` and the asset stays usable. With `pictures`, the poster and
    filmstrip are made in the same pass: returns the filmstrip when both were made, else None."""
    try:
        return await _analyze_asset(storages, row, source, info, pictures)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # storage trouble or a bug: never a reason to fail an ingest
        log.exception("analysis of asset %s failed", row.id)
        row.waveform_key = ""
        row.analysis_version, row.analysis_error = ANALYSIS_VERSION, f"analysis failed: {exc}"[:2000]
        return None


async def _analyze_asset(storages: Storages, row: MediaAsset, source: str, info: MediaInfo,
                         pictures: Pictures | None) -> FilmstripInfo | None:
    if info.is_image or (info.video is None and info.audio is None):
        await drop_analysis(storages, row)
        row.analysis_version = ANALYSIS_VERSION
        return None
    try:
        result = await analyze(source, info, pictures=pictures)
    except (AnalysisError, OSError) as exc:
        log.warning("analysis of asset %s failed: %s", row.id, exc)
        await drop_analysis(storages, row)
        row.analysis_version, row.analysis_error = ANALYSIS_VERSION, str(exc)[:2000]
        return None
    key = ""
    if result.peaks:
        key = f"{row.id}/waveform.peaks"
        with tempfile.TemporaryDirectory(prefix="mpr-peaks-") as tmp:
            path = Path(tmp) / "waveform.peaks"
            path.write_bytes(result.peaks)
            await storages.thumbs.put_file(path, key, WAVEFORM_CONTENT_TYPE)
    elif row.waveform_key:
        await drop_analysis(storages, row)
    row.waveform_key = key
    row.scene_cuts = list(result.scene_cuts)
    row.keyframes = list(result.keyframes)
    row.black_ranges = [list(r) for r in result.black_ranges]
    row.silence_ranges = [list(r) for r in result.silence_ranges]
    loud = result.loudness
    row.loudness_integrated = loud.integrated if loud else None
    row.loudness_threshold = loud.threshold if loud else None
    row.loudness_range = loud.range if loud else None
    row.loudness_true_peak = loud.true_peak if loud else None
    row.analysis_version = ANALYSIS_VERSION
    row.analysis_error = "; ".join(result.notes)
    return result.pictures


async def _save_analysis(row: MediaAsset) -> None:
    await MediaAsset.update({getattr(MediaAsset, c): getattr(row, c) for c in ANALYSIS_COLUMNS}).where(
        MediaAsset.id == row.id)


async def backfill_once(storages: Storages, batch: int = BACKFILL_BATCH) -> int:
    """Analyse up to `batch` ready assets that lack the current analysis; returns how many."""
    rows = await (MediaAsset.objects()
                  .where((MediaAsset.status == READY) & (MediaAsset.analysis_version < ANALYSIS_VERSION))
                  .order_by(MediaAsset.id).limit(batch))
    for row in rows:
        try:
            info = media_info_from_asset(row)
            source = storages.get(row.storage_area).probe_source(row.storage_key)
            await analyze_asset(storages, row, source, info)
        except (ValueError, StorageError) as exc:
            row.analysis_version, row.analysis_error = ANALYSIS_VERSION, f"no analysis: {exc}"[:2000]
        await _save_analysis(row)
    return len(rows)


async def run_backfill(storages: Storages, *, batch: int = BACKFILL_BATCH,
                       pause: float = BACKFILL_PAUSE_SECONDS, idle: float = BACKFILL_IDLE_SECONDS) -> None:
    """Forever (until cancelled): analyse assets that need it, `batch` at a time, one by one."""
    while True:
        try:
            done = await backfill_once(storages, batch)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away for a moment, a bug: try again later
            log.exception("analysis backfill round failed")
            done = 0
        await asyncio.sleep(pause if done else idle)
