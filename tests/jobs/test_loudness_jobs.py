"""Loudness-normalising presets through the local executor: one encode from the stored measurement,
the output measured at the target within 1 LU and under the true-peak ceiling; an output that
misses (here: a measurement tampered with after ingest) fails verification instead of succeeding."""
from __future__ import annotations

import pytest

from backend.catalog.ingest import ingest_key
from backend.catalog.outputs import wait_for_thumbnails
from backend.catalog.tables import MediaAsset, TranscodePreset
from backend.jobs import service
from backend.jobs.executors.local import LocalExecutor
from backend.media.analysis import measure_loudness
from backend.media.clips import generate_marked_clip
from backend.media.presets import PresetSpec, validate_preset
from jobwait import wait_status


@pytest.fixture
async def executor(db, settings, storages):
    ex = LocalExecutor(settings, storages, poll_seconds=0.2)
    await ex.start()
    yield ex
    await ex.stop()
    await wait_for_thumbnails()


async def _preset(target: float, **fields) -> int:
    spec = validate_preset(PresetSpec(f"loud {target:g}", "video", "mp4", video_codec="libx264", crf=30,
                                      speed_preset="ultrafast", audio_codec="aac", audio_bitrate=128,
                                      loudness_target=target, **fields))
    row = TranscodePreset(**spec.to_dict())
    await row.save()
    return row.id


async def _marked_asset(settings, storages) -> MediaAsset:
    generate_marked_clip(settings.in_root / "marked.mp4")
    row = await ingest_key(storages, "marked.mp4")
    assert row.status == "ready" and row.loudness_integrated is not None
    return row


async def test_minus_16_lufs_job_is_normalised_and_verified(executor, settings, storages):
    asset = await _marked_asset(settings, storages)
    assert abs(asset.loudness_integrated - -16) > 3  # the source is far from the target
    preset = await _preset(-16)
    job = await service.create_job(settings, storages, source_id=asset.id, preset_id=preset)
    done = await wait_status(job["id"])
    assert done["status"] == "succeeded", (done["error"], done["log_tail"][-500:])
    got = measure_loudness(settings.out_root / done["output_key"])
    assert abs(got.integrated - -16) <= 1.0, got
    assert got.true_peak <= -1.0, got


async def test_an_output_off_target_fails_verification(executor, settings, storages):
    asset = await _marked_asset(settings, storages)
    # a wrong stored measurement: the linear gain misses the target by ~13 LU
    await MediaAsset.update({MediaAsset.loudness_integrated: -10.0}).where(MediaAsset.id == asset.id)
    preset = await _preset(-16, true_peak_ceiling=-2.0)
    job = await service.create_job(settings, storages, source_id=asset.id, preset_id=preset)
    done = await wait_status(job["id"])
    assert done["status"] == "failed"
    assert "loudness" in done["error"] and "-16 LUFS" in done["error"], done["error"]
    assert not list(settings.out_root.glob("*.mp4"))
