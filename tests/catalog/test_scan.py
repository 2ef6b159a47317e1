"""scan: registers a messy folder with the right statuses, skips dotfiles/partials, rescans without
duplicates, re-probes only changed files, and bounds parallel probes."""
from __future__ import annotations

import asyncio
import os

from backend.catalog import ingest
from backend.catalog.ingest import scan, skip_reason
from backend.catalog.tables import MediaAsset

GOOD = {
    "good.mp4": "av",
    "with space in name.mp4": "av2",
    "ünïcødé 日本語.mkv": "video_only",
    "-leading-dash.mp4": "av",
    "colon:in:name.mp4": "av2",
    "nested/deeper/song.m4a": "audio_only",
}
BAD = {
    "empty.mp4": ("empty", "empty file (0 bytes)"),
    "text-as-video.mp4": ("text", "not a media file"),
    "cut-short.mp4": ("truncated_nomoov", "truncated"),
    "cut-short-faststart.mp4": ("truncated_faststart", "truncated"),
}
SKIPPED = {".hidden.mp4": "av", ".cache/inside.mp4": "av", "download.mp4.part": "av", "upload.crdownload": "av",
           "back\\slash.mp4": "av"}


def lay_out(place):
    for key, clip in {**GOOD, **{k: v[0] for k, v in BAD.items()}, **SKIPPED}.items():
        place(clip, key)


async def by_key():
    return {r.storage_key: r for r in await MediaAsset.objects()}


async def test_scan_messy_folder(db, storages, place):
    lay_out(place)
    result = await scan(storages, concurrency=3)
    assert (result.added, result.updated, result.unchanged, result.errors) == (len(GOOD) + len(BAD), 0, 0, len(BAD))
    assert sorted(result.skipped) == sorted(SKIPPED)
    rows = await by_key()
    assert sorted(rows) == sorted([*GOOD, *BAD])
    assert sorted(result.asset_ids) == sorted(r.id for r in rows.values())
    for key in GOOD:
        assert rows[key].status == "ready", (key, rows[key].error_message)
        assert rows[key].filename == key.rsplit("/", 1)[-1]
    for key, (_, reason) in BAD.items():
        assert rows[key].status == "error" and reason in rows[key].error_message, (key, rows[key].error_message)
    assert rows["-leading-dash.mp4"].poster_key and rows["colon:in:name.mp4"].filmstrip_key
    assert rows["ünïcødé 日本語.mkv"].width == 320
    assert storages.input.playback_url("ünïcødé 日本語.mkv").startswith("/media/in/%C3%BC")


async def test_rescan_adds_nothing_and_reprobes_only_the_modified_file(db, storages, place, settings, monkeypatch):
    lay_out(place)
    first = await scan(storages)
    probed: list[str] = []
    real = ingest.probe_async

    async def counting(source):
        probed.append(os.path.basename(source))
        return await real(source)

    monkeypatch.setattr(ingest, "probe_async", counting)
    second = await scan(storages)
    assert (second.added, second.updated, second.errors) == (0, 0, 0)
    assert second.unchanged == first.added
    assert sorted(second.asset_ids) == sorted(first.asset_ids)
    assert probed == []

    place("av2", "good.mp4")  # new content under an old name
    path = settings.in_root / "good.mp4"
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    place("av", "brand new.mp4")
    third = await scan(storages)
    assert (third.added, third.updated, third.unchanged) == (1, 1, first.added - 1)
    assert sorted(probed) == ["brand new.mp4", "good.mp4"]
    rows = await by_key()
    assert rows["good.mp4"].height == 180 and rows["good.mp4"].duration > 2.5
    assert await MediaAsset.count() == first.added + 1


async def test_scan_prefix(db, storages, place):
    lay_out(place)
    result = await scan(storages, prefix="nested/")
    assert result.added == 1
    assert [r.storage_key for r in await MediaAsset.objects()] == ["nested/deeper/song.m4a"]


async def test_probes_run_in_parallel_but_bounded(db, storages, place, monkeypatch):
    for i in range(6):
        place("av", f"clip{i}.mp4")
    running = peak = 0
    real = ingest.probe_async

    async def tracking(source):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.05)
            return await real(source)
        finally:
            running -= 1

    monkeypatch.setattr(ingest, "probe_async", tracking)
    result = await scan(storages, concurrency=2)
    assert result.added == 6
    assert peak == 2


def test_skip_reason():
    assert skip_reason("a/b.mp4") is None
    assert skip_reason("-x.mp4") is None
    assert skip_reason(".x.mp4") == "hidden file"
    assert skip_reason("a/.git/config") == "hidden file"
    assert skip_reason("movie.mkv.part") == "partial download"
    assert skip_reason("bad\\name.mp4")
    assert skip_reason("double//slash.mp4") == "name is not a plain relative path"
