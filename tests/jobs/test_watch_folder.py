"""The watched input folder, in this process: `InputWatcher` on a real folder (inotify through
watchfiles) and a real database. A file written in pieces is probed once, after its last byte;
rsync's temp-name-then-rename registers the final name only; a delete marks the asset missing and
the file's return makes it ready again; a folder moved in is registered; the reconciling pass at
start picks up what changed while nobody watched. The whole app with a rule's job is
tests/faults/test_watch_folder_app.py."""
from __future__ import annotations

import asyncio
import os
import shutil
import time

import pytest

from backend.catalog import ingest
from backend.catalog.tables import AutomationRule, MediaAsset, TranscodeJob
from backend.jobs.watch import InputWatcher

SETTLE = 1.0
WAIT = 60.0  # bound of every wait below (a loaded machine), never a timing assertion


@pytest.fixture
def probes(monkeypatch):
    """Every ingest_key call: (key, size of the file at that moment)."""
    calls: list[tuple[str, int]] = []
    real = ingest.ingest_key

    async def counting(storages, key, area="in", **kwargs):
        path = storages.get(area).probe_source(key)
        calls.append((key, os.path.getsize(path)))
        return await real(storages, key, area, **kwargs)

    monkeypatch.setattr(ingest, "ingest_key", counting)
    return calls


@pytest.fixture
async def watcher(db, settings, storages):
    w = InputWatcher(settings.with_(watch_settle_seconds=SETTLE, watch_reconcile_seconds=0), storages)
    w.start()
    await asyncio.wait_for(w.ready.wait(), WAIT)
    await asyncio.sleep(0.3)  # the inotify watches are armed just after the loop starts
    yield w
    await w.stop()


async def wait_for(predicate, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {WAIT} s: {what}")


async def asset(key: str) -> dict | None:
    return await MediaAsset.select().where(MediaAsset.storage_key == key).first()


async def write_in_pieces(path, data: bytes, pieces: int = 10, seconds: float = 3.0) -> None:
    step = len(data) // pieces + 1
    with open(path, "wb") as f:
        for i in range(0, len(data), step):
            f.write(data[i:i + step])
            f.flush()
            await asyncio.sleep(seconds / pieces)


async def test_a_file_written_slowly_is_probed_once_after_its_last_byte(watcher, settings, clip_library, probes,
                                                                         presets):
    rule = AutomationRule(name="all", preset_id=presets["H.264 480p"])
    await rule.save()
    data = clip_library["small"].read_bytes()
    await write_in_pieces(settings.in_root / "slow.mp4", data)
    row = await wait_for(lambda: _ready("slow.mp4"), "slow.mp4 ready")
    assert row["size"] == len(data)
    assert probes == [("slow.mp4", len(data))]  # once, complete
    assert await MediaAsset.count() == 1

    async def jobs_made():  # the rule fires just after the asset is saved ready
        return await TranscodeJob.select(TranscodeJob.source, TranscodeJob.output_key)

    jobs = await wait_for(jobs_made, "the rule's job")
    assert jobs == [{"source": row["id"], "output_key": "slow-h-264-480p.mp4"}]


async def _ready(key: str):
    row = await asset(key)
    return row if row and row["status"] == "ready" else None


async def test_rsync_style_rename_registers_the_final_name(watcher, settings, clip_library, probes):
    temp = settings.in_root / ".clip.mp4.Xy12Ab"
    await write_in_pieces(temp, clip_library["small"].read_bytes(), pieces=4, seconds=1.0)
    os.rename(temp, settings.in_root / "clip.mp4")
    await wait_for(lambda: _ready("clip.mp4"), "clip.mp4 ready")
    assert [k for k, _ in probes] == ["clip.mp4"]
    assert [r["storage_key"] for r in await MediaAsset.select(MediaAsset.storage_key)] == ["clip.mp4"]


async def test_delete_marks_missing_and_the_file_coming_back_is_ready_again(watcher, settings, clip_library):
    path = settings.in_root / "gone.mp4"
    shutil.copyfile(clip_library["small"], path)
    first = await wait_for(lambda: _ready("gone.mp4"), "gone.mp4 ready")
    path.unlink()

    async def missing():
        row = await asset("gone.mp4")
        return row if row["status"] == "missing" else None

    row = await wait_for(missing, "gone.mp4 missing")
    assert row["id"] == first["id"] and "gone" in row["error_message"]
    shutil.copyfile(clip_library["small"], path)
    back = await wait_for(lambda: _ready("gone.mp4"), "gone.mp4 ready again")
    assert back["id"] == first["id"] and await MediaAsset.count() == 1


async def test_a_folder_moved_in_is_registered(watcher, settings, clip_library, tmp_path):
    outside = tmp_path / "batch"
    outside.mkdir()
    for name in ("a.mp4", "b.mp4", ".hidden.mp4", "c.mp4.part"):
        shutil.copyfile(clip_library["small"], outside / name)
    os.rename(outside, settings.in_root / "batch")
    await wait_for(lambda: _ready("batch/a.mp4"), "batch/a.mp4 ready")
    await wait_for(lambda: _ready("batch/b.mp4"), "batch/b.mp4 ready")
    keys = sorted(r["storage_key"] for r in await MediaAsset.select(MediaAsset.storage_key))
    assert keys == ["batch/a.mp4", "batch/b.mp4"]  # dotfiles and partial downloads are not registered


async def test_start_reconciles_what_changed_while_nobody_watched(db, settings, storages, clip_library):
    shutil.copyfile(clip_library["small"], settings.in_root / "kept.mp4")
    shutil.copyfile(clip_library["small"], settings.in_root / "removed.mp4")
    await ingest.scan(storages)
    (settings.in_root / "removed.mp4").unlink()
    shutil.copyfile(clip_library["small"], settings.in_root / "new.mp4")
    w = InputWatcher(settings.with_(watch_settle_seconds=SETTLE, watch_reconcile_seconds=0), storages)
    w.start()
    try:
        await wait_for(lambda: _ready("new.mp4"), "new.mp4 ready")

        async def removed_missing():
            return (await asset("removed.mp4"))["status"] == "missing"

        await wait_for(removed_missing, "removed.mp4 missing")
        assert (await asset("kept.mp4"))["status"] == "ready"
    finally:
        await w.stop()


def test_settings_switch_the_watch():
    from backend.config import Settings

    os.environ["MPR_WATCH_INPUT"] = "off"
    try:
        assert Settings.from_env().watch_input is False
        os.environ["MPR_WATCH_INPUT"] = "maybe"
        with pytest.raises(ValueError, match="MPR_WATCH_INPUT"):
            Settings.from_env()
    finally:
        del os.environ["MPR_WATCH_INPUT"]
    assert Settings().watch_input is True and Settings().watch_settle_seconds == 2.0


async def test_more_files_than_can_settle_at_once_are_all_registered(db, settings, storages, clip_library,
                                                                     monkeypatch, probes):
    from backend.jobs import watch

    monkeypatch.setattr(watch, "MAX_SETTLING", 2)  # the rest overflow to the reconciling pass
    w = InputWatcher(settings.with_(watch_settle_seconds=0.5, watch_reconcile_seconds=0), storages)
    w.start()
    try:
        await asyncio.wait_for(w.ready.wait(), WAIT)
        await asyncio.sleep(0.3)
        names = [f"many-{i}.mp4" for i in range(6)]
        for name in names:
            shutil.copyfile(clip_library["small"], settings.in_root / name)

        async def all_ready():
            return await MediaAsset.count().where(MediaAsset.status == "ready") == len(names)

        await wait_for(all_ready, "every file ready")
        assert sorted(k for k, _ in probes) == sorted(names)  # each once
    finally:
        await w.stop()
