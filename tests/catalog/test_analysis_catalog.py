"""Analysis in the catalog: ingest stores markers, loudness and the waveform file; a changed file is
measured again; the backfill measures assets ingested without analysis, a bounded batch at a time."""
from __future__ import annotations

import json
import os
import shutil

from backend.catalog.analysis import backfill_once
from backend.catalog.assetinfo import media_info_from_asset
from backend.catalog.ingest import ingest_key, scan
from backend.catalog.tables import MediaAsset
from backend.media.analysis import ANALYSIS_VERSION, decode_peaks
from backend.media.clips import generate_marked_clip, marked_shots


def _j(value):
    """A JSON column as read back (a string on SQLite, parsed on PostgreSQL)."""
    return json.loads(value) if isinstance(value, str) else value


async def test_ingest_stores_the_analysis(db, storages, settings, tmp_path):
    generate_marked_clip(settings.in_root / "marked.mp4")
    row = await ingest_key(storages, "marked.mp4")
    assert row.status == "ready" and row.analysis_version == ANALYSIS_VERSION and row.analysis_error == ""
    truth = marked_shots()
    assert [round(t) for t in row.scene_cuts] == [round(t) for t in truth["cuts"]]
    assert row.keyframes == [0.0, 2.0, 4.0, 6.0]  # GOP of 2 s
    assert [[round(a), round(b)] for a, b in row.black_ranges] == [[5, 6]]
    assert [[round(a), round(b)] for a, b in row.silence_ranges] == [[3, 5]]
    assert -30 < row.loudness_integrated < -15 and row.loudness_true_peak < -19
    assert row.waveform_key == f"{row.id}/waveform.peaks"
    peaks = (await storages.thumbs.get_file(row.waveform_key, tmp_path / "w.peaks")).read_bytes()
    rate, pairs = decode_peaks(peaks)
    assert rate == 100 and len(pairs) > 700
    saved = await MediaAsset.select().where(MediaAsset.id == row.id).first()
    info = media_info_from_asset(saved)  # a .select() dict, JSON columns and all
    assert info.loudness is not None and info.loudness.integrated == row.loudness_integrated


async def test_a_changed_file_is_measured_again(db, storages, settings, place):
    place("av", "clip.mp4")
    first = await ingest_key(storages, "clip.mp4")
    assert first.silence_ranges == [] and first.loudness_integrated is not None
    path = settings.in_root / "clip.mp4"
    generate_marked_clip(path)
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    result = await scan(storages)
    assert result.updated == 1
    again = await MediaAsset.objects().where(MediaAsset.id == first.id).first()
    assert [[round(a), round(b)] for a, b in _j(again.silence_ranges)] == [[3, 5]]
    assert again.loudness_integrated != first.loudness_integrated


async def test_backfill_measures_old_assets_in_bounded_batches(db, storages, settings, place, catalog_clips):
    for i in range(3):
        place("av", f"old{i}.mp4")
    shutil.copyfile(catalog_clips["audio_only"], settings.in_root / "old3.m4a")
    result = await scan(storages, analyze=False)
    assert result.added == 4
    rows = await MediaAsset.select(MediaAsset.analysis_version, MediaAsset.waveform_key)
    assert all(r["analysis_version"] == 0 and r["waveform_key"] == "" for r in rows)
    assert await backfill_once(storages, batch=2) == 2
    assert await MediaAsset.count().where(MediaAsset.analysis_version == ANALYSIS_VERSION) == 2
    assert await backfill_once(storages, batch=2) == 2  # resumes with the rest
    assert await backfill_once(storages, batch=2) == 0
    rows = await MediaAsset.objects()
    assert all(r.waveform_key and r.loudness_integrated is not None for r in rows)
    assert all(r.analysis_error == "" for r in rows)


async def test_unanalysable_asset_is_recorded_not_retried(db, storages, settings, place):
    place("av", "gone.mp4")
    await scan(storages, analyze=False)
    (settings.in_root / "gone.mp4").write_bytes(b"\x00" * 1000)  # broken behind the catalog's back
    assert await backfill_once(storages) == 1
    row = await MediaAsset.objects().first()
    assert row.analysis_version == ANALYSIS_VERSION
    assert row.analysis_error and row.waveform_key == ""
    assert await backfill_once(storages) == 0


async def test_a_waveform_that_cannot_be_stored_leaves_the_asset_ready(db, storages, place, monkeypatch):
    from backend.storage import StorageError

    real = storages.thumbs.put_file

    async def refuse_peaks(path, key, content_type=None):
        if key.endswith("waveform.peaks"):
            raise StorageError("thumbs area is full")
        return await real(path, key, content_type)

    monkeypatch.setattr(storages.thumbs, "put_file", refuse_peaks)
    place("av", "clip.mp4")
    row = await ingest_key(storages, "clip.mp4")
    assert row.status == "ready" and row.error_message == ""
    assert row.waveform_key == "" and "thumbs area is full" in row.analysis_error
    assert row.poster_key and row.filmstrip_key  # the pictures come the usual way
    assert row.analysis_version == ANALYSIS_VERSION  # recorded, not retried in a loop
