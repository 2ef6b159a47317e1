"""register_output: one asset per output, with thumbnails even when an earlier registration's
answer was lost after its row landed (the retry gets the row back and makes the pictures)."""
from __future__ import annotations

import shutil

from backend.catalog.outputs import register_output, wait_for_thumbnails
from backend.catalog.tables import MediaAsset
from backend.media.probe import probe


async def test_a_registration_retried_after_a_lost_answer_still_gets_thumbnails(db, settings, storages, catalog_clips):
    shutil.copyfile(catalog_clips["av"], settings.out_root / "cut.mp4")
    info = probe(settings.out_root / "cut.mp4")
    # the first attempt's insert landed, but it never got to make pictures (its answer was lost)
    first = await register_output(storages, "cut.mp4", info, thumbnails="none")
    assert (await MediaAsset.select(MediaAsset.poster_key).where(MediaAsset.id == first).first())["poster_key"] == ""
    again = await register_output(storages, "cut.mp4", info)
    await wait_for_thumbnails()
    assert again == first and await MediaAsset.count().where(MediaAsset.storage_key == "cut.mp4") == 1
    row = await MediaAsset.objects().where(MediaAsset.id == first).first()
    assert row.poster_key == f"{first}/poster.jpg" and row.filmstrip_frames > 0
    assert (settings.thumbs_root / row.poster_key).stat().st_size > 0
    # once it has pictures, a duplicate registration (a replayed AWS callback) changes nothing
    assert await register_output(storages, "cut.mp4", info) == first
    await wait_for_thumbnails()
    assert (await MediaAsset.objects().where(MediaAsset.id == first).first()).poster_key == row.poster_key


async def test_audio_outputs_need_no_pictures(db, settings, storages, catalog_clips):
    shutil.copyfile(catalog_clips["audio_only"], settings.out_root / "sound.m4a")
    info = probe(settings.out_root / "sound.m4a")
    asset = await register_output(storages, "sound.m4a", info)
    await wait_for_thumbnails()
    assert await register_output(storages, "sound.m4a", info) == asset  # no picture to make: just the row
    await wait_for_thumbnails()
    row = await MediaAsset.objects().where(MediaAsset.id == asset).first()
    assert (row.poster_key, row.filmstrip_key, row.audio_codec, row.video_codec) == ("", "", "aac", "")
