"""Job creation refuses bad requests before anything runs, with a message that says what to change."""
from __future__ import annotations

import pytest

from backend.catalog.tables import MediaAsset, TranscodeJob
from backend.jobs import service
from backend.jobs.errors import DomainError
from backend.jobs.naming import sanitize_stem


async def refused(code, **kwargs):
    with pytest.raises(DomainError) as err:
        await service.create_job(**kwargs)
    assert err.value.code == code, err.value.message
    return err.value.message


@pytest.fixture
async def ctx(db, settings, storages, presets, add_asset):
    asset = await add_asset("small")  # 4.0 s, 25 fps
    return dict(settings=settings, storages=storages, source_id=asset["id"], preset_id=presets["H.264 480p"]), presets


async def test_trims_refused(ctx):
    base, _ = ctx
    assert "past the end" in await refused("INVALID_TRIM", **base, trim_start=1.0, trim_end=9.0)
    assert "after the in point" in await refused("INVALID_TRIM", **base, trim_start=2.0, trim_end=1.0)
    assert "before the start" in await refused("INVALID_TRIM", **base, trim_start=-1.0, trim_end=1.0)
    assert "past the end" in await refused("INVALID_TRIM", **base, trim_start=4.5)
    assert await TranscodeJob.count() == 0


async def test_end_tolerance_clamps(ctx):
    base, _ = ctx
    row = await service.create_job(**base, trim_start=1.0, trim_end=4.02)
    assert row["trim_end"] == pytest.approx(4.0)


async def test_asset_not_ready_and_missing(ctx):
    base, _ = ctx
    await MediaAsset.update({MediaAsset.status: "error", MediaAsset.error_message: "truncated"}).where(
        MediaAsset.id == base["source_id"]
    )
    msg = await refused("ASSET_NOT_READY", **base)
    assert "truncated" in msg
    await refused("NOT_FOUND", **{**base, "source_id": 999999})


async def test_keyframe_copy_cannot_be_accurate(ctx):
    base, presets = ctx
    await refused("INVALID_TRIM", **{**base, "preset_id": presets["Trim only (stream copy)"]}, accurate_trim=True)
    row = await service.create_job(**{**base, "preset_id": presets["Trim only (stream copy)"]}, trim_start=1.0, trim_end=2.0)
    assert row["accurate_trim"] is False and row["plan"]["trim"] == "keyframe"


async def test_output_names_sanitised_and_never_overwrite(ctx, settings):
    base, _ = ctx
    a = await service.create_job(**base, output_name="../../etc/passwd")
    assert a["output_key"] == "passwd.mp4"
    b = await service.create_job(**base, output_name="passwd.mov")
    assert b["output_key"] == "passwd-1.mp4"
    (settings.out_root / "exists.mp4").write_bytes(b"x")
    c = await service.create_job(**base, output_name="exists")
    assert c["output_key"] == "exists-1.mp4"
    d = await service.create_job(**base)
    assert d["output_key"].endswith(".mp4") and d["output_key"].startswith("small-")
    await refused("INVALID_INPUT", **base, output_name="///")


def test_sanitize_stem():
    assert sanitize_stem("-rf: x\x00y.mp4") == "-rf_ x_y"
    assert sanitize_stem("Ünïcødé clip.mkv") == "Ünïcødé clip"
    assert sanitize_stem("..") == ""
